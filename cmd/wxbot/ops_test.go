package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// The operator-facing behaviour of `wxbot serve`: health, readiness,
// metrics, logs, Redis outages, signals. Tests that need the real process
// build the binary into the test's temporary folder.

const (
	opsToken  = "opsToken42"
	opsAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	opsAppID  = "wx0123456789abcdef"
	opsSecret = "appSecretNeverLogged0123456789"
)

// startMainLogged is startServe with a chosen log level and format.
func startMainLogged(t *testing.T, env map[string]string, level slog.Level, jsonLogs bool) (*Main, *lockedBuffer) {
	t.Helper()
	if env["WXBOT_HTTP_ADDR"] == "" {
		env["WXBOT_HTTP_ADDR"] = "127.0.0.1:0"
	}
	cfg, err := config.Load(config.Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(logs, opts)
	if jsonLogs {
		h = slog.NewJSONHandler(logs, opts)
	}
	m := NewMain(cfg, slog.New(h))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, logs
}

// metricValue reads one sample from /metrics, 0 when absent.
func metricValue(t *testing.T, base, sample string) float64 {
	t.Helper()
	_, body := get(t, base+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, sample+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, sample)), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", sample, line)
			}
			return v
		}
	}
	return 0
}

func safeAccount() wechatsim.Account {
	return wechatsim.Account{Token: opsToken, AppID: opsAppID, AESKey: opsAESKey}
}

func opsEnv(redisAddr string) map[string]string {
	return map[string]string{
		"WXBOT_WECHAT_TOKEN":            opsToken,
		"WXBOT_WECHAT_ENCODING_AES_KEY": opsAESKey,
		"WXBOT_WECHAT_APP_ID":           opsAppID,
		"WXBOT_WECHAT_APP_SECRET":       opsSecret,
		// Nothing answers there: no test may reach the real WeChat.
		"WXBOT_WECHAT_API_BASE": "http://127.0.0.1:1",
		"WXBOT_REDIS_ADDR":      redisAddr,
	}
}

