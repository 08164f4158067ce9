package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// runWxbot runs wxbot with args as main does: output, error output and
// the exit status main would use.
func runWxbot(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	code = execute(context.Background(), root, &errb)
	return out.String(), errb.String(), code
}

// wechatEnv points the commands at a sandbox and a real Redis through the
// environment, as an operator would.
func wechatEnv(t *testing.T) *sandboxtest.Sandbox {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.Options{})
	r := redistest.Start(t)
	t.Setenv("WXBOT_WECHAT_API_BASE", sb.URL)
	t.Setenv("WXBOT_WECHAT_APP_ID", sb.Options().AppID)
	t.Setenv("WXBOT_WECHAT_APP_SECRET", sb.Options().AppSecret)
	t.Setenv("WXBOT_REDIS_ADDR", r.Addr)
	t.Setenv("WXBOT_LOG_LEVEL", "warn")
	return sb
}

func TestQRCodeCommands(t *testing.T) {
	sb := wechatEnv(t)
	dir := t.TempDir()
	png30 := filepath.Join(dir, "expo.png")

	out, errOut, code := runWxbot(t, "qrcode", "create", "expo2026", "--expire", "720h", "-o", png30)
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"scene      expo2026", "temporary, expires", "ticket     gQ", "image url  " + sb.URL + "/cgi-bin/showqrcode?ticket="} {
		if !strings.Contains(out, want) {
			t.Fatalf("create output lacks %q:\n%s", want, out)
		}
	}
	img, err := os.ReadFile(png30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("saved file is not a PNG: %v", err)
	}

	cwd, _ := os.Getwd()
	t.Cleanup(func() { _ = os.Chdir(cwd) })
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runWxbot(t, "qrcode", "create", "名片", "--permanent"); code != 0 {
		t.Fatalf("permanent: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "qrcode-名片.png")); err != nil {
		t.Fatalf("default output file: %v", err)
	}

	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"qrcode", "create", "x", "--expire", "721h"}, "at most 720h (30 days)"},
		{[]string{"qrcode", "create", "x", "--expire", "31d"}, "at most 720h (30 days)"},
		{[]string{"qrcode", "create", "x"}, "exactly one of --permanent or --expire"},
		{[]string{"qrcode", "create", "x", "--permanent", "--expire", "1h"}, "exactly one of --permanent or --expire"},
		{[]string{"qrcode", "create", "x", "--expire", "soon"}, "--expire"},
		{[]string{"qrcode", "create", strings.Repeat("s", 65), "--permanent"}, "1 to 64 characters"},
	}
	for _, r := range refusals {
		_, errOut, code := runWxbot(t, r.args...)
		if code != 2 || !strings.Contains(errOut, r.want) {
			t.Fatalf("%v: exit %d, stderr %q; want exit 2 and %q", r.args, code, errOut, r.want)
		}
	}
	if n := len(sb.Snapshot().QRCodes); n != 2 {
		t.Fatalf("sandbox made %d codes, want 2 (refusals call nothing)", n)
	}

	out, _, code = runWxbot(t, "qrcode", "list", "--json")
	var list []struct {
		Scene     string `json:"scene"`
		Permanent bool   `json:"permanent"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0].Scene != "expo2026" || !list[1].Permanent {
		t.Fatalf("list: exit %d %s", code, out)
	}
	out, _, code = runWxbot(t, "qrcode", "stats")
	if code != 0 || !strings.Contains(out, "expo2026") || !strings.Contains(out, "GAINED") {
		t.Fatalf("stats: exit %d\n%s", code, out)
	}

	// Without a Redis server nothing could be recorded: refused.
	t.Setenv("WXBOT_REDIS_ADDR", "")
	_, errOut, code = runWxbot(t, "qrcode", "create", "y", "--permanent")
	if code != 1 || !strings.Contains(errOut, "no Redis is configured") {
		t.Fatalf("without redis: exit %d: %s", code, errOut)
	}
	// Without credentials: refused before any call.
	t.Setenv("WXBOT_WECHAT_APP_ID", "")
	t.Setenv("WXBOT_WECHAT_APP_SECRET", "")
	_, errOut, code = runWxbot(t, "menu", "show")
	if code != 1 || !strings.Contains(errOut, "wechat.app_id and wechat.app_secret") {
		t.Fatalf("without credentials: exit %d: %s", code, errOut)
	}
}

func TestMenuCommands(t *testing.T) {
	sb := wechatEnv(t)
	cfg := filepath.Join(t.TempDir(), "wxbot.yaml")
	err := os.WriteFile(cfg, []byte(`bot:
  menu:
    - {name: 最新一期, type: click, key: latest}
    - name: 更多
      sub_buttons:
        - {name: 往期, type: click, key: archive}
        - {name: 活动, type: click, key: nosuchkey}
        - {name: 官网, type: view, url: "https://example.com"}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := runWxbot(t, "menu", "show")
	if code != 0 || !strings.Contains(out, "no custom menu") {
		t.Fatalf("show before sync: exit %d %q", code, out)
	}
	out, errOut, code := runWxbot(t, "--config", cfg, "menu", "sync")
	if code != 0 {
		t.Fatalf("sync: exit %d %s", code, errOut)
	}
	if !strings.Contains(errOut, `key "nosuchkey" is not a built-in`) {
		t.Fatalf("no warning for a key nothing answers: %q", errOut)
	}
	var pushed []struct {
		Name string `json:"name"`
		Sub  []struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"sub_button"`
	}
	if err := json.Unmarshal(sb.Snapshot().Menu, &pushed); err != nil || len(pushed) != 2 || len(pushed[1].Sub) != 3 || pushed[1].Sub[2].URL != "https://example.com" {
		t.Fatalf("menu at WeChat: %s (%v)", sb.Snapshot().Menu, err)
	}
	out, _, code = runWxbot(t, "menu", "show")
	if code != 0 || !strings.Contains(out, "最新一期 [click latest]") || !strings.Contains(out, "官网 → https://example.com") {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	if _, errOut, code := runWxbot(t, "menu", "sync"); code != 1 || !strings.Contains(errOut, "bot.menu is empty") {
		t.Fatalf("sync of an empty menu: exit %d %s", code, errOut)
	}
}

// WeChat's showqrcode answers JPEG; the saved file is a PNG all the same.
func TestAsPNG(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 20, 20))
	var j bytes.Buffer
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	out, err := asPNG(j.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(bytes.NewReader(out))
	if err != nil || decoded.Bounds().Dx() != 20 {
		t.Fatalf("not a 20px PNG: %v", err)
	}
	if _, err := asPNG([]byte("<html>error</html>")); err == nil {
		t.Fatal("an HTML page was taken for an image")
	}
}

func TestParseLife(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"720h": 720 * time.Hour, "30d": 720 * time.Hour, "2592000": 720 * time.Hour,
		"90m": 90 * time.Minute, "1s": time.Second, "60": time.Minute,
	} {
		if got, err := parseLife(in); err != nil || got != want {
			t.Errorf("parseLife(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0d", "-1h", "500ms", "x", "d", "3 days", "99999999999999999999"} {
		if got, err := parseLife(in); err == nil {
			t.Errorf("parseLife(%q) = %v, want an error", in, got)
		}
	}
}

// When showqrcode fails, the saved image is drawn from the url WeChat
// returned for the code: the same code, still a PNG, exit 0.
func TestQRCodeDrawnWhenShowQRCodeFails(t *testing.T) {
	sb := wechatEnv(t)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/showqrcode" {
			http.Error(w, "gone", http.StatusBadGateway)
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Setenv("WXBOT_WECHAT_API_BASE", front.URL)
	out := filepath.Join(t.TempDir(), "drawn.png")
	stdout, errOut, code := runWxbot(t, "qrcode", "create", "fallback", "--permanent", "-o", out)
	if code != 0 || !strings.Contains(errOut, "drawn from the code's url") {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, errOut, stdout)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() != 430 {
		t.Fatalf("drawn image: %v, %v", err, img)
	}
	codes := sb.Snapshot().QRCodes
	if len(codes) != 1 || !strings.Contains(stdout, "url        "+codes[0].URL) {
		t.Fatalf("codes %+v, output %s", codes, stdout)
	}
}

// TestQRCodeTimesInPublishZone: campaign times are shown in
// publish.timezone with the zone named, not in the machine's zone.
func TestQRCodeTimesInPublishZone(t *testing.T) {
	at := time.Date(2026, 12, 2, 20, 30, 0, 0, time.UTC)
	if got := zoneTime("Asia/Shanghai", at); got != "2026-12-03 04:30:00 CST" {
		t.Errorf("zoneTime(Asia/Shanghai) = %q", got)
	}
	if got := zoneTime("Nowhere/Else", at); got != "2026-12-02 20:30:00 UTC" {
		t.Errorf("zoneTime(bad zone) = %q", got)
	}
	if got := zoneTime("Asia/Shanghai", time.Time{}); got != "-" {
		t.Errorf("zoneTime(zero) = %q", got)
	}
}
