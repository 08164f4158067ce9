package main

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/redistest"
)

// TestOpsListener: with http.ops_addr, /metrics and the detailed /readyz
// are on that listener only; the webhook's port keeps /healthz and a
// /readyz that says ready or not ready without naming internal addresses;
// Close stops both listeners.
func TestOpsListener(t *testing.T) {
	srv := redistest.Start(t)
	env := opsEnv(srv.Addr)
	env["WXBOT_HTTP_OPS_ADDR"] = "127.0.0.1:0"
	env["WXBOT_ADMIN_TOKEN"] = "opsListenerAdminToken"
	m, _ := startMainLogged(t, env, slog.LevelWarn, false)
	if m.OpsAddr() == "" || m.OpsAddr() == m.Addr() {
		t.Fatalf("ops listener %q beside %q", m.OpsAddr(), m.Addr())
	}
	main, ops := "http://"+m.Addr(), "http://"+m.OpsAddr()

	for _, c := range []struct {
		url       string
		code      int
		body      string // exact when exact, else a substring
		exact     bool
		notInBody string
	}{
		{main + "/metrics", 404, "", false, "wxbot_"},
		{main + "/readyz", 200, "ready\n", true, ""},
		{main + "/readyz?verbose", 200, "ready\n", true, ""},
		{main + "/healthz", 200, "ok\n", true, ""},
		{ops + "/metrics", 200, "wxbot_webhook_duration_seconds", false, ""},
		{ops + "/readyz?verbose", 200, "redis: ok ping", false, ""},
		{ops + "/readyz", 200, "ready\n", true, ""},
		{ops + "/healthz", 200, "ok\n", true, ""},
		// The ops listener serves nothing else.
		{ops + "/wechat", 404, "", false, ""},
		{ops + "/admin", 404, "", false, ""},
	} {
		code, body := get(t, c.url)
		if code != c.code || (c.exact && body != c.body) || (!c.exact && !strings.Contains(body, c.body)) ||
			(c.notInBody != "" && strings.Contains(body, c.notInBody)) {
			t.Errorf("%s: %d %q, want %d %q", c.url, code, body, c.code, c.body)
		}
	}

	// Redis away: both answer 503; only the ops listener says why.
	srv.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _ := get(t, main+"/readyz")
		if code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz stays ready without redis")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := get(t, main+"/readyz?verbose"); code != 503 || body != "not ready\n" {
		t.Errorf("main /readyz without redis: %d %q", code, body)
	}
	if code, body := get(t, ops+"/readyz"); code != 503 || !strings.Contains(body, "redis: ping") || !strings.Contains(body, srv.Addr[strings.LastIndex(srv.Addr, ":"):]) {
		t.Errorf("ops /readyz without redis: %d %q", code, body)
	}

	opsAddr := m.OpsAddr()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", opsAddr, time.Second); err == nil {
		c.Close()
		t.Fatal("the ops listener still accepts after Close")
	}
}

// TestOpsListenerBusyPort: a taken ops port stops serve at start, naming
// the key, and leaves the main port free.
func TestOpsListenerBusyPort(t *testing.T) {
	srv := redistest.Start(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	env := opsEnv(srv.Addr)
	env["WXBOT_HTTP_ADDR"] = "127.0.0.1:0"
	env["WXBOT_HTTP_OPS_ADDR"] = busy.Addr().String()
	cfg, err := config.Load(config.Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg, nil)
	err = m.Run(t.Context())
	_ = m.Close()
	if err == nil || !strings.Contains(err.Error(), "http.ops_addr") {
		t.Fatalf("Run with a busy ops port: %v", err)
	}
	if m.Addr() != "" {
		t.Fatalf("main listener left open at %s", m.Addr())
	}
}
