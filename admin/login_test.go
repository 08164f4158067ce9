package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formCookie opens the login form and returns its CSRF token and cookie.
func formCookie(t *testing.T, e *env, hdr http.Header) (string, *http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+LoginPath+"?next=%2Fadmin%2Fissues%2F55%2Fpreview", nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, body := do(t, req)
	if resp.StatusCode != 200 || !strings.Contains(body, `<form id="login" method="post" action="/admin/login">`) ||
		!strings.Contains(body, `name="next" value="/admin/issues/55/preview"`) {
		t.Fatalf("login form: %d %s", resp.StatusCode, body)
	}
	m := csrfField.FindStringSubmatch(body)
	c := cookieNamed(resp, loginCookie)
	if m == nil || c == nil || c.Value != m[1] || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login form: csrf %v, cookie %+v", m, c)
	}
	return m[1], c
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// postLogin posts the form as a browser does: the form's token and cookie,
// the token typed, from the same origin.
func postLogin(t *testing.T, e *env, token string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	csrf, c := formCookie(t, e, hdr)
	form := url.Values{"token": {token}, "csrf": {csrf}, "next": {"/admin/issues/55/preview"}}
	req, _ := http.NewRequest("POST", e.srv.URL+LoginPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.AddCookie(c)
	return do(t, req)
}

// login logs in and returns the session cookie.
func login(t *testing.T, e *env) *http.Cookie {
	t.Helper()
	resp, body := postLogin(t, e, testToken, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/issues/55/preview" {
		t.Fatalf("login: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	c := cookieNamed(resp, CookieName)
	if c == nil {
		t.Fatal("login set no session cookie")
	}
	return c
}

func getWith(t *testing.T, e *env, path string, c *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	if c != nil {
		req.AddCookie(c)
	}
	return do(t, req)
}

func postLogout(t *testing.T, e *env, c *http.Cookie, csrf, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.AddCookie(c)
	resp, _ := do(t, req)
	return resp
}

func sessionKeyOf(e *env, id string) string {
	sum := sha256.Sum256([]byte(id))
	return e.store.Keys.AdminSession(hex.EncodeToString(sum[:]))
}

// TestLoginSessionLogout: a login sets a random cookie naming a session
// kept in Redis (by its hash) for admin.session_ttl; each login gets its
// own; logout ends one session everywhere and the old cookie then leads to
// the form; the logout form needs the page's CSRF token and the same origin.
func TestLoginSessionLogout(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	c1 := login(t, e)
	if !c1.HttpOnly || c1.SameSite != http.SameSiteStrictMode || c1.Path != "/admin" || c1.MaxAge != 12*3600 ||
		len(c1.Value) != 43 || strings.Contains(c1.Value, testToken) {
		t.Fatalf("session cookie %+v", c1)
	}
	resp, body := getWith(t, e, "/admin", c1)
	if resp.StatusCode != 200 || !strings.Contains(body, `<tr id="issue-55">`) || !strings.Contains(body, `<form id="logout" method="post" action="/admin/logout">`) {
		t.Fatalf("dashboard with the session: %d", resp.StatusCode)
	}
	if resp, _ := getWith(t, e, "/admin/issues/55/preview", c1); resp.StatusCode != 200 {
		t.Fatalf("preview with the session: %d", resp.StatusCode)
	}
	// Redis holds the session under the cookie's hash, with the TTL, and
	// nowhere the cookie itself.
	ttl, err := e.store.PTTL(ctx, sessionKeyOf(e, c1.Value)).Result()
	if err != nil || ttl < 12*time.Hour-time.Minute || ttl > 12*time.Hour {
		t.Fatalf("session key TTL %s, %v", ttl, err)
	}
	keys, _ := e.store.UniversalClient.Keys(ctx, "*").Result()
	for _, k := range keys {
		v, _ := e.store.Dump(ctx, k).Result()
		if strings.Contains(k, c1.Value) || strings.Contains(v, c1.Value) {
			t.Fatalf("redis key %s holds the cookie", k)
		}
	}

	// A second login: another random session; the first stays valid.
	c2 := login(t, e)
	if c2.Value == c1.Value {
		t.Fatal("two logins got the same session cookie")
	}
	csrf1 := csrfField.FindStringSubmatch(body)[1]

	// Logout refused without the CSRF token, with another session's, or
	// from another origin; the session survives each.
	_, body2 := getWith(t, e, "/admin", c2)
	csrf2 := csrfField.FindStringSubmatch(body2)[1]
	if csrf2 == csrf1 {
		t.Fatal("two sessions share a CSRF token")
	}
	for name, r := range map[string]*http.Response{
		"no token":       postLogout(t, e, c1, "", ""),
		"other session":  postLogout(t, e, c1, csrf2, ""),
		"foreign origin": postLogout(t, e, c1, csrf1, "https://evil.example"),
	} {
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("logout, %s: %d, want 403", name, r.StatusCode)
		}
	}
	if resp, _ := getWith(t, e, "/admin", c1); resp.StatusCode != 200 {
		t.Fatalf("session ended by a refused logout: %d", resp.StatusCode)
	}

	r := postLogout(t, e, c1, csrf1, e.srv.URL)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != LoginPath {
		t.Fatalf("logout: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if gone := cookieNamed(r, CookieName); gone == nil || gone.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %+v", gone)
	}
	if n, _ := e.store.Exists(ctx, sessionKeyOf(e, c1.Value)).Result(); n != 0 {
		t.Fatal("logout left the session in redis")
	}
	// The old cookie, replayed: to the form.
	resp, body = getWith(t, e, "/admin", c1)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), LoginPath+"?next=") || strings.Contains(body, "issue-55") {
		t.Fatalf("revoked cookie: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The other login is untouched.
	if resp, _ := getWith(t, e, "/admin", c2); resp.StatusCode != 200 {
		t.Fatalf("the other session after a logout: %d", resp.StatusCode)
	}
	// Already logged in: the form goes straight on.
	if resp, _ := getWith(t, e, LoginPath+"?next=%2Fadmin%2Fissues%2F54%2Fpreview", c2); resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/issues/54/preview" {
		t.Fatalf("form while logged in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestNewTokenEndsSessions: after admin.token changes (a restart with a
// new one), cookies made with the old token lead to the form, and Redis
// forgets them.
func TestNewTokenEndsSessions(t *testing.T) {
	e := newEnv(t, nil)
	c := login(t, e)
	o := e.opts
	o.Token = "the-rotated-admin-token"
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	rotated := httptest.NewServer(h)
	defer rotated.Close()
	req, _ := http.NewRequest("GET", rotated.URL+"/admin", nil)
	req.AddCookie(c)
	resp, _ := do(t, req)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), LoginPath) {
		t.Fatalf("old session under the new token: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n, _ := e.store.Exists(context.Background(), sessionKeyOf(e, c.Value)).Result(); n != 0 {
		t.Fatal("the old token's session is still in redis")
	}
	// The old handler (the old token) no longer knows it either.
	if resp, _ := getWith(t, e, "/admin", c); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("old session after the rotation: %d", resp.StatusCode)
	}
}

// TestSessionExpires: a session ends after its TTL (Redis expires the key),
// and a key that lost its TTL still ends at the recorded expiry.
func TestSessionExpires(t *testing.T) {
	e := newEnv(t, nil, func(o *Options) {
		o.Sessions = NewSessionStore(o.Sessions.rdb, o.Sessions.keys, 800*time.Millisecond)
	})
	c := login(t, e)
	if c.MaxAge > 1 {
		t.Fatalf("cookie outlives the session: max-age %d", c.MaxAge)
	}
	if resp, _ := getWith(t, e, "/admin", c); resp.StatusCode != 200 {
		t.Fatalf("fresh session: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		resp, _ := getWith(t, e, "/admin", c)
		if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), LoginPath) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session still valid after its TTL: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A key whose TTL was lost (PERSIST, a restore) still ends on time.
	ctx := context.Background()
	ss := NewSessionStore(e.store.UniversalClient, e.store.Keys, time.Hour)
	sess, err := ss.Create(ctx, "admin", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Persist(ctx, sessionKeyOf(e, sess.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Lookup(ctx, sess.ID); err != nil {
		t.Fatalf("live session: %v", err)
	}
	ss.now = func() time.Time { return time.Now().Add(time.Hour + time.Second) }
	if _, err := ss.Lookup(ctx, sess.ID); err != ErrNoSession {
		t.Fatalf("session past its recorded expiry: %v", err)
	}
	for _, id := range []string{"", "x", strings.Repeat("a", 43) + "=", strings.Repeat("*", 43)} {
		if _, err := ss.Lookup(ctx, id); err != ErrNoSession {
			t.Errorf("Lookup(%q): %v", id, err)
		}
	}
}

// TestLoginRateLimit: 5 wrong tokens from one client within the window,
// then 429 with Retry-After for the form and for bearers alike, the right
// token included; another client, and another replica's view of the first,
// as they should be; the window ends by itself.
func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, nil, func(o *Options) {
		// Behind a proxy on loopback: X-Forwarded-For names the client.
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		o.Limiter.Window = 2 * time.Second
	})
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	attacker, editor := from("203.0.113.7"), from("198.51.100.20")

	for i := 1; i <= DefaultMaxFailures; i++ {
		resp, body := postLogin(t, e, "guess-"+strconv.Itoa(i), attacker)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "用户名或密码错误。") || cookieNamed(resp, CookieName) != nil {
			t.Fatalf("wrong token %d: %d", i, resp.StatusCode)
		}
		if i == DefaultMaxFailures && !strings.Contains(body, "秒后再试") {
			t.Errorf("the last allowed failure does not say to wait")
		}
	}
	check429 := func(name string, resp *http.Response) {
		t.Helper()
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || err != nil || ra < 1 || ra > 2 {
			t.Fatalf("%s: %d, Retry-After %q", name, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if cookieNamed(resp, CookieName) != nil {
			t.Fatalf("%s: a session cookie with the 429", name)
		}
	}
	resp, _ := postLogin(t, e, "guess-6", attacker)
	check429("sixth wrong token", resp)
	resp, _ = postLogin(t, e, testToken, attacker)
	check429("right token while blocked", resp)
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header["X-Forwarded-For"] = attacker["X-Forwarded-For"]
	resp, _ = do(t, req)
	check429("bearer while blocked", resp)

	// Another replica over the same Redis refuses the attacker too.
	other := NewLoginLimiter(e.store.UniversalClient, e.store.Keys)
	if wait, err := other.Blocked(context.Background(), "203.0.113.7"); err != nil || wait <= 0 {
		t.Fatalf("another replica's limiter: %s %v", wait, err)
	}
	// The editor, from another address, logs in.
	resp, _ = postLogin(t, e, testToken, editor)
	if resp.StatusCode != http.StatusSeeOther || cookieNamed(resp, CookieName) == nil {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
	// The counter is one key that expires.
	ttl, err := e.store.PTTL(context.Background(), e.store.Keys.AdminLoginFailures("203.0.113.7")).Result()
	if err != nil || ttl <= 0 || ttl > 2*time.Second {
		t.Fatalf("failure counter TTL %s %v", ttl, err)
	}

	// After the window the attacker may try again: the right token works
	// and clears the count.
	time.Sleep(ttl + 50*time.Millisecond)
	resp, _ = postLogin(t, e, testToken, attacker)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}

	// Wrong bearers count the same way.
	for i := 0; i < DefaultMaxFailures; i++ {
		req, _ := http.NewRequest("GET", e.srv.URL+"/admin", nil)
		req.Header.Set("Authorization", "Bearer wrong-"+strconv.Itoa(i))
		req.Header["X-Forwarded-For"] = []string{"192.0.2.99"}
		if resp, _ := do(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong bearer %d: %d", i, resp.StatusCode)
		}
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/admin", nil)
	req.Header.Set("Authorization", "Bearer wrong-again")
	req.Header["X-Forwarded-For"] = []string{"192.0.2.99"}
	resp, _ = do(t, req)
	check429("sixth wrong bearer", resp)
}

// TestLoginFormChecks: a post that is not this browser's form, or comes
// from another site, is refused before the token is looked at; next
// never leads off the pages.
func TestLoginFormChecks(t *testing.T) {
	e := newEnv(t, nil)
	csrf, c := formCookie(t, e, nil)
	post := func(form url.Values, cookie *http.Cookie, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", e.srv.URL+LoginPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, _ := do(t, req)
		return resp
	}
	right := url.Values{"token": {testToken}, "csrf": {csrf}}
	for name, resp := range map[string]*http.Response{
		"no cookie":          post(right, nil, nil),
		"another form's":     post(url.Values{"token": {testToken}, "csrf": {"x" + csrf}}, c, nil),
		"no csrf field":      post(url.Values{"token": {testToken}}, c, nil),
		"cross-site fetch":   post(right, c, map[string]string{"Sec-Fetch-Site": "cross-site"}),
		"foreign origin":     post(right, c, map[string]string{"Origin": "https://evil.example"}),
		"oversized form":     post(url.Values{"token": {testToken}, "csrf": {csrf}, "pad": {strings.Repeat("a", 8<<10)}}, c, nil),
		"empty form, cookie": post(url.Values{}, c, nil),
	} {
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 403 or 400", name, resp.StatusCode)
		}
		if cookieNamed(resp, CookieName) != nil {
			t.Errorf("%s: logged in", name)
		}
	}
	for next, want := range map[string]string{
		"/admin/issues/54/preview": "/admin/issues/54/preview",
		"//evil.example/admin":     "/admin",
		"https://evil.example":     "/admin",
		"/\\evil.example":          "/admin",
		"/admin\\@evil.example":    "/admin",
		LoginPath:                  "/admin",
		"":                         "/admin",
	} {
		resp := post(url.Values{"token": {testToken}, "csrf": {csrf}, "next": {next}}, c, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("next %q: %d → %q, want %q", next, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

// TestAdminCSP: images only from the pages or over https (or data:), forms only to the pages.
func TestAdminCSP(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/admin", LoginPath, "/admin/issues/55/preview"} {
		code, _ := bearer(t, e, path)
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, _ := do(t, req)
		csp := resp.Header.Get("Content-Security-Policy")
		if code != 200 || strings.Contains(csp, "http:") || !strings.Contains(csp, "img-src 'self' https: data:;") ||
			!strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: %d, CSP %q", path, code, csp)
		}
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name, remote, xff, want string
	}{
		{"direct", "203.0.113.7:5555", "", "203.0.113.7"},
		{"direct, forged header ignored", "203.0.113.7:5555", "198.51.100.1", "203.0.113.7"},
		{"through a trusted proxy", "10.1.2.3:80", "198.51.100.1", "198.51.100.1"},
		{"client-written entries left of the proxy's ignored", "10.1.2.3:80", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"two trusted hops", "10.1.2.3:80", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"garbage from the client", "10.1.2.3:80", "nonsense, 198.51.100.1", "198.51.100.1"},
		{"trusted proxy without the header", "10.1.2.3:80", "", "10.1.2.3"},
		{"IPv6 by its /64", "[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},
		{"IPv4-mapped", "[::ffff:203.0.113.7]:1", "", "203.0.113.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			if got := clientAddr(r, trusted); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.168.1.7", "::1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseTrustedProxies([]string{"ingress"}); err == nil {
		t.Fatal("accepted a name as a proxy")
	}
}
