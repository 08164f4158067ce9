package admin

import (
	"archive/zip"
	"bytes"
	"context"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/subscribers"
)

// memWorkflow is the publisher's actions held in memory, recording each
// call with who made it; the real publisher behind the adapter is driven
// by cmd/wxbot's workbench test.
type memWorkflow struct {
	mu      sync.Mutex
	calls   []string // "approve 55 lin"
	uploads []string // the file names handed over
	pipe    *memPipeline
	refuse  map[string]*Refusal // action → refusal
	slots   []Slot
}

func (m *memWorkflow) record(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, s)
}

func (m *memWorkflow) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

func (m *memWorkflow) Upload(_ context.Context, file string, data []byte, by string) (*Outcome, error) {
	iss, _, err := newsletter.Parse(file, data)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.uploads = append(m.uploads, file)
	m.mu.Unlock()
	m.record("upload " + file + " " + by)
	m.pipe.statuses = append(m.pipe.statuses, Status{Number: iss.Number, State: "drafted", Title: firstTitle(iss),
		History: []Event{{State: "drafted", At: time.Now(), By: by, Action: "uploaded"}}})
	return &Outcome{Number: iss.Number, Steps: []Step{{Kind: "rendered", Count: 2}, {Kind: "previewed", IDs: []string{"oReviewer"}}}}, nil
}
func (m *memWorkflow) InboxFiles(context.Context) ([]InboxFile, error) {
	return []InboxFile{{Name: "no60.md"}}, nil
}
func (m *memWorkflow) FromInbox(_ context.Context, file, by string) (*Outcome, error) {
	m.record("inbox " + file + " " + by)
	return &Outcome{Number: 55}, nil
}
func (m *memWorkflow) InboxProblems(context.Context) ([]InboxProblem, error) {
	return []InboxProblem{{File: "no61.md", Error: "no61.md:3: the masthead has no issue number <b>", At: time.Now()}}, nil
}
func (m *memWorkflow) do(act string, n int, by string, extra ...string) error {
	m.record(strings.Join(append([]string{act, strconv.Itoa(n), by}, extra...), " "))
	if r := m.refuse[act]; r != nil {
		return r
	}
	return nil
}
func (m *memWorkflow) Approve(_ context.Context, n int, by string) error {
	return m.do("approve", n, by)
}
func (m *memWorkflow) Reject(_ context.Context, n int, by, reason string) error {
	return m.do("reject", n, by, reason)
}
func (m *memWorkflow) Schedule(_ context.Context, n int, at time.Time, by string) (time.Time, error) {
	return at, m.do("schedule", n, by, at.UTC().Format(time.RFC3339))
}
func (m *memWorkflow) SendNow(_ context.Context, n int, by string) error { return m.do("send", n, by) }
func (m *memWorkflow) Cancel(_ context.Context, n int, by string) error  { return m.do("cancel", n, by) }
func (m *memWorkflow) Retract(_ context.Context, n, article int, by string) error {
	return m.do("retract", n, by, strconv.Itoa(article))
}
func (m *memWorkflow) SendPreview(_ context.Context, n int, to []Reviewer, by string) error {
	var ids []string
	for _, r := range to {
		ids = append(ids, r.OpenID+"/"+r.WeChatID)
	}
	return m.do("preview", n, by, ids...)
}
func (m *memWorkflow) Slots(context.Context, time.Time, int) ([]Slot, error) { return m.slots, nil }

const (
	linPassword  = "lin-password-0001"
	wangPassword = "wang-password-0002"
)

var (
	hashOnce   sync.Once
	testHashes map[string]string
)

func users(t *testing.T) map[string]string {
	hashOnce.Do(func() {
		testHashes = map[string]string{}
		for name, pw := range map[string]string{"lin": linPassword, "wang": wangPassword} {
			h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			testHashes[name] = string(h)
		}
	})
	return testHashes
}

