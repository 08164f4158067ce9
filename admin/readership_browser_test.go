package admin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestReadershipInChromium opens /admin/readership at a phone's width in
// headless Chromium, after logging in through the form: four charts are
// drawn, each within the screen, and the issues' figures are shown. The
// screenshot is kept as admin-readership.png (WXBOT_TEST_ARTIFACTS).
func TestReadershipInChromium(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t, nil, func(o *Options) { o.Readership = fixedReport{sampleReport()} })
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(390, 844),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx,
		chromedp.Navigate(e.srv.URL+"/admin/readership"),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
		chromedp.SendKeys(chromedp.CSS("#token"), testToken),
		chromedp.Submit(chromedp.CSS("form#login")),
		chromedp.WaitVisible(chromedp.CSS("svg.chart")),
	); err != nil {
		t.Fatalf("chromium: log in and open the readership page: %v", err)
	}
	type box struct {
		Width float64 `json:"width"`
		Right float64 `json:"right"`
		Vw    float64 `json:"vw"`
		Bars  int     `json:"bars"`
		Lines int     `json:"lines"`
	}
	boxes, err := chromedp.Run(bctx, chromedp.Evaluate[[]box](`Array.from(document.querySelectorAll("svg.chart")).map(s => {
		const r = s.getBoundingClientRect();
		return {width: r.width, right: r.right, vw: document.documentElement.clientWidth,
			bars: s.querySelectorAll("rect.bar").length, lines: s.querySelectorAll("polyline").length};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 4 {
		t.Fatalf("%d charts shown, want 4", len(boxes))
	}
	for i, b := range boxes {
		if b.Width < 200 || b.Right > b.Vw+0.5 {
			t.Errorf("chart %d: %.0f px wide, right edge %.0f of %.0f", i+1, b.Width, b.Right, b.Vw)
		}
	}
	if boxes[0].Bars != 2 || boxes[1].Lines != 2 {
		t.Errorf("charts: %+v", boxes)
	}
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No.55", "450", "Readers per issue", "Followers"} {
		if !strings.Contains(text, want) {
			t.Errorf("page as shown lacks %q", want)
		}
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin-readership.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
