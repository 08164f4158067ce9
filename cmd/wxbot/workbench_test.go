package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// TestWorkbenchInChromium is the editor's day in headless Chromium at a
// phone's width (390 px), against serve with its real publisher over a
// sandbox WeChat: lin logs in, uploads a Word issue and a broken Markdown
// one (sees its line), fixes it, previews with the images, sends a
// preview, may not approve her own issue; wang approves it, schedules it
// into a day whose quota is used (warned), cancels, reschedules, sends it
// and retracts it; the history shows both. Every page fits 390 px.
// Screenshots go to docs/img/workbench-*.png with WXBOT_SCREENSHOTS=1,
// else to $WXBOT_ARTIFACTS (or the test's temporary folder).
func TestWorkbenchInChromium(t *testing.T) {
	exe := chromiumPath(t)
	rs := redistest.Start(t)
	sb := sandboxtest.Start(t, sandbox.Options{})
	env := pipelineEnv(sb, rs.Addr)
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	inbox := t.TempDir()
	// An inbox file that does not parse: listed on the front page.
	writeIssueIn(t, inbox, "no70-draft.md", []byte("# 立方网络安全与数据合规周报\n\nNo.\n"))
	// And one that does, to pick from the page.
	writeIssueIn(t, inbox, "no57.md", renumberTest(exampleIssue(t, "newsletter-no54.md"), 54, 57))
	for k, v := range map[string]string{
		"WXBOT_ADMIN_TOKEN":           "workbenchAdminToken-0001",
		"WXBOT_ADMIN_USERS":           "lin:" + hash("lin-password-01") + ",wang:" + hash("wang-password-02"),
		"WXBOT_PUBLISH_APPROVAL":      "required",
		"WXBOT_PUBLISH_APPROVERS":     "oApprover1",
		"WXBOT_PUBLISH_SCHEDULE":      "0 9 * * *",
		"WXBOT_PUBLISH_MAX_PER_DAY":   "1",
		"WXBOT_PUBLISH_TIMEZONE":      "Asia/Shanghai",
		"WXBOT_PUBLISH_POLL_INTERVAL": "200ms",
		"WXBOT_NEWSLETTER_INBOX":      inbox,
	} {
		env[k] = v
	}
	m, logs := startMainLogged(t, env, slog.LevelWarn, false)
	base := "http://" + m.Addr()
	pub := m.Publisher
	if pub == nil {
		t.Fatal("serve runs no publisher")
	}
	loc := pub.Location()

	// A day whose quota is used: the first slot that is not today's gets
	// its day's broadcast counted (as after a send that day from another
	// replica), so scheduling there is warned while today's send goes out.
	ctx := context.Background()
	slots, err := pub.Slots(ctx, time.Now(), 4)
	if err != nil || len(slots) < 3 {
		t.Fatalf("slots: %v %v", slots, err)
	}
	today := time.Now().In(loc).Format(time.DateOnly)
	var used, free time.Time
	for _, s := range slots {
		day := s.At.In(loc).Format(time.DateOnly)
		switch {
		case day == today:
		case used.IsZero():
			used = s.At
			if err := m.Store.Set(ctx, m.Store.Keys.PublishSent(day), 1, 48*time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		case free.IsZero():
			free = s.At
		}
	}
	localValue := func(t time.Time) string { return t.In(loc).Format("2006-01-02T15:04") }

	shotDir := os.Getenv("WXBOT_ARTIFACTS")
	if os.Getenv("WXBOT_SCREENSHOTS") == "1" {
		shotDir = filepath.Join("..", "..", "docs", "img")
	}
	if shotDir == "" {
		shotDir = t.TempDir()
	}
	if err := os.MkdirAll(shotDir, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(390, 844),
	}
	tctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(tctx, opts...)
	defer acancel()
	lin, lcancel := chromedp.NewContext(actx)
	defer lcancel()
	// A phone's screen: 390 CSS px wide (headless windows are wider).
	if err := chromedp.Do(lin, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// wang: the same browser, another profile (own cookies); its first
	// run has no timeout, which would end the tab.
	wang, wcancel := chromedp.NewContext(lin, chromedp.WithNewBrowserContext())
	defer wcancel()
	if err := chromedp.Do(wang, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatalf("a second browser profile: %v", err)
	}

	step := func(who context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(who, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			page, _ := chromedp.Run(who, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: %v\npage: %s\n%s", what, err, page, logs.String())
		}
	}
	text := func(who context.Context) string {
		t.Helper()
		s, err := chromedp.Run(who, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// fits checks nothing sticks out at 390 px: no horizontal scrolling
	// and no element wider than the page.
	fits := func(who context.Context, page string) {
		t.Helper()
		over, err := chromedp.Run(who, chromedp.Evaluate[float64](`(() => {
			const w = document.documentElement.clientWidth;
			let over = document.documentElement.scrollWidth - w;
			for (const el of document.querySelectorAll("body *")) {
				const b = el.getBoundingClientRect();
				if (b.width === 0 && b.height === 0) continue;
				over = Math.max(over, b.right - w, -b.left);
			}
			return over;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if w, _ := chromedp.Run(who, chromedp.Evaluate[float64](`document.documentElement.clientWidth`)); w != 390 {
			t.Fatalf("%s: the page is %.0f px wide, not a phone's 390", page, w)
		}
		if over > 0.5 {
			t.Errorf("%s: content sticks out of the 390 px screen by %.1f px", page, over)
		}
	}
	shots := 0
	shot := func(who context.Context, name string) {
		t.Helper()
		b, err := chromedp.Run(who, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() < 380 {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shotDir, "workbench-"+name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		shots++
	}
	must := func(s, want, where string) {
		t.Helper()
		if !strings.Contains(s, want) {
			t.Fatalf("%s: %q not shown:\n%s", where, want, s)
		}
	}
	issuePage := func(who context.Context, n int) string {
		t.Helper()
		step(who, fmt.Sprintf("open No.%d", n), chromedp.Navigate(fmt.Sprintf("%s/admin/issues/%d", base, n)), chromedp.WaitVisible(chromedp.CSS("#heading")))
		return text(who)
	}
	// submit fills a form, clicks its button and waits for the page it
	// leads to; it returns the page's text.
	submit := func(who context.Context, what, button string, fill ...chromedp.Action[chromedp.Void]) string {
		t.Helper()
		if len(fill) > 0 {
			step(who, what+": fill in", fill...)
		}
		c, cancel := context.WithTimeout(who, 60*time.Second)
		defer cancel()
		if _, err := chromedp.RunResponse(c, chromedp.Click(chromedp.CSS(button))); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, logs.String())
		}
		return text(who)
	}
	post := func(who context.Context, what, form string, fill ...chromedp.Action[chromedp.Void]) string {
		t.Helper()
		return submit(who, what, form+" button[type=submit]", fill...)
	}

	login := func(who context.Context, name, password string) {
		t.Helper()
		step(who, name+" logs in",
			chromedp.Navigate(base+"/admin"),
			chromedp.WaitVisible(chromedp.CSS("form#login")),
			chromedp.SendKeys(chromedp.CSS("#user"), name),
			chromedp.SendKeys(chromedp.CSS("#token"), password),
		)
		if name == "lin" {
			shot(who, "login")
		}
		submit(who, name+" submits the login", "form#login button[type=submit]")
		step(who, name+" sees the workbench", chromedp.WaitVisible(chromedp.CSS("#issues")))
	}
	// lin: log in, see the inbox file that does not parse.
	login(lin, "lin", "lin-password-01")
	dash := text(lin)
	must(dash, "no70-draft.md", "the front page's inbox problems")
	must(dash, "Asia/Shanghai", "the front page's zone")

	// A Word issue with a picture: drafted, its picture uploaded.
	docx, err := filepath.Abs(filepath.Join("..", "..", "newsletter", "testdata", "word", "newsletter-no55.docx"))
	if err != nil {
		t.Fatal(err)
	}
	page := submit(lin, "upload the Word issue", "form#upload button[type=submit]", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{docx}))
	must(page, "No.55", "after the upload")
	must(page, "第 55 期已上传", "after the upload")
	fits(lin, "the uploaded issue")
	shot(lin, "uploaded")

	// A broken Markdown issue: its line and what to fix; then fixed.
	dir := t.TempDir()
	good := renumberTest(exampleIssue(t, "newsletter-no54.md"), 54, 56)
	broken := writeIssueIn(t, dir, "no56.md", bytes.Replace(good, []byte("No.56"), []byte("No."), 1))
	step(lin, "back to the front page", chromedp.Navigate(base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#upload")))
	page = submit(lin, "upload the broken issue", "form#upload button[type=submit]", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{broken}))
	must(page, "文件无法解析", "the broken upload")
	must(page, "第 ", "the broken upload's line")
	fits(lin, "the parse errors")
	shot(lin, "parse-error")
	fixed := writeIssueIn(t, dir, "no56-fixed.md", good)
	must(submit(lin, "upload the fixed issue", "form#upload button[type=submit]", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{fixed})),
		"第 56 期已上传", "the fixed upload")

	// Pick the good inbox file: drafted like an upload.
	step(lin, "back to the front page", chromedp.Navigate(base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#inbox")))
	must(submit(lin, "draft the inbox file", "form#inbox button[type=submit]", chromedp.SetValue(chromedp.CSS("#inbox select"), "no57.md")),
		"第 57 期已上传", "the inbox pick")

	// The preview of No.55 as drafted: its picture and the cover load.
	step(lin, "open the preview", chromedp.Navigate(base+"/admin/issues/55/preview"), chromedp.WaitVisible(chromedp.CSS("article.phone")))
	var images struct {
		N, Loaded int
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		images, err = chromedp.Run(lin, chromedp.Evaluate[struct{ N, Loaded int }](`({N: document.images.length,
			Loaded: Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length})`))
		if err != nil {
			t.Fatal(err)
		}
		if images.N > 0 && images.Loaded == images.N || time.Now().After(deadline) {
			break
		}
	}
	if images.N < 2 || images.Loaded != images.N {
		t.Errorf("preview: %d of %d images loaded (want the cover and the article's picture)", images.Loaded, images.N)
	}
	shot(lin, "preview")

	// A preview to reviewers' phones: an openid and a WeChat ID.
	issuePage(lin, 55)
	page = post(lin, "send a preview", "#act-preview", chromedp.SendKeys(chromedp.CSS("#to"), "oReviewer000000000000000001A\nwxid_editor1"))
	must(page, "预览已发送", "the preview")
	if n := len(sb.Snapshot().Previews); n < 2 {
		t.Errorf("%d previews in the sandbox, want 2 or more", n)
	}
	// lin uploaded No.55: her approval is refused.
	page = post(lin, "lin approves her own issue", "#act-approve")
	must(page, "须由另一位同事批准", "self-approval")
	shot(lin, "issue")

	// wang approves, schedules into the day whose quota is used: warned.
	login(wang, "wang", "wang-password-02")
	issuePage(wang, 55)
	page = post(wang, "wang approves", "#act-approve")
	must(page, "已批准", "the approval")
	issuePage(wang, 55)
	page = post(wang, "schedule into the used day", "#act-schedule", chromedp.SetValue(chromedp.CSS("#at"), localValue(used)))
	must(page, "当日群发额度已用完", "the quota warning")
	fits(wang, "the issue page")
	shot(wang, "quota-warning")

	// Cancel: no due time left; reschedule on a free day; send now; retract.
	page = post(wang, "cancel", "#act-cancel")
	must(page, "已取消", "the cancel")
	if strings.Contains(page, "定于 ") {
		t.Errorf("the cancelled issue still shows a due time:\n%s", page)
	}
	page = post(wang, "reschedule", "#act-schedule", chromedp.SetValue(chromedp.CSS("#at"), localValue(free)))
	must(page, "已安排", "the reschedule")
	if strings.Contains(page, "当日群发额度已用完（") && strings.Contains(page, "注意：") {
		t.Errorf("the free day is warned:\n%s", page)
	}
	page = post(wang, "send now", "#act-send", chromedp.Click(chromedp.CSS("#act-send input[name=confirm]")))
	must(page, "已请求立即发送", "the send")
	waitPub(t, 15*time.Second, "the broadcast", func() bool { return len(sb.MassSends()) > 0 })
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		page = issuePage(wang, 55)
		if strings.Contains(page, "已送达") || strings.Contains(page, "已发送") || time.Now().After(deadline) {
			break
		}
	}
	page = post(wang, "retract", "#act-retract")
	must(page, "已撤回", "the retraction")
	if n := len(sb.MassSends()); n != 1 {
		t.Errorf("%d mass sends, want 1", n)
	}

	// The history names both editors and what each did.
	page = issuePage(wang, 55)
	step(wang, "scroll to the history", chromedp.ScrollIntoView(chromedp.CSS("#history")))
	hist, err := chromedp.Run(wang, chromedp.Evaluate[string](`document.querySelector("#history-table").innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lin", "wang", "上传", "发送预览", "批准", "安排发送", "取消", "立即发送", "撤回"} {
		must(hist, want, "the history")
	}
	shot(wang, "history")

	// The front page in English at phone width: the schedule, broadcasts
	// with WeChat's counts, nothing cut off.
	step(wang, "the front page in English", chromedp.Navigate(base+"/admin?lang=en"), chromedp.WaitVisible(chromedp.CSS("#issues")))
	dash = text(wang)
	must(dash, "Last broadcasts", "the English front page")
	must(dash, "No.55 · ", "the issue's heading")
	fits(wang, "the front page")
	shot(wang, "dashboard")
	t.Logf("%d screenshots in %s", shots, shotDir)
}

// chromiumPath finds Chromium; WXBOT_SKIP_BROWSER_TEST=1 skips instead.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("WXBOT_SKIP_BROWSER_TEST") != "" {
		t.Skip("WXBOT_SKIP_BROWSER_TEST is set")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium in PATH: install it (apt-get install -y chromium) or set WXBOT_SKIP_BROWSER_TEST=1")
	return ""
}

// TestInboxPickingIsSafe: the inbox list holds regular issue files only
// (no FIFO, symlink or hidden file); picking a FIFO, a symlink out of the
// inbox or a path answers at once with an error, nothing read.
func TestInboxPickingIsSafe(t *testing.T) {
	inbox, outside := t.TempDir(), t.TempDir()
	writeIssueIn(t, inbox, "no60.md", []byte("x"))
	writeIssueIn(t, inbox, ".no61.md", []byte("x"))
	writeIssueIn(t, outside, "secret.md", []byte("secret"))
	if err := syscall.Mkfifo(filepath.Join(inbox, "fifo.md"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(inbox, "link.md")); err != nil {
		t.Fatal(err)
	}
	p := &pipelinePages{inbox: inbox}
	files, err := p.InboxFiles(context.Background())
	if err != nil || len(files) != 1 || files[0].Name != "no60.md" {
		t.Fatalf("inbox files %v %v", files, err)
	}
	for _, name := range []string{"fifo.md", "link.md", "../" + filepath.Base(outside) + "/secret.md", filepath.Join(outside, "secret.md")} {
		done := make(chan error, 1)
		go func() { _, err := p.FromInbox(context.Background(), name, "lin"); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("FromInbox(%q) read it", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("FromInbox(%q) hangs", name)
		}
	}
}
