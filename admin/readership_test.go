package admin

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/readership"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixedReport is a collector's report held in memory: the collector
// itself is exercised over the sandbox by readership's tests.
type fixedReport struct{ rep *readership.Report }

func (f fixedReport) Report(context.Context, int, int) (*readership.Report, error) { return f.rep, nil }

func (f fixedReport) Issue(_ context.Context, n int) (*readership.IssueFigures, string, error) {
	for i := range f.rep.Issues {
		if f.rep.Issues[i].Number == n {
			return &f.rep.Issues[i], f.rep.Yesterday, nil
		}
	}
	return nil, f.rep.Yesterday, nil
}

// failingReport is a collector whose store is away.
type failingReport struct{ fixedReport }

func (failingReport) Issue(context.Context, int) (*readership.IssueFigures, string, error) {
	return nil, "", errors.New("redis: connection refused")
}

func sampleReport() *readership.Report {
	return &readership.Report{
		Yesterday: "2021-05-19",
		Issues: []readership.IssueFigures{
			{Number: 55, SentDate: "2021-05-14", SentCount: 800, Day1: 300, Day3: 420, Day7: 0, Total: 450, Shares: 31, PerFollower: 0.5625, HasFigures: true, ReadsByDay: []int{300, 390, 420, 440, 450, 450}},
			{Number: 54, SentDate: "2021-05-07", SentCount: 790, Day1: 250, Day3: 330, Day7: 360, Total: 360, Shares: 20, PerFollower: 0.4557, HasFigures: true, ReadsByDay: []int{250, 300, 330, 345, 352, 358, 360}},
		},
		Followers: []readership.FollowerDay{
			{Date: "2021-05-17", Total: 790, New: 6, Lost: 2},
			{Date: "2021-05-18", Total: 801, New: 14, Lost: 3},
			{Date: "2021-05-19", Total: 800, New: 1, Lost: 2},
		},
		Topics:   []readership.TopicCount{{Section: "国内要闻", Followers: 120}, {Section: "海外动态", Followers: 45}},
		TopicsAt: &topicsAt,
	}
}

var topicsAt = time.Date(2021, 5, 20, 8, 5, 0, 0, time.FixedZone("CST", 8*3600))

