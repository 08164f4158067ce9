package admin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/inbox"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/subscribers"
)

const testToken = "editorToken-0042-long"

// env is the pages over a real Redis: the example issues in the archive
// and a subscriber service that saw follows through two QR scenes.
type env struct {
	srv   *httptest.Server
	arch  *archive.Archive
	subs  *subscribers.Service
	store *store.Store
	opts  Options
}

// newEnv starts the pages over a fresh redis-server; each tweak adjusts
// the options before New.
func newEnv(t *testing.T, pipe Pipeline, tweaks ...func(*Options)) *env {
	t.Helper()
	r := redistest.Start(t)
	ctx := context.Background()
	st, err := store.Open(ctx, config.RedisConfig{Addr: r.Addr, Prefix: "wxbot:"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	arch := archive.New(archive.Options{Redis: st.UniversalClient, Keys: st.Keys})
	if err := inbox.New(inbox.Options{FS: examples.FS, Parse: newsletter.Parse, Archive: arch}).Load(ctx); err != nil {
		t.Fatal(err)
	}
	subs := subscribers.New(subscribers.Options{Store: st})
	for _, f := range []struct{ openid, scene string }{{"o1", "expo2026"}, {"o2", "expo2026"}, {"o3", "footer"}, {"o1", "footer"}} {
		if err := subs.Followed(ctx, f.openid, f.scene); err != nil {
			t.Fatal(err)
		}
	}
	if err := subs.Unfollowed(ctx, "o2"); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	o := Options{
		Token: testToken, Issues: arch, Pipeline: pipe, Campaigns: subs,
		Sessions: NewSessionStore(st.UniversalClient, st.Keys, 12*time.Hour),
		Limiter:  NewLoginLimiter(st.UniversalClient, st.Keys),
		Render:   render.Options{Theme: render.DefaultTheme, Author: "立方律师事务所"}, Location: loc,
		Now: func() time.Time { return time.Date(2021, 5, 20, 8, 0, 0, 0, loc) },
	}
	for _, tw := range tweaks {
		tw(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin", h)
	mux.Handle("/admin/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, arch: arch, subs: subs, store: st, opts: o}
}

// memPipeline is the publisher as the pages see it, held in memory: the
// real publisher's adapter is exercised by cmd/wxbot's tests.
type memPipeline struct {
	statuses []Status
	drafts   map[int]*render.Draft
	issues   map[int]*newsletter.Issue
	err      error
}

func (p *memPipeline) Statuses(context.Context) ([]Status, error) { return p.statuses, p.err }
func (p *memPipeline) Draft(_ context.Context, n int) (*newsletter.Issue, *render.Draft, error) {
	return p.issues[n], p.drafts[n], nil
}
func (p *memPipeline) NextSlot(t time.Time) time.Time {
	return time.Date(2021, 5, 24, 1, 0, 0, 0, time.UTC)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAuth(t *testing.T) {
	e := newEnv(t, nil)
	toLogin := func(next string) string { return LoginPath + "?" + url.Values{"next": {next}}.Encode() }
	cases := []struct {
		name     string
		path     string
		header   map[string]string
		want     int
		location string // where a 303 leads
	}{
		{"nothing", "/admin", nil, 303, toLogin("/admin")},
		{"wrong bearer", "/admin", map[string]string{"Authorization": "Bearer nope"}, 401, ""},
		{"token as basic", "/admin", map[string]string{"Authorization": "Basic " + testToken}, 401, ""},
		{"bearer", "/admin", map[string]string{"Authorization": "Bearer " + testToken}, 200, ""},
		{"bearer lower-case scheme", "/admin/", map[string]string{"Authorization": "bearer " + testToken}, 200, ""},
		{"preview without token", "/admin/issues/55/preview", nil, 303, toLogin("/admin/issues/55/preview")},
		// A token in the address is no longer taken, right or wrong: the
		// form, without it.
		{"query token", "/admin/issues/55/preview?token=" + url.QueryEscape(testToken) + "&x=1", nil, 303, toLogin("/admin/issues/55/preview?x=1")},
		{"wrong query token", "/admin?token=nope", nil, 303, toLogin("/admin")},
		{"forged cookie", "/admin", map[string]string{"Cookie": CookieName + "=" + testToken}, 303, toLogin("/admin")},
		{"the old HMAC cookie", "/admin", map[string]string{"Cookie": CookieName + "=" + strings.Repeat("ab", 32)}, 303, toLogin("/admin")},
		{"unknown page, authorized", "/admin/nothing", map[string]string{"Authorization": "Bearer " + testToken}, 404, ""},
		{"unknown page, not authorized", "/admin/nothing", nil, 303, toLogin("/admin/nothing")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+c.path, nil)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, body := do(t, req)
			if resp.StatusCode != c.want {
				t.Fatalf("%s: %d, want %d: %s", c.path, resp.StatusCode, c.want, body)
			}
			if c.want == 401 && (resp.Header.Get("WWW-Authenticate") == "" || strings.Contains(body, "No.55")) {
				t.Fatalf("refusal: %v %q", resp.Header, body)
			}
			if c.want == 303 && resp.Header.Get("Location") != c.location {
				t.Fatalf("redirect to %q, want %q", resp.Header.Get("Location"), c.location)
			}
			if c.want != 200 && c.want != 404 && strings.Contains(body, "issue-55") {
				t.Fatal("a refusal shows the dashboard")
			}
		})
	}
	// A POST without credentials is refused, not redirected.
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/logout", nil)
	if resp, _ := do(t, req); resp.StatusCode != 401 {
		t.Fatalf("logout without a session: %d", resp.StatusCode)
	}

	if _, err := New(Options{Issues: e.arch, Sessions: e.opts.Sessions, Limiter: e.opts.Limiter}); err == nil {
		t.Fatal("New accepted an empty token")
	}
	if _, err := New(Options{Token: testToken, Issues: e.arch}); err == nil {
		t.Fatal("New accepted no session store")
	}
}

func bearer(t *testing.T, e *env, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, body := do(t, req)
	return resp.StatusCode, body
}

func TestDashboard(t *testing.T) {
	sent := time.Date(2021, 5, 17, 1, 0, 3, 0, time.UTC)
	pipe := &memPipeline{statuses: []Status{
		{Number: 55, State: "scheduled", Due: time.Date(2021, 5, 24, 1, 0, 0, 0, time.UTC)},
		{Number: 54, State: "finished", SentAt: sent, MsgID: 1000000001, MassStatus: "SEND_SUCCESS",
			TotalCount: 1200, FilterCount: 1180, SentCount: 1175, ErrorCount: 5, URLs: []string{"https://mp.weixin.qq.com/s/a"}},
		{Number: 56, State: "failed", File: "no56.md", ErrCode: 45028, Explanation: "no broadcast quota left"},
	}}
	e := newEnv(t, pipe)
	code, body := bearer(t, e, "/admin?lang=en")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	for _, want := range []string{
		// issues, newest first, told apart by number, month and first title
		`<tr id="issue-56">`, `state-failed`, `no broadcast quota left`,
		`<tr id="issue-55">`, `No.55 · 2021.05 · `, `state-scheduled`, `due 2021-05-24 09:00 CST`, `href="/admin/issues/55/preview"`,
		`<tr id="issue-54">`, `sent 2021-05-17 09:00 CST`, `All times in Asia/Shanghai (UTC&#43;08:00)`,
		// schedule: next slot and the scheduled issue, in Asia/Shanghai
		`Next broadcast slot: 2021-05-24 09:00 CST`, `<td data-label="When">2021-05-24 09:00 CST</td>`,
		// broadcasts with WeChat's counts; the article links say which article
		`SEND_SUCCESS`, `data-label="Total">1200</td>`, `data-label="After filtering">1180</td>`, `data-label="Sent OK">1175</td>`, `data-label="Errors">5</td>`,
		`rel="noreferrer">article 1</a>`,
		// campaigns: expo2026 gained o1, o2 (o2 left); footer gained o3 (o1 already followed)
		`<tr id="scene-expo2026">`, `data-label="Followers gained">2</td><td class="num" data-label="Still following">1</td><td class="num" data-label="Scanned">2</td>`,
		`<tr id="scene-footer">`, `data-label="Followers gained">1</td><td class="num" data-label="Still following">1</td><td class="num" data-label="Scanned">2</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if i, j := strings.Index(body, `issue-56`), strings.Index(body, `issue-54`); i > j {
		t.Error("issues are not newest first")
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "src=\"http") {
		t.Error("the dashboard loads or runs something")
	}
	// Chinese by default, with the same figures.
	if _, zh := bearer(t, e, "/admin"); !strings.Contains(zh, "下一个发送时段：2021-05-24 09:00 CST") || !strings.Contains(zh, "已安排") {
		t.Error("the default page is not in Chinese")
	}

	// Redis away: the archive part still shows, the rest says why.
	pipe.err = context.DeadlineExceeded
	if code, body := bearer(t, e, "/admin?lang=en"); code != 200 || !strings.Contains(body, "The pipeline state cannot be read now") || !strings.Contains(body, `issue-55`) {
		t.Fatalf("pipeline error: %d", code)
	}
}

func TestPreview(t *testing.T) {
	// No.54 has a draft in the pipeline; No.55 only the archive.
	iss54, _, _ := newsletter.Parse("newsletter-no54.md", mustRead(t, "newsletter-no54.md"))
	drafted := &render.Draft{Articles: []render.Article{{Title: "立方周报 No.54 定稿", Author: "编辑部", Content: "<p>drafted body</p>"}}}
	pipe := &memPipeline{drafts: map[int]*render.Draft{54: drafted}, issues: map[int]*newsletter.Issue{54: iss54}}
	e := newEnv(t, pipe)

	code, body := bearer(t, e, "/admin/issues/54/preview?lang=en")
	if code != 200 || !strings.Contains(body, "立方周报 No.54 定稿") || !strings.Contains(body, "drafted body") || !strings.Contains(body, "Exactly as drafted") {
		t.Fatalf("drafted preview: %d %s", code, body)
	}

	code, body = bearer(t, e, "/admin/issues/55/preview?lang=en")
	if code != 200 || !strings.Contains(body, "Not drafted yet") || !strings.Contains(body, "width:375px") {
		t.Fatalf("archive preview: %d", code)
	}
	iss55, _ := e.arch.Get(55)
	for _, s := range iss55.Sections {
		for _, it := range s.Items {
			for _, title := range []string{it.TitleZH, it.TitleEN} {
				if !strings.Contains(body, htmlEscape(title)) {
					t.Errorf("preview lacks item title %q", title)
				}
			}
		}
	}

	for path, want := range map[string]int{
		"/admin/issues/99/preview":  404,
		"/admin/issues/0/preview":   404,
		"/admin/issues/x/preview":   404,
		"/admin/issues/-1/preview":  404,
		"/admin/issues/55/previewx": 404,
	} {
		if code, _ := bearer(t, e, path); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := examples.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
