package admin

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// skipBrowserEnv lets a developer without Chromium skip the browser test.
// CI never sets it: there a missing Chromium fails the test.
const skipBrowserEnv = "WXBOT_SKIP_BROWSER_TEST"

// artifactsEnv names a folder where the screenshot is kept after the test
// (the repository's artifacts/ folder is ignored by git); without it the
// screenshot goes to the test's temporary folder.
const artifactsEnv = "WXBOT_TEST_ARTIFACTS"

func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv(skipBrowserEnv) != "" {
		t.Skipf("%s is set", skipBrowserEnv)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no chromium in PATH: install it (apt-get install -y chromium; .ci/run does) or set %s=1 to skip", skipBrowserEnv)
	return ""
}

// TestPreviewInChromium opens an issue's preview as the editor does — the
// link, which leads to the login form, the token typed there — in headless
// Chromium, and checks what a person would look at: every article frame is
// 375 px wide and nothing inside it sticks out, every item title of the
// issue is on the page, and no token is in the address bar. It saves a
// full-page screenshot, then logs out and finds the pages closed again.
func TestPreviewInChromium(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t, &memPipeline{statuses: []Status{
		{Number: 55, State: "scheduled", Due: time.Date(2021, 5, 24, 1, 0, 0, 0, time.UTC)},
		{Number: 54, State: "finished", SentAt: time.Date(2021, 5, 17, 1, 0, 3, 0, time.UTC), MsgID: 1000000001,
			MassStatus: "SEND_SUCCESS", TotalCount: 1200, FilterCount: 1180, SentCount: 1175, ErrorCount: 5},
	}})
	iss, ok := e.arch.Get(54)
	if !ok {
		t.Fatal("No.54 not in the archive")
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1024, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	type frame struct {
		Width    float64 `json:"width"`
		Overflow float64 `json:"overflow"`
	}
	start := e.srv.URL + "/admin/issues/54/preview"
	if err := chromedp.Do(bctx,
		chromedp.Navigate(start),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
		chromedp.SendKeys(chromedp.CSS("#token"), testToken),
		chromedp.Submit(chromedp.CSS("form#login")),
		chromedp.WaitVisible(chromedp.CSS("article.phone")),
	); err != nil {
		t.Fatalf("chromium: log in and open the preview: %v", err)
	}
	location, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	frames, err := chromedp.Run(bctx, chromedp.Evaluate[[]frame](`Array.from(document.querySelectorAll("article.phone")).map(p => {
		const r = p.getBoundingClientRect();
		let over = 0;
		for (const el of p.querySelectorAll("*")) {
			const b = el.getBoundingClientRect();
			if (b.width === 0 && b.height === 0) continue;
			over = Math.max(over, b.right - r.right, r.left - b.left);
		}
		return {width: r.width, overflow: over};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		t.Fatal(err)
	}

	if strings.Contains(location, "token") || !strings.HasSuffix(location, "/admin/issues/54/preview") {
		t.Errorf("address bar after the login: %s", location)
	}
	if len(frames) == 0 {
		t.Fatal("no article frame on the page")
	}
	for i, f := range frames {
		if f.Width != 375 {
			t.Errorf("article %d is %.1f px wide, want 375", i+1, f.Width)
		}
		if f.Overflow > 0.5 {
			t.Errorf("article %d: content sticks out of the phone frame by %.1f px", i+1, f.Overflow)
		}
	}
	flat := strings.Join(strings.Fields(text), " ")
	items := 0
	for _, s := range iss.Sections {
		for _, it := range s.Items {
			items++
			for _, title := range []string{it.TitleZH, it.TitleEN} {
				if title != "" && !strings.Contains(flat, strings.Join(strings.Fields(title), " ")) {
					t.Errorf("item title not shown: %q", title)
				}
			}
		}
	}
	if items == 0 {
		t.Fatal("No.54 has no items to look for")
	}

	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 375 || b.Dy() < 600 {
		t.Errorf("screenshot is %dx%d", b.Dx(), b.Dy())
	}
	// The dashboard, with the session cookie the login set.
	if err := chromedp.Do(bctx, chromedp.Navigate(e.srv.URL+"/admin"), chromedp.WaitVisible(chromedp.CSS("#issues"))); err != nil {
		t.Fatalf("chromium: open the dashboard: %v", err)
	}
	dash, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"已安排", "已送达", "SEND_SUCCESS", "1175", "expo2026", "下一个发送时段"} {
		if !strings.Contains(dash, want) {
			t.Errorf("dashboard as shown lacks %q", want)
		}
	}
	dashShot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}

	// Log out: back at the form, and the dashboard is closed again.
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS("form#logout button")),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
		chromedp.Navigate(e.srv.URL+"/admin"),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
	); err != nil {
		t.Fatalf("chromium: log out: %v", err)
	}
	if after, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`)); err != nil || strings.Contains(after, "SEND_SUCCESS") {
		t.Fatalf("after logout the dashboard still shows (%v)", err)
	}

	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "admin-preview-no54.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin-dashboard.png"), dashShot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s (%d frames, %d items)", dir, len(frames), items)
}