func TestReadershipPage(t *testing.T) {
	e := newEnv(t, nil, func(o *Options) { o.Readership = fixedReport{sampleReport()} })
	code, body := bearer(t, e, "/admin/readership")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if n := strings.Count(body, "<svg"); n != 4 {
		t.Errorf("%d charts, want 4", n)
	}
	if n := strings.Count(body, `<rect class="bar"`); n != 2 {
		t.Errorf("%d bars, want one per issue (2)", n)
	}
	if n := strings.Count(body, "<polyline"); n != 2+1+2 {
		t.Errorf("%d lines, want 5 (two issues, followers, gained and lost)", n)
	}
	for _, bad := range []string{"<script", "http://", "https://", "style=\""} {
		if strings.Contains(body, bad) {
			t.Errorf("page holds %q: the CSP allows no scripts or external assets", bad)
		}
	}
	for _, want := range []string{"No.55", "450", "0.56", `id="issue-54"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	golden := filepath.Join("testdata", "readership.golden.html")
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./admin -run TestReadershipPage -update)", err)
	}
	if string(want) != body {
		t.Errorf("page differs from %s (go test ./admin -run TestReadershipPage -update, then review the diff)", golden)
	}
	// The dashboard links to it; without a collector the page says why.
	if _, body := bearer(t, e, "/admin"); !strings.Contains(body, `href="/admin/readership"`) {
		t.Error("dashboard has no link to the readership page")
	}
	e2 := newEnv(t, nil)
	if code, body := bearer(t, e2, "/admin/readership"); code != 200 || !strings.Contains(body, "no readership figures") {
		t.Errorf("without a collector: %d %s", code, body)
	}
}

// offReport is a collector with readership.enabled: false.
type offReport struct{ fixedReport }

func (offReport) Enabled() bool { return false }

func TestReadershipPageSaysCollectionIsOff(t *testing.T) {
	e := newEnv(t, nil, func(o *Options) { o.Readership = offReport{fixedReport{sampleReport()}} })
	code, body := bearer(t, e, "/admin/readership")
	if code != 200 || !strings.Contains(body, `id="off"`) || !strings.Contains(body, "readership.enabled: false") {
		t.Fatalf("collection off: %d, the page does not say so", code)
	}
	if !strings.Contains(body, `id="issue-55"`) {
		t.Error("the figures collected before are not shown")
	}
	// An enabled collector's page has no such note.
	e2 := newEnv(t, nil, func(o *Options) { o.Readership = fixedReport{sampleReport()} })
	if _, body := bearer(t, e2, "/admin/readership"); strings.Contains(body, `id="off"`) {
		t.Error("the page says collection is off while it is on")
	}
}

// figuresOf is the issue page's line of WeChat's figures, or "".
func figuresOf(body string) string {
	i := strings.Index(body, `<p id="wxbot-figures"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</p>")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j+len("</p>")]
}

func TestIssuePageShowsItsFigures(t *testing.T) {
	rep := sampleReport()
	// No.55 is in the archive the tests load; its figures as in the report.
	e := newEnv(t, nil, func(o *Options) { o.Readership = fixedReport{rep} })
	code, body := bearer(t, e, "/admin/issues/55/preview")
	if code != 200 {
		t.Fatalf("preview: %d", code)
	}
	line := figuresOf(body)
	// Reached 800, day 1 300, day 3 420, day 7 not yet (6 days in), 450 read, 31 shares, 0.56 per follower.
	for _, want := range []string{"No.55", "up to 2021-05-19", "reached <b>800</b>", "day 1 <b>300</b>", "day 3 <b>420</b>", "day 7 <b>…</b>",
		"total <b>450</b>", "shares <b>31</b>", "<b>0.56</b> reads per follower reached", `href="/admin/readership#issue-55"`} {
		if !strings.Contains(line, want) {
			t.Errorf("figures line lacks %q: %s", want, line)
		}
	}
	golden := filepath.Join("testdata", "issue-figures.golden.html")
	if *update {
		if err := os.WriteFile(golden, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./admin -run TestIssuePageShowsItsFigures -update)", err)
	}
	if string(want) != line+"\n" {
		t.Errorf("figures line differs from %s:\n%s", golden, line)
	}
	if i, j := strings.Index(body, `id="wxbot-source"`), strings.Index(body, `id="wxbot-figures"`); i < 0 || j < i {
		t.Error("the figures are not under the banner")
	}

	// Sent, no figures from WeChat yet: the page says so.
	rep.Issues[0].HasFigures, rep.Issues[0].ReadsByDay = false, nil
	if _, body := bearer(t, e, "/admin/issues/55/preview"); !strings.Contains(figuresOf(body), "WeChat has no figures for it yet (up to 2021-05-19") {
		t.Errorf("no figures yet: %s", figuresOf(body))
	}
	// Not broadcast, no collector: no line; the store away: the page still shows, saying why.
	rep.Issues = rep.Issues[1:]
	if _, body := bearer(t, e, "/admin/issues/55/preview?lang=en"); figuresOf(body) != "" || !strings.Contains(body, "Not drafted yet") {
		t.Errorf("not broadcast: figures %q", figuresOf(body))
	}
	if _, body := bearer(t, newEnv(t, nil), "/admin/issues/55/preview"); figuresOf(body) != "" {
		t.Errorf("no collector: figures %q", figuresOf(body))
	}
	e3 := newEnv(t, nil, func(o *Options) { o.Readership = failingReport{fixedReport{sampleReport()}} })
	if code, body := bearer(t, e3, "/admin/issues/55/preview"); code != 200 || !strings.Contains(figuresOf(body), "figures unavailable: redis: connection refused") {
		t.Errorf("store away: %d %q", code, figuresOf(body))
	}
}

func TestNiceMaxAndEmptyCharts(t *testing.T) {
	for in, want := range map[int]int{0: 1, 1: 1, 7: 10, 12: 20, 450: 500, 501: 1000, 2000: 2000} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", in, got, want)
		}
	}
	r, w, f, c := charts(&readership.Report{})
	if !r.Empty || !w.Empty || !f.Empty || !c.Empty {
		t.Error("an empty report draws charts")
	}
}