// wbEnv is the pages with named users and a workflow in memory.
func wbEnv(t *testing.T, tweaks ...func(*Options)) (*env, *memWorkflow) {
	t.Helper()
	pipe := &memPipeline{statuses: []Status{
		{Number: 55, State: "awaiting_approval", Due: time.Date(2021, 5, 24, 1, 0, 0, 0, time.UTC),
			History: []Event{{State: "drafted", At: time.Date(2021, 5, 19, 2, 0, 0, 0, time.UTC), By: "lin", Action: "uploaded"},
				{State: "awaiting_approval", At: time.Date(2021, 5, 19, 2, 5, 0, 0, time.UTC), By: "lin", Action: "scheduled"}}},
		{Number: 53, State: "cancelled", Due: time.Date(2021, 5, 10, 1, 0, 0, 0, time.UTC), Explanation: "an old error",
			ApprovedBy: "wang", ApprovedAt: time.Date(2021, 5, 9, 1, 0, 0, 0, time.UTC), RetractedBy: "lin", RetractedAt: time.Date(2021, 5, 11, 1, 0, 0, 0, time.UTC)},
	}}
	wf := &memWorkflow{pipe: pipe, refuse: map[string]*Refusal{}, slots: []Slot{
		{At: time.Date(2021, 5, 20, 10, 0, 0, 0, time.UTC), QuotaUsed: true, Sent: 1, Max: 1},
		{At: time.Date(2021, 5, 21, 1, 0, 0, 0, time.UTC), Sent: 0, Max: 1},
	}}
	tw := append([]func(*Options){func(o *Options) { o.Users = users(t); o.Workflow = wf }}, tweaks...)
	return newEnv(t, pipe, tw...), wf
}

// loginAs logs a named user in and returns the session cookie and the
// pages' CSRF token.
func loginAs(t *testing.T, e *env, name, password string) (*http.Cookie, string) {
	t.Helper()
	csrf, c := formCookie(t, e, nil)
	form := url.Values{"user": {name}, "password": {password}, "csrf": {csrf}, "next": {"/admin"}}
	req, _ := http.NewRequest("POST", e.srv.URL+LoginPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(c)
	resp, body := do(t, req)
	sc := cookieNamed(resp, CookieName)
	if resp.StatusCode != http.StatusSeeOther || sc == nil {
		t.Fatalf("login as %s: %d %s", name, resp.StatusCode, body)
	}
	_, page := getWith(t, e, "/admin", sc)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf on the dashboard for %s", name)
	}
	return sc, m[1]
}

func postForm(t *testing.T, e *env, path string, c *http.Cookie, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if c != nil {
		req.AddCookie(c)
	}
	return do(t, req)
}

func postFile(t *testing.T, e *env, c *http.Cookie, csrf, filename string, data []byte) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if csrf != "" {
		_ = mw.WriteField("csrf", csrf)
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/upload?lang=en", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(c)
	return do(t, req)
}

// TestNamedUsersLogin: each editor logs in with their name and password;
// a wrong password and an unknown name get the same answer; admin.token
// is still the user admin; the session names the user.
func TestNamedUsersLogin(t *testing.T) {
	e, _ := wbEnv(t)
	c, _ := loginAs(t, e, "lin", linPassword)
	if _, body := getWith(t, e, "/admin?lang=en", c); !strings.Contains(body, "Logged in as lin") {
		t.Fatal("the page does not name the user")
	}
	c2, _ := loginAs(t, e, "WANG ", wangPassword) // names are not case-sensitive
	if _, body := getWith(t, e, "/admin?lang=en", c2); !strings.Contains(body, "Logged in as wang") {
		t.Fatal("wang's page does not name wang")
	}
	ca, _ := loginAs(t, e, "admin", testToken)
	if _, body := getWith(t, e, "/admin?lang=en", ca); !strings.Contains(body, "Logged in as admin") {
		t.Fatal("the token is not the user admin")
	}
	var bodies []string
	for _, try := range [][2]string{{"lin", wangPassword}, {"nobody", linPassword}, {"admin", linPassword}, {"lin", ""}} {
		csrf, fc := formCookie(t, e, nil)
		resp, body := postForm(t, e, LoginPath, fc, url.Values{"user": {try[0]}, "password": {try[1]}, "csrf": {csrf}, "lang": {"en"}})
		if resp.StatusCode != http.StatusUnauthorized || cookieNamed(resp, CookieName) != nil {
			t.Fatalf("%s with a wrong password: %d", try[0], resp.StatusCode)
		}
		i := strings.Index(body, `id="problem">`)
		if i < 0 {
			t.Fatalf("%s: no problem shown", try[0])
		}
		bodies = append(bodies, body[i:i+60])
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("answers differ (user enumeration): %q vs %q", bodies[0], b)
		}
	}
	if !strings.Contains(bodies[0], "Wrong name or password.") {
		t.Errorf("answer %q", bodies[0])
	}
}