// TestHealthReadyMetrics checks the probes' contract and that /metrics
// shows every wxbot collector with values the exchange produced.
func TestHealthReadyMetrics(t *testing.T) {
	srv := redistest.Start(t)
	sb := sandboxtest.Start(t, sandbox.Options{})
	env := opsEnv(srv.Addr)
	env["WXBOT_WECHAT_API_BASE"] = sb.URL
	env["WXBOT_WECHAT_APP_ID"] = sb.Options().AppID
	env["WXBOT_WECHAT_APP_SECRET"] = sb.Options().AppSecret
	m, _ := startMainLogged(t, env, slog.LevelInfo, false)
	base := "http://" + m.Addr()
	acct := safeAccount()
	acct.AppID = sb.Options().AppID

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	code, body := get(t, base+"/readyz?verbose")
	if code != 200 || !strings.HasPrefix(body, "ready\n") || !strings.Contains(body, "redis: ok ping") || !strings.Contains(body, "archive: ok 2 issues") {
		t.Fatalf("readyz?verbose %d %q", code, body)
	}

	now := time.Now()
	p, _ := acct.Seal(wechatsim.Text("oMetrics", "gh_x", "最新", 7001, now.Unix()), wechatsim.Safe, now)
	for i := 0; i < 2; i++ { // the second is WeChat's retry
		if r, err := acct.Send(http.DefaultClient, base+"/wechat", p); err != nil || !strings.Contains(r.Content+fmt.Sprint(r.Articles), "No.55") {
			t.Fatalf("send %d: %+v %v", i, r, err)
		}
	}
	// A forged request.
	resp, err := http.Post(base+"/wechat?signature=x&timestamp=1&nonce=1", "text/xml", strings.NewReader("<xml/>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// One API call through the running program's client: a token fetch and a QR code.
	if _, err := m.API.CreateQRCode(context.Background(), "metrics", true, 0); err != nil {
		t.Fatal(err)
	}

	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`wxbot_webhook_duration_seconds_count{result="reply"} 1`,
		`wxbot_webhook_duration_seconds_count{result="duplicate"} 1`,
		`wxbot_webhook_duration_seconds_count{result="forbidden"} 1`,
		`wxbot_webhook_dedupe_hits_total 1`,
		`wxbot_replies_total{kind="`,
		`wxbot_wechat_token_refreshes_total 1`,
		`wxbot_wechat_api_calls_total{endpoint="qrcode/create",errcode="0"} 1`,
		`wxbot_schedule_lag_seconds_count 0`,
		`wxbot_webhook_degraded_total{reason="claim"} 0`,
		`wxbot_customer_messages_total{purpose="late_reply",result="sent"} 0`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
		`wxbot_webhook_clock_skew_seconds `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if _, body := get(t, base+"/readyz?verbose"); !strings.Contains(body, "clock: clock in step with WeChat's") {
		t.Errorf("readyz?verbose after in-step pushes: %q", body)
	}

	// WeChat's clock 7 minutes ahead of ours: the signed push is refused,
	// and the program says how far off its clock is.
	ahead := time.Now().Add(7 * time.Minute)
	p, _ = acct.Seal(wechatsim.Text("oMetrics", "gh_x", "最新", 7002, ahead.Unix()), wechatsim.Safe, ahead)
	resp, err = http.Post(base+"/wechat?"+p.Query, "text/xml", strings.NewReader(string(p.Body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("push 7 min ahead: %d, want 403", resp.StatusCode)
	}
	code, body = get(t, base+"/readyz?verbose")
	if code != 200 || !strings.Contains(body, "clock: clock 7 min behind: pushes refused") {
		t.Errorf("readyz?verbose after a refused push: %d %q", code, body)
	}
	if g := metricValue(t, base, "wxbot_webhook_clock_skew_seconds"); g > -415 || g < -425 {
		t.Errorf("wxbot_webhook_clock_skew_seconds %v, want about -420", g)
	}
	if _, body := get(t, base+"/readyz"); strings.Contains(body, "clock") {
		t.Errorf("plain /readyz lists the clock: %q", body)
	}
}

// TestRequestIDsAndNoSecretsInLogs runs a safe-mode exchange at debug
// level in JSON and greps everything logged for the credentials and for
// what the subscriber wrote.
func TestRequestIDsAndNoSecretsInLogs(t *testing.T) {
	srv := redistest.Start(t)
	env := opsEnv(srv.Addr)
	env["WXBOT_ADMIN_TOKEN"] = "adminTokenNeverLogged77"
	m, logs := startMainLogged(t, env, slog.LevelDebug, true)
	base := "http://" + m.Addr()
	acct := safeAccount()

	// Honoured when sane, replaced when not.
	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Request-Id", "lb-7f3a-0001")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "lb-7f3a-0001" {
		t.Fatalf("X-Request-Id not honoured: %q", got)
	}
	req, _ = http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Request-Id", "bad id;with=injection")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	generated := resp.Header.Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(generated) {
		t.Fatalf("generated request id %q", generated)
	}

	const secretQuestion = "机密问题qwzx个人信息保护"
	now := time.Now()
	p, _ := acct.Seal(wechatsim.Text("oPrivate", "gh_x", secretQuestion, 9001, now.Unix()), wechatsim.Safe, now)
	r, err := acct.Send(http.DefaultClient, base+"/wechat", p)
	if err != nil || !r.Encrypted {
		t.Fatalf("safe exchange: %+v %v", r, err)
	}
	p2, _ := acct.Seal(wechatsim.Text("oPrivate", "gh_x", "最新", 9002, now.Unix()), wechatsim.Safe, now)
	r2, err := acct.Send(http.DefaultClient, base+"/wechat", p2)
	if err != nil || r2.Content+fmt.Sprint(r2.Articles) == "" {
		t.Fatalf("safe exchange 2: %+v %v", r2, err)
	}
	// Garbage ciphertext under the original signature is refused (403).
	bad := p
	bad.Body = []byte(strings.Replace(string(p.Body), "<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA", 1))
	if resp, err := http.Post(base+"/wechat?"+bad.Query, "text/xml", strings.NewReader(string(bad.Body))); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("tampered ciphertext: status %d, want 403", resp.StatusCode)
		}
	}
	// A correctly signed plaintext push is refused in safe mode (403); its
	// warning carries the request's id, like the access line.
	plain, _ := acct.Seal(wechatsim.Text("oPrivate", "gh_x", "x", 9003, now.Unix()), wechatsim.Plain, now)
	req, _ = http.NewRequest("POST", base+"/wechat?"+plain.Query, strings.NewReader("<xml><ToUserName>garbage"))
	req.Header.Set("X-Request-Id", "lb-7f3a-0002")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("signed plaintext in safe mode: status %d, want 403", resp.StatusCode)
		}
	}
	// The admin token in a query string never reaches the log.
	if resp, err := http.Get(base + "/admin?token=adminTokenNeverLogged77"); err == nil {
		resp.Body.Close()
	}
	_ = m.Close()

	out := logs.String()
	var encrypted string
	if i := strings.Index(string(p.Body), "<Encrypt><![CDATA["); i >= 0 {
		encrypted = string(p.Body)[i+18 : i+18+40]
	}
	for name, secret := range map[string]string{
		"wechat.token": opsToken, "wechat.encoding_aes_key": opsAESKey, "wechat.app_secret": opsSecret,
		"admin.token": "adminTokenNeverLogged77", "message content": secretQuestion, "a piece of it": "qwzx",
		"reply content": r2.Content, "ciphertext": encrypted,
	} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("the log holds the %s %q", name, secret)
		}
	}
	// Every line is JSON; request lines carry their id.
	sawHonoured, sawWebhook, sawRefusal := false, false, false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", sc.Text())
		}
		if rec["msg"] == "webhook: bad request" && rec["request_id"] == "lb-7f3a-0002" {
			sawRefusal = true
		}
		if rec["msg"] == "http request" {
			if rec["request_id"] == "lb-7f3a-0001" {
				sawHonoured = true
			}
			if rec["path"] == "/wechat" && rec["request_id"] != "" && rec["status"] == float64(200) {
				sawWebhook = true
			}
		}
	}
	if !sawHonoured || !sawWebhook || !sawRefusal {
		t.Fatalf("request lines with ids missing (honoured %v, webhook %v, refusal %v):\n%s", sawHonoured, sawWebhook, sawRefusal, out)
	}
}

