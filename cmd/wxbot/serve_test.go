package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/internal/redistest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs the whole `wxbot serve` program on a free port with the
// configuration the environment map gives, and stops it at cleanup.
func startServe(t *testing.T, env map[string]string) (*Main, *lockedBuffer) {
	t.Helper()
	return startMainLogged(t, env, slog.LevelInfo, false)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With no configuration at all: embedded store, examples, development token,
// and `wxbot chat` finds the server and the token on its own.
func TestServeZeroConfig(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	m, logs := startServe(t, map[string]string{})
	base := "http://" + m.Addr()

	tokFile := DefaultDevTokenPath()
	fi, err := os.Stat(tokFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("development token file: %v %v", fi, err)
	}
	tok, err := readDevToken(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), tok) {
		t.Fatal("the development token was logged")
	}
	for _, want := range []string{"embedded in-process Redis", "development token", "built-in example issues"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}

	acct := wechatsim.Account{Token: tok}
	status, echo, err := acct.VerifyURL(http.DefaultClient, base+"/wechat", "hello", time.Now())
	if err != nil || status != 200 || echo != "hello" {
		t.Fatalf("URL check: %d %q %v", status, echo, err)
	}
	p, _ := acct.Seal(wechatsim.Text("oE2E", "gh_x", "最新", 1, time.Now().Unix()), wechatsim.Plain, time.Now())
	r, err := acct.Send(http.DefaultClient, base+"/wechat", p)
	if err != nil || !strings.Contains(r.Content, "No.55") {
		t.Fatalf("latest: %+v %v", r, err)
	}

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("readyz %d %q", code, body)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, `wxbot_webhook_duration_seconds_count{result="reply"} 1`) {
		t.Fatalf("metrics %d:\n%s", code, body)
	}

	// wxbot chat, one message and interactive, with no configuration either.
	out := runCLI(t, "", "chat", "--url", base+"/wechat", "往期")
	if !strings.Contains(out, "No.55 · 2021.05") || !strings.Contains(out, "No.54") {
		t.Fatalf("wxbot chat 往期:\n%s", out)
	}
	out = runCLI(t, "", "chat", "--url", base+"/wechat", "--event", "subscribe", "--scene", "expo")
	if !strings.Contains(out, "感谢关注") {
		t.Fatalf("wxbot chat --event subscribe:\n%s", out)
	}
	out = runCLI(t, "数据安全法\n下一页\nEnglish\nhelp\n", "chat", "--url", base+"/wechat", "--openid", "oInteractive")
	for _, want := range []string{"No.55 · 全国人大常委会就数据安全法草案二审稿公开征求意见", "OK, I will reply in English", "You can reply"} {
		if !strings.Contains(out, want) {
			t.Fatalf("interactive chat lacks %q:\n%s", want, out)
		}
	}

	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still answers after Close")
	}
}

func runCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("wxbot %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// Safe mode on a real Redis with an inbox folder, as an operator runs it;
// two replicas answer a message and its retry alike.
func TestServeSafeModeTwoReplicas(t *testing.T) {
	srv := redistest.Start(t)
	inbox := t.TempDir()
	data, err := fs.ReadFile(examples.FS, "newsletter-no54.md")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inbox, "no54.md"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	env := func() map[string]string {
		return map[string]string{
			"WXBOT_WECHAT_TOKEN":            "e2eToken",
			"WXBOT_WECHAT_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
			"WXBOT_WECHAT_APP_ID":           "wx0123456789abcdef",
			"WXBOT_WECHAT_APP_SECRET":       "s",
			"WXBOT_REDIS_ADDR":              srv.Addr,
			"WXBOT_NEWSLETTER_INBOX":        inbox,
			// The files are written just before: take them at once.
			"WXBOT_NEWSLETTER_INBOX_SETTLE": "0s",
		}
	}
	a, _ := startServe(t, env())
	b, _ := startServe(t, env())
	acct := wechatsim.Account{Token: "e2eToken", AppID: "wx0123456789abcdef", AESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}

	p, _ := acct.Seal(wechatsim.Text("oSafe", "gh_x", "latest", 42, time.Now().Unix()), wechatsim.Safe, time.Now())
	first, err := acct.Send(http.DefaultClient, "http://"+a.Addr()+"/wechat", p)
	if err != nil || !first.Encrypted || !strings.Contains(first.Content, "No.54") {
		t.Fatalf("safe mode: %+v %v", first, err)
	}
	retry, err := acct.Send(http.DefaultClient, "http://"+b.Addr()+"/wechat", p)
	if err != nil || !bytes.Equal(retry.Plain, first.Plain) {
		t.Fatalf("retry on the other replica: %+v %v", retry, err)
	}

	// A new issue dropped into the inbox reaches both replicas.
	data55, _ := fs.ReadFile(examples.FS, "newsletter-no55.md")
	if err := os.WriteFile(filepath.Join(inbox, "no55.md"), data55, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, m := range []*Main{a, b} {
		for {
			p, _ := acct.Seal(wechatsim.Text("oSafe", "gh_x", "最新", time.Now().UnixNano(), time.Now().Unix()), wechatsim.Safe, time.Now())
			r, err := acct.Send(http.DefaultClient, "http://"+m.Addr()+"/wechat", p)
			if err == nil && strings.Contains(r.Content, "No.55") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s never saw No.55: %+v %v", m.Addr(), r, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func TestDevToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dev-token")
	tok, created, err := devToken(path)
	if err != nil || !created || !validToken(tok) || len(tok) != 32 {
		t.Fatalf("%q %v %v", tok, created, err)
	}
	again, created, err := devToken(path)
	if err != nil || created || again != tok {
		t.Fatalf("second read: %q %v %v", again, created, err)
	}
	if err := os.WriteFile(path, []byte("not a token!"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, created, _ := devToken(path)
	if !created || fresh == tok {
		t.Fatal("a corrupt token file was not replaced")
	}
}

// serve sets GOGC and a memory limit from the container's, each unless the
// environment does.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	none := func(string) (string, bool) { return "", false }
	tuneGC(slog.New(slog.DiscardHandler), none, func() int64 { return 1 << 30 })
	if got := debug.SetGCPercent(100); got != serveGOGC {
		t.Errorf("GOGC %d, want %d", got, serveGOGC)
	}
	if got, lim := debug.SetMemoryLimit(-1), float64(1<<30); got != int64(lim*serveMemoryShare) {
		t.Errorf("memory limit %d, want 80%% of 1 GiB", got)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	set := func(string) (string, bool) { return "x", true }
	tuneGC(slog.New(slog.DiscardHandler), set, func() int64 { return 1 << 30 })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC %d: the environment's must stand", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit %d: the environment's must stand", got)
	}
	for in, want := range map[string]int64{"max\n": 0, "536870912\n": 536870912, "9223372036854771712": 0, "": 0, "-1": 0, "junk": 0} {
		if got := parseMemoryLimit(in); got != want {
			t.Errorf("parseMemoryLimit(%q) = %d, want %d", in, got, want)
		}
	}
}