// TestNamedUserLockout: five wrong passwords lock the address out, even
// for the right password afterwards; the lock is per client, not per name.
func TestNamedUserLockout(t *testing.T) {
	e, _ := wbEnv(t, func(o *Options) { o.Limiter.Window = 2 * time.Second })
	for i := 1; i <= DefaultMaxFailures; i++ {
		csrf, fc := formCookie(t, e, nil)
		resp, _ := postForm(t, e, LoginPath, fc, url.Values{"user": {"lin"}, "password": {"guess" + strconv.Itoa(i)}, "csrf": {csrf}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	csrf, fc := formCookie(t, e, nil)
	resp, _ := postForm(t, e, LoginPath, fc, url.Values{"user": {"lin"}, "password": {linPassword}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || cookieNamed(resp, CookieName) != nil {
		t.Fatalf("right password while locked out: %d", resp.StatusCode)
	}
	time.Sleep(2100 * time.Millisecond)
	loginAs(t, e, "lin", linPassword)
}

// TestFormsNeedCSRF: every form of the workbench is refused with 403
// without the session's token, with another session's, or from another
// origin; nothing reaches the workflow.
func TestFormsNeedCSRF(t *testing.T) {
	e, wf := wbEnv(t)
	c, csrf := loginAs(t, e, "lin", linPassword)
	_, other := loginAs(t, e, "wang", wangPassword)
	forms := map[string]url.Values{
		"/admin/issues/55/approve":  {},
		"/admin/issues/55/reject":   {"reason": {"typo"}},
		"/admin/issues/55/schedule": {"at": {"2021-05-24T09:00"}},
		"/admin/issues/55/send":     {"confirm": {"yes"}},
		"/admin/issues/55/cancel":   {},
		"/admin/issues/55/retract":  {"article": {"0"}},
		"/admin/issues/55/preview":  {"to": {"oReviewer0000000000000000001"}},
		"/admin/inbox":              {"file": {"no60.md"}},
		"/admin/campaigns":          {"scene": {"expo"}, "days": {"3"}},
		"/admin/logout":             {},
	}
	for path, f := range forms {
		for name, tok := range map[string]string{"missing": "", "wrong": strings.Repeat("0", 64), "another session's": other} {
			g := url.Values{}
			for k, v := range f {
				g[k] = v
			}
			if tok != "" {
				g.Set("csrf", tok)
			}
			resp, body := postForm(t, e, path, c, g)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s with the %s token: %d %s", path, name, resp.StatusCode, body)
			}
		}
		// The token in the address instead of the body is not taken.
		if resp, _ := postForm(t, e, path+"?csrf="+csrf, c, f); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s with the token in the address: %d", path, resp.StatusCode)
		}
		// From another site, even with the right token.
		g := url.Values{"csrf": {csrf}}
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(g.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.AddCookie(c)
		if resp, _ := do(t, req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s cross-site: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := postFile(t, e, c, "", "no60.md", mustRead(t, "newsletter-no55.md")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload without the token: %d", resp.StatusCode)
	}
	if resp, _ := postFile(t, e, c, other, "no60.md", mustRead(t, "newsletter-no55.md")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload with another session's token: %d", resp.StatusCode)
	}
	if calls := wf.Calls(); len(calls) != 0 {
		t.Fatalf("refused forms reached the workflow: %v", calls)
	}
	// With the token each works, recorded with who.
	resp, _ := postForm(t, e, "/admin/issues/55/cancel", c, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/issues/55?done=cancel" {
		t.Fatalf("cancel with the token: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if calls := wf.Calls(); len(calls) != 1 || calls[0] != "cancel 55 lin" {
		t.Fatalf("calls %v", calls)
	}
}

// TestExpiredSessionForms: after the session ends, a form is refused
// (401) and a page leads to the login; nothing is done.
func TestExpiredSessionForms(t *testing.T) {
	e, wf := wbEnv(t, func(o *Options) {
		o.Sessions = NewSessionStore(o.Sessions.rdb, o.Sessions.keys, time.Second)
	})
	c, csrf := loginAs(t, e, "lin", linPassword)
	time.Sleep(1200 * time.Millisecond)
	resp, _ := postForm(t, e, "/admin/issues/55/approve", c, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("approve with an expired session: %d", resp.StatusCode)
	}
	if resp, _ := postFile(t, e, c, csrf, "no60.md", mustRead(t, "newsletter-no55.md")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upload with an expired session: %d", resp.StatusCode)
	}
	if resp, _ := getWith(t, e, "/admin/issues/55", c); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), LoginPath) {
		t.Fatalf("issue page with an expired session: %d", resp.StatusCode)
	}
	if calls := wf.Calls(); len(calls) != 0 {
		t.Fatalf("an expired session reached the workflow: %v", calls)
	}
}

// TestHostileUploads: too big, HTML in the title, odd and path-like names
// (a FIFO's path among them), a zip bomb disguised as .docx, a file that
// does not parse: each answered cleanly, none opened by its name.
func TestHostileUploads(t *testing.T) {
	e, wf := wbEnv(t)
	c, csrf := loginAs(t, e, "lin", linPassword)
	good := mustRead(t, "newsletter-no55.md")

	// Too big: refused by the size cap with the limit in words.
	resp, body := postFile(t, e, c, csrf, "big.md", bytes.Repeat([]byte("x"), MaxUploadBytes+1))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "The file is too big: at most 20 MB.") {
		t.Fatalf("too big: %d %s", resp.StatusCode, body)
	}

	// HTML in a title is shown as text.
	hostile := bytes.Replace(good, []byte("No.55"), []byte("No.57"), 1)
	first := firstTitleOf(t, good)
	hostile = bytes.ReplaceAll(hostile, []byte(first), []byte(first+`<script>alert(1)</script><img src=x onerror=alert(2)>`))
	resp, body = postFile(t, e, c, csrf, "no57.md", hostile)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("hostile title: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("the title is not escaped:\n%s", body)
	}
	if _, dash := getWith(t, e, "/admin", c); strings.Contains(dash, "<script>alert") || !strings.Contains(dash, "&lt;script&gt;") {
		t.Fatal("the dashboard does not escape the title")
	}

	// Names: only a clean base name reaches the workflow; a FIFO's path
	// is never opened (this would block).
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.md")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]string{
		fifo:                             "fifo.md",
		"../../etc/passwd.md":            "passwd.md",
		`..\..\windows\evil.md`:          "evil.md",
		`a"b<i>|x:y*.md`:                 "a_b_i__x_y_.md",
		"....md":                         "upload.md",
		"周报 第55期.MD":                     "周报 第55期.md",
		"/dev/stdin.markdown":            "stdin.md",
		strings.Repeat("长", 300) + ".md": strings.Repeat("长", 80) + ".md",
	} {
		before := len(wf.uploads)
		data := bytes.Replace(good, []byte("No.55"), []byte("No.58"), 1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		done := make(chan struct{})
		go func() { defer close(done); resp, _ = postFile(t, e, c, csrf, raw, data) }()
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatalf("upload named %q hangs", raw)
		}
		cancel()
		if resp.StatusCode != http.StatusOK || len(wf.uploads) != before+1 || wf.uploads[before] != want {
			t.Errorf("upload named %q: %d, handed over as %v, want %q", raw, resp.StatusCode, wf.uploads[before:], want)
		}
	}
	for _, raw := range []string{"fifo", "issue.exe", "no55.md.sh", "", "a\x00b\r\n<i>.md"} {
		resp, _ := postFile(t, e, c, csrf, raw, good)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("upload named %q: %d, want refused", raw, resp.StatusCode)
		}
	}

	// A zip bomb named .docx: a small file whose document inflates past
	// every limit; refused as a file that cannot be read, nothing handed over.
	bomb := zipBomb(t)
	before := len(wf.uploads)
	start := time.Now()
	resp, body = postFile(t, e, c, csrf, "no59.docx", bomb)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="parse-errors"`) || len(wf.uploads) != before {
		t.Fatalf("zip bomb (%d bytes): %d, %d uploads\n%s", len(bomb), resp.StatusCode, len(wf.uploads)-before, body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the zip bomb took %s", d)
	}

	// A broken issue: its lines and what to fix, nothing handed over.
	broken := bytes.Replace(good, []byte("No.55"), []byte("No."), 1)
	resp, body = postFile(t, e, c, csrf, "no60.md", broken)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "The file does not parse") || !strings.Contains(body, "<b>line ") || len(wf.uploads) != before {
		t.Fatalf("broken issue: %d\n%s", resp.StatusCode, body)
	}
}

func firstTitleOf(t *testing.T, data []byte) string {
	t.Helper()
	iss, _, err := newsletter.Parse("x.md", data)
	if err != nil {
		t.Fatal(err)
	}
	return firstTitle(iss)
}

// zipBomb is a .docx-shaped zip whose word/document.xml inflates to 40 MB.
func zipBomb(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "word/document.xml"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		chunk := bytes.Repeat([]byte("<w:p/>"), 1<<16)
		for i := 0; i < (40<<20)/len(chunk); i++ {
			_, _ = w.Write(chunk)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestIssuePage: the issue told apart by number, month and first title;
// the next slots with the quota warning; the history with who did what;
// a cancelled issue without its old due time and error; the actions
// recorded with the user; a refusal in page words; four eyes on approval.
func TestIssuePage(t *testing.T) {
	e, wf := wbEnv(t)
	lin, linCSRF := loginAs(t, e, "lin", linPassword)
	wang, wangCSRF := loginAs(t, e, "wang", wangPassword)
	_, body := getWith(t, e, "/admin/issues/55?lang=en", wang)
	for _, want := range []string{
		`<h1 id="heading">No.55 · 2021.05 · `, `awaiting approval`, `due 2021-05-24 09:00 CST`,
		`the day&#39;s quota is used (1/1): it will be deferred`, `class="warn slot-used">2021-05-20 18:00 CST`,
		`<td class="by">lin</td><td><b>uploaded</b> → drafted</td>`,
		`value="2021-05-20T18:00"`, `action="/admin/issues/55/approve"`, `name="csrf" value="` + wangCSRF + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("issue page lacks %q", want)
		}
	}
	_, body = getWith(t, e, "/admin/issues/53?lang=en", wang)
	if !strings.Contains(body, "approved by wang on 2021-05-09 09:00 CST") || !strings.Contains(body, "retracted by lin on 2021-05-11 09:00 CST") {
		t.Errorf("the approval or retraction is not shown")
	}
	if strings.Contains(body, "due 2021-05-10") || strings.Contains(body, "an old error") || !strings.Contains(body, "cancelled") {
		t.Errorf("the cancelled issue shows its old due time or error")
	}
	_, dash := getWith(t, e, "/admin?lang=en", wang)
	if strings.Contains(dash, "an old error") || strings.Contains(dash, "due 2021-05-10") {
		t.Errorf("the dashboard shows the cancelled issue's old due time or error")
	}
	for _, want := range []string{"no61.md", "the masthead has no issue number &lt;b&gt;", `<option value="no60.md">`} {
		if !strings.Contains(dash, want) {
			t.Errorf("dashboard lacks %q (inbox)", want)
		}
	}

	// lin uploaded No.55: lin may not approve it; wang may.
	resp, body := postForm(t, e, "/admin/issues/55/approve?lang=en", lin, url.Values{"csrf": {linCSRF}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "a colleague approves it, not the uploader") {
		t.Fatalf("self-approval: %d", resp.StatusCode)
	}
	resp, _ = postForm(t, e, "/admin/issues/55/approve", wang, url.Values{"csrf": {wangCSRF}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("wang approves: %d", resp.StatusCode)
	}
	steps := []struct {
		path string
		form url.Values
		want string
	}{
		{"schedule", url.Values{"at": {"2021-05-24T09:30"}}, "schedule 55 wang 2021-05-24T01:30:00Z"},
		{"schedule", url.Values{"at": {""}}, "schedule 55 wang 0001-01-01T00:00:00Z"},
		{"send", url.Values{"confirm": {"yes"}}, "send 55 wang"},
		{"retract", url.Values{"article": {"2"}}, "retract 55 wang 2"},
		{"reject", url.Values{"reason": {"<b>typo</b> in item 2"}}, "reject 55 wang <b>typo</b> in item 2"},
		{"preview", url.Values{"to": {"oAbCdEfGhIjKlMnOpQrStUvWxYz1\nwxid_editor, lin-wechat"}}, "preview 55 wang oAbCdEfGhIjKlMnOpQrStUvWxYz1/ /wxid_editor /lin-wechat"},
	}
	for _, s := range steps {
		s.form.Set("csrf", wangCSRF)
		resp, body := postForm(t, e, "/admin/issues/55/"+s.path, wang, s.form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %d %s", s.path, resp.StatusCode, body)
			continue
		}
		calls := wf.Calls()
		if got := calls[len(calls)-1]; got != s.want {
			t.Errorf("%s: workflow got %q, want %q", s.path, got, s.want)
		}
	}
	// Bad input is refused before the workflow.
	n := len(wf.Calls())
	for path, f := range map[string]url.Values{
		"send":     {},                   // not confirmed
		"reject":   {"reason": {"  "}},   // no reason
		"schedule": {"at": {"tomorrow"}}, // not a time
		"retract":  {"article": {"-1"}},  // no such article
		"preview":  {"to": {"<script>"}}, // not an id
		"approve/": {},                   // no such action
	} {
		f.Set("csrf", wangCSRF)
		if resp, _ := postForm(t, e, "/admin/issues/55/"+path, wang, f); resp.StatusCode < 400 {
			t.Errorf("%s with bad input: %d", path, resp.StatusCode)
		}
	}
	if len(wf.Calls()) != n {
		t.Errorf("bad input reached the workflow: %v", wf.Calls()[n:])
	}
	// A refusal in words, not the publisher's sentence.
	wf.refuse["cancel"] = &Refusal{Reason: "already_broadcast", Number: 55, State: "sent", When: time.Date(2021, 5, 24, 1, 0, 0, 0, time.UTC)}
	resp, body = postForm(t, e, "/admin/issues/55/cancel?lang=en", wang, url.Values{"csrf": {wangCSRF}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "No.55 was broadcast on 2021-05-24 09:00 CST (sent)") {
		t.Errorf("refusal: %d", resp.StatusCode)
	}
	resp, body = postForm(t, e, "/admin/issues/55/cancel", wang, url.Values{"csrf": {wangCSRF}})
	if !strings.Contains(body, "第 55 期已于 2021-05-24 09:00 CST 群发（已发送）") {
		t.Errorf("refusal in Chinese: %d", resp.StatusCode)
	}
}

// TestWordsComplete: every word has both languages, and every refusal
// reason and step kind the pages may get has words.
func TestWordsComplete(t *testing.T) {
	for k, w := range words {
		if w[0] == "" || w[1] == "" {
			t.Errorf("%s lacks a language", k)
		}
		if strings.Contains(w[0]+w[1], "wxbot ") && !strings.HasPrefix(k, "app") && !strings.HasPrefix(k, "login") {
			t.Errorf("%s names a command: %q", k, w)
		}
	}
	for _, st := range []string{"parsed", "rendered", "uploaded", "drafted", "previewed", "awaiting_approval", "scheduled", "sending", "sent", "finished", "failed", "cancelled", "retracted", "rejected"} {
		if _, ok := words["state."+st]; !ok {
			t.Errorf("no words for state %s", st)
		}
	}
	// The publisher's typed results, every one worded here.
	for _, r := range publisher.RefusalReasons {
		if _, ok := words["refuse."+string(r)]; !ok {
			t.Errorf("no words for the refusal %s", r)
		}
	}
	for _, k := range publisher.StepKinds {
		if _, ok := words["step."+string(k)]; !ok {
			t.Errorf("no words for the step %s", k)
		}
	}
	for _, a := range []string{publisher.ActionUploaded, publisher.ActionApproved, publisher.ActionRejected, publisher.ActionScheduled,
		publisher.ActionSendNow, publisher.ActionCancelled, publisher.ActionSent, publisher.ActionRetracted, publisher.ActionPreview} {
		if _, ok := words["action."+a]; !ok {
			t.Errorf("no words for the action %s", a)
		}
	}
}

// TestCampaignCodes: a recorded campaign's code is drawn on the page and
// downloadable as PNG; an unknown scene is 404; creating one asks WeChat
// (none here: the page says it could not), bad input is refused first.
func TestCampaignCodes(t *testing.T) {
	e, _ := wbEnv(t)
	ctx := context.Background()
	if err := e.subs.RecordCampaign(ctx, subscribers.Campaign{Scene: "expo2026", URL: "http://weixin.qq.com/q/02abc", Expires: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	c, csrf := loginAs(t, e, "lin", linPassword)
	_, dash := getWith(t, e, "/admin?lang=en", c)
	if !strings.Contains(dash, `<img class="qr" src="/admin/campaigns/expo2026.png"`) || !strings.Contains(dash, `href="/admin/campaigns/expo2026.png?download=1"`) ||
		!strings.Contains(dash, "expires 2021-06-01 08:00 CST") {
		t.Fatal("the campaign's code is not on the page")
	}
	resp, body := getWith(t, e, "/admin/campaigns/expo2026.png?download=1", c)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="qrcode-expo2026.png"`) {
		t.Fatalf("PNG: %d %v", resp.StatusCode, resp.Header)
	}
	if img, err := png.Decode(strings.NewReader(body)); err != nil || img.Bounds().Dx() != 430 {
		t.Fatalf("not a 430 px PNG: %v", err)
	}
	for _, path := range []string{"/admin/campaigns/footer.png", "/admin/campaigns/expo2026", "/admin/campaigns/..%2Fx.png"} {
		if resp, _ := getWith(t, e, path, c); resp.StatusCode != 404 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	if resp, body := postForm(t, e, "/admin/campaigns?lang=en", c, url.Values{"csrf": {csrf}, "scene": {"<b>"}, "days": {"3"}}); resp.StatusCode != 400 || !strings.Contains(body, "A scene is 1 to 64") {
		t.Errorf("bad scene: %d", resp.StatusCode)
	}
	if resp, body := postForm(t, e, "/admin/campaigns?lang=en", c, url.Values{"csrf": {csrf}, "scene": {"spring"}, "days": {"3"}}); resp.StatusCode != 502 || !strings.Contains(body, "WeChat could not make the code") {
		t.Errorf("create without WeChat: %d", resp.StatusCode)
	}
}

// TestPreviewImageSources: the sandbox's http image address is allowed by
// the header and by the preview's own <meta> policy; nothing else is.
func TestPreviewImageSources(t *testing.T) {
	if previewImgDirective() == "" {
		t.Fatal("render.PreviewCSP has no img-src directive")
	}
	e := newEnv(t, nil, func(o *Options) {
		o.ImageSources = []string{"http://127.0.0.1:9/x", "javascript:alert(1)", "http://a b;c"}
	})
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin/issues/55/preview", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, body := do(t, req)
	want := "img-src 'self' https: data: http://127.0.0.1:9;"
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), want) || !strings.Contains(body, want) {
		t.Fatalf("%d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	if strings.Contains(body, "javascript") || strings.Contains(resp.Header.Get("Content-Security-Policy"), "a b") {
		t.Fatal("a bad image source got into the policy")
	}
}

// TestUploadFromElsewhere: a cross-site upload is refused before its
// body is read, even with the right token.
func TestUploadFromElsewhere(t *testing.T) {
	e, wf := wbEnv(t)
	c, csrf := loginAs(t, e, "lin", linPassword)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("csrf", csrf)
	fw, _ := mw.CreateFormFile("file", "no55.md")
	_, _ = fw.Write(mustRead(t, "newsletter-no55.md"))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/upload", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(c)
	if resp, _ := do(t, req); resp.StatusCode != http.StatusForbidden || len(wf.Calls()) != 0 {
		t.Fatalf("cross-site upload: %d, %v", resp.StatusCode, wf.Calls())
	}
}