// TestRedisOutageUnderServe kills the real redis-server under a running
// serve, then starts an empty one on the same port: the webhook answers
// throughout inside the deadline, degraded while Redis is away (counted),
// /readyz says why, and both recover by themselves.
func TestRedisOutageUnderServe(t *testing.T) {
	quietRedisLog(slog.New(slog.DiscardHandler)) // go-redis would print every failed dial
	srv := redistest.Start(t)
	m, logs := startMainLogged(t, opsEnv(srv.Addr), slog.LevelInfo, false)
	base := "http://" + m.Addr()
	acct := safeAccount()
	client := &http.Client{Timeout: 10 * time.Second}
	msgID := int64(1000)
	send := func(openid, text string) (*wechatsim.Reply, time.Duration) {
		t.Helper()
		msgID++
		now := time.Now()
		p, _ := acct.Seal(wechatsim.Text(openid, "gh_x", text, msgID, now.Unix()), wechatsim.Safe, now)
		start := time.Now()
		r, err := acct.Send(client, base+"/wechat", p)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		return r, time.Since(start)
	}
	if r, _ := send("oOutage", "GDPR"); r.Status != 200 || !strings.Contains(r.Content, "No.") {
		t.Fatalf("before: %+v", r)
	}

	srv.Stop()
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "redis: ping") {
		t.Fatalf("readyz with redis down: %d %q", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("healthz with redis down: %d", code)
	}
	deadline := m.Config.Bot.Deadline
	for _, text := range []string{"最新", "GDPR", "help", "下一页"} {
		r, took := send("oOutage", text)
		if r.Status != 200 || took > deadline {
			t.Fatalf("%s while redis is down: status %d after %s", text, r.Status, took)
		}
		if text != "下一页" && r.Content+fmt.Sprint(r.Articles) == "" {
			t.Fatalf("%s while redis is down: empty answer %+v", text, r)
		}
	}
	if got := metricValue(t, base, `wxbot_webhook_duration_seconds_count{result="degraded"}`); got < 3 {
		t.Fatalf("degraded answers counted %v", got)
	}
	if got := metricValue(t, base, `wxbot_webhook_degraded_total{reason="claim"}`); got < 3 {
		t.Fatalf("wxbot_webhook_degraded_total{reason=claim} = %v", got)
	}

	srv.Restart() // empty, as after a crash of a Redis without persistence
	waitFor(t, 15*time.Second, "readyz after redis returned", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	// The archive is written again at once, not at the next resync.
	rdb := srv.Client()
	waitFor(t, 5*time.Second, "the archive stored in the emptied redis", func() bool {
		n, _ := rdb.HLen(context.Background(), m.Store.Keys.ArchiveIssues()).Result()
		return n > 0
	})
	// Dedupe and sessions work again: a retry is recognised, paging continues.
	hits := metricValue(t, base, "wxbot_webhook_dedupe_hits_total")
	msgID++
	now := time.Now()
	p, _ := acct.Seal(wechatsim.Text("oBack", "gh_x", "数据", msgID, now.Unix()), wechatsim.Safe, now)
	first, err := acct.Send(client, base+"/wechat", p)
	if err != nil || !strings.Contains(first.Content, "No.") {
		t.Fatalf("after recovery: %+v %v", first, err)
	}
	again, err := acct.Send(client, base+"/wechat", p)
	if err != nil || string(again.Plain) != string(first.Plain) {
		t.Fatalf("retry after recovery: %+v %v", again, err)
	}
	if got := metricValue(t, base, "wxbot_webhook_dedupe_hits_total"); got != hits+1 {
		t.Fatalf("dedupe hits after recovery %v, want %v", got, hits+1)
	}
	if r, _ := send("oBack", "下一页"); !strings.Contains(r.Content, "No.") {
		t.Fatalf("session paging after recovery: %+v", r)
	}
	for _, want := range []string{"redis unavailable", "redis available again", "not ready", "ready again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestServeStartsBeforeRedis starts serve while its Redis is down (a node
// reboot, a deploy racing Redis): it serves degraded instead of exiting,
// /readyz says why, and once Redis comes up the archive is stored,
// readiness returns and a retry is recognised again.
func TestServeStartsBeforeRedis(t *testing.T) {
	quietRedisLog(slog.New(slog.DiscardHandler))
	srv := redistest.Start(t)
	srv.Stop()
	m, logs := startMainLogged(t, opsEnv(srv.Addr), slog.LevelInfo, false)
	base := "http://" + m.Addr()
	acct := safeAccount()
	client := &http.Client{Timeout: 10 * time.Second}
	if !strings.Contains(logs.String(), "redis does not answer: serving degraded") {
		t.Fatalf("no start-up error about redis:\n%s", logs.String())
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "redis: ping") {
		t.Fatalf("readyz before redis: %d %q", code, body)
	}
	now := time.Now()
	p, _ := acct.Seal(wechatsim.Text("oEarly", "gh_x", "GDPR", 4242, now.Unix()), wechatsim.Safe, now)
	start := time.Now()
	r, err := acct.Send(client, base+"/wechat", p)
	if err != nil || r.Status != 200 || !strings.Contains(r.Content, "No.") || time.Since(start) > m.Config.Bot.Deadline {
		t.Fatalf("answer before redis: %+v %v after %s", r, err, time.Since(start))
	}

	srv.Restart()
	waitFor(t, 15*time.Second, "readyz once redis is up", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	rdb := srv.Client()
	waitFor(t, 15*time.Second, "the archive stored in redis", func() bool {
		n, _ := rdb.HLen(context.Background(), m.Store.Keys.ArchiveIssues()).Result()
		return n > 0
	})
	hits := metricValue(t, base, "wxbot_webhook_dedupe_hits_total")
	p, _ = acct.Seal(wechatsim.Text("oEarly", "gh_x", "GDPR", 4243, now.Unix()), wechatsim.Safe, time.Now())
	first, err := acct.Send(client, base+"/wechat", p)
	if err != nil || !strings.Contains(first.Content, "No.") {
		t.Fatalf("after redis came up: %+v %v", first, err)
	}
	if again, err := acct.Send(client, base+"/wechat", p); err != nil || string(again.Plain) != string(first.Plain) {
		t.Fatalf("retry after redis came up: %+v %v", again, err)
	}
	if got := metricValue(t, base, "wxbot_webhook_dedupe_hits_total"); got != hits+1 {
		t.Fatalf("dedupe hits %v, want %v", got, hits+1)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// buildWxbot builds the program into the test's temporary folder.
func buildWxbot(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "wxbot")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a `wxbot` child process.
type proc struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	addr string
	done chan struct{}
	err  error
}

// startProc runs bin with args and env (added to a clean environment), on
// a free port, and waits for /healthz.
func startProc(t *testing.T, bin string, env map[string]string, args ...string) *proc {
	t.Helper()
	home := t.TempDir()
	p := &proc{logs: &lockedBuffer{}, done: make(chan struct{})}
	if env["WXBOT_HTTP_ADDR"] == "" {
		env["WXBOT_HTTP_ADDR"] = net.JoinHostPort("127.0.0.1", strconv.Itoa(redistest.FreePort(t)))
	}
	p.addr = env["WXBOT_HTTP_ADDR"]
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = home
	p.cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "PATH=" + os.Getenv("PATH"), "TZ=UTC"}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("wxbot %v exited: %v\n%s", args, p.err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("wxbot %v not answering after 20s:\n%s", args, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait returns the exit status, failing after d.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("process still running after %s:\n%s", d, p.logs.String())
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", p.err)
	return -1
}

// TestSIGTERMDrainsInFlight runs the real program: a request whose body is
// still arriving when SIGTERM comes is answered, new connections are
// refused meanwhile, and the process exits 0.
func TestSIGTERMDrainsInFlight(t *testing.T) {
	bin := buildWxbot(t)
	srv := redistest.Start(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			env := map[string]string{"WXBOT_WECHAT_TOKEN": opsToken, "WXBOT_REDIS_ADDR": srv.Addr}
			p := startProc(t, bin, env, "serve")
			acct := wechatsim.Account{Token: opsToken}
			now := time.Now()
			push, _ := acct.Seal(wechatsim.Text("oDrain", "gh_x", "最新", now.UnixNano(), now.Unix()), wechatsim.Plain, now)

			conn, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			half := len(push.Body) / 2
			fmt.Fprintf(conn, "POST /wechat?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n", push.Query, p.addr, len(push.Body))
			if _, err := conn.Write(push.Body[:half]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // the server is reading the body now

			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "the listener to close", func() bool {
				c, err := net.DialTimeout("tcp", p.addr, 200*time.Millisecond)
				if err != nil {
					return true
				}
				c.Close()
				return false
			})
			select {
			case <-p.done:
				t.Fatalf("exited with a request in flight:\n%s", p.logs.String())
			default:
			}
			if _, err := conn.Write(push.Body[half:]); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("in-flight request: %v\n%s", err, p.logs.String())
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r, err := acct.Open(resp.StatusCode, body)
			if err != nil || !strings.Contains(r.Content+fmt.Sprint(r.Articles), "No.55") {
				t.Fatalf("in-flight answer: %d %+v %v", resp.StatusCode, r, err)
			}
			if code := p.wait(t, 12*time.Second); code != 0 {
				t.Fatalf("exit status %d:\n%s", code, p.logs.String())
			}
			if !strings.Contains(p.logs.String(), "shutting down") {
				t.Errorf("no shutdown line:\n%s", p.logs.String())
			}
		})
	}
}

// TestMinimalEnvProcess is the operator's first start: the real binary
// with only WXBOT_HTTP_ADDR and WXBOT_WECHAT_TOKEN set.
func TestMinimalEnvProcess(t *testing.T) {
	bin := buildWxbot(t)
	p := startProc(t, bin, map[string]string{"WXBOT_WECHAT_TOKEN": opsToken}, "serve")
	base := "http://" + p.addr
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("readyz %d %q", code, body)
	}
	acct := wechatsim.Account{Token: opsToken}
	now := time.Now()
	push, _ := acct.Seal(wechatsim.Text("oFirst", "gh_x", "最新", 1, now.Unix()), wechatsim.Plain, now)
	if r, err := acct.Send(http.DefaultClient, base+"/wechat", push); err != nil || !strings.Contains(r.Content+fmt.Sprint(r.Articles), "No.55") {
		t.Fatalf("latest: %+v %v", r, err)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, `wxbot_webhook_duration_seconds_count{result="reply"} 1`) {
		t.Fatalf("metrics %d", code)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 12*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.logs.String())
	}
	for _, want := range []string{"embedded in-process Redis", "serving", "shutting down"} {
		if !strings.Contains(p.logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, p.logs.String())
		}
	}
}

// TestHealthcheckCommand is the probe the container image runs.
func TestHealthcheckCommand(t *testing.T) {
	srv := redistest.Start(t)
	m, _ := startMainLogged(t, opsEnv(srv.Addr), slog.LevelWarn, false)
	_, port, _ := net.SplitHostPort(m.Addr())
	t.Setenv("WXBOT_HTTP_ADDR", ":"+port)
	if out, errOut, code := runWxbot(t, "healthcheck"); code != 0 || out != "200 ok\n" {
		t.Fatalf("healthcheck: %d %q %q", code, out, errOut)
	}
	if out, _, code := runWxbot(t, "healthcheck", "--url", "http://"+m.Addr()+"/readyz"); code != 0 || out != "200 ready\n" {
		t.Fatalf("healthcheck --url readyz: %d %q", code, out)
	}
	srv.Stop()
	if out, _, code := runWxbot(t, "healthcheck", "--url", "http://"+m.Addr()+"/readyz"); code != 1 || !strings.HasPrefix(out, "503 not ready") {
		t.Fatalf("readyz with Redis down: %d %q", code, out)
	}
	_ = m.Close()
	if _, errOut, code := runWxbot(t, "healthcheck"); code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Fatalf("nothing listening: %d %q", code, errOut)
	}
}
