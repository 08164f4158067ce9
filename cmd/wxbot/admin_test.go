package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/lifang/wxbot/internal/redistest"
)

// TestAdminPagesOnServe: off (404) without admin.token; behind it with one.
func TestAdminPagesOnServe(t *testing.T) {
	srv := redistest.Start(t)
	off, _ := startMainLogged(t, opsEnv(srv.Addr), slog.LevelWarn, false)
	for _, path := range []string{"/admin", "/admin/", "/admin/issues/55/preview"} {
		if code, _ := get(t, "http://"+off.Addr()+path); code != 404 {
			t.Errorf("%s without admin.token: %d, want 404", path, code)
		}
	}

	env := opsEnv(srv.Addr)
	env["WXBOT_ADMIN_TOKEN"] = "serveAdminToken-0001"
	on, _ := startMainLogged(t, env, slog.LevelWarn, false)
	base := "http://" + on.Addr()
	if code, _ := get(t, base+"/admin"); code != 401 {
		t.Fatalf("/admin without the token: %d", code)
	}
	for path, want := range map[string]string{
		"/admin":                   `<tr id="issue-55">`,
		"/admin/issues/55/preview": "width:375px",
	} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer serveAdminToken-0001")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}
}
