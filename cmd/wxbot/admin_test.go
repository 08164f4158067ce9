package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
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
	on, logs := startMainLogged(t, env, slog.LevelDebug, false)
	base := "http://" + on.Addr()
	if code, body := get(t, base+"/admin"); code != 200 || !strings.Contains(body, `<form id="login"`) {
		t.Fatalf("/admin without the token: %d, not the login form", code)
	}

	// A browser: the form, its token, the dashboard, logout; the session is
	// in Redis, so a second replica knows it and forgets it on logout.
	on2, logs2 := startMainLogged(t, env, slog.LevelDebug, false)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(base + "/admin/login")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(form)
	if m == nil {
		t.Fatalf("login form without a csrf field: %s", form)
	}
	resp, err = browser.PostForm(base+"/admin/login", url.Values{"token": {"serveAdminToken-0001"}, "csrf": {string(m[1])}, "next": {"/admin"}})
	if err != nil {
		t.Fatal(err)
	}
	dash, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(dash), `<tr id="issue-55">`) {
		t.Fatalf("after login: %d", resp.StatusCode)
	}
	u1, _ := url.Parse(base + "/admin")
	var session string
	for _, c := range jar.Cookies(u1) {
		if c.Name == "wxbot_admin" {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie")
	}
	// The same cookie on the other replica.
	other := func() (int, string) {
		req, _ := http.NewRequest("GET", "http://"+on2.Addr()+"/admin", nil)
		req.AddCookie(&http.Cookie{Name: "wxbot_admin", Value: session})
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if code, _ := other(); code != 200 {
		t.Fatalf("session on the other replica: %d", code)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(dash)
	resp, err = browser.PostForm(base+"/admin/logout", url.Values{"csrf": {string(csrf[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, loc := other(); code != 303 || !strings.HasPrefix(loc, "/admin/login") {
		t.Fatalf("session after logout, on the other replica: %d %q", code, loc)
	}
	for _, out := range []string{logs.String(), logs2.String()} {
		if strings.Contains(out, "serveAdminToken-0001") || strings.Contains(out, session) || strings.Contains(out, string(csrf[1])) {
			t.Error("the log holds the admin token, a session cookie or a CSRF token")
		}
	}
	if !strings.Contains(logs.String(), "admin: login") || !strings.Contains(logs.String(), "admin: logout") {
		t.Error("login and logout are not logged")
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

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
