package admin

// The readership page (/admin/readership): WeChat's figures for the last
// issues and the followers, as server-rendered SVG. No script runs and
// nothing is loaded: the charts are inline <svg> elements drawn here from
// the numbers, so the page passes the pages' CSP unchanged.

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lifang/wxbot/readership"
)

// Readership reports WeChat's figures (*readership.Collector).
type Readership interface {
	Report(ctx context.Context, n, days int) (*readership.Report, error)
	// Issue is one issue's figures and the last day WeChat has figures
	// for; nil when the issue was not broadcast.
	Issue(ctx context.Context, number int) (*readership.IssueFigures, string, error)
}

// issueFigures is the line of WeChat's figures the issue page (the
// preview) shows above the articles: inline styles like its banner, as
// the preview's CSP allows them and it has no stylesheet of ours.
var issueFigures = template.Must(template.New("figures").Parse(`<p id="wxbot-figures" style="max-width:375px;margin:0 auto 12px;font-size:12px;color:#333;line-height:1.6">
{{- if .Err}}WeChat's figures unavailable: {{.Err}}
{{- else if not .F.HasFigures}}No.{{.F.Number}}: WeChat has no figures for it yet (up to {{.Until}}, Beijing).
{{- else}}No.{{.F.Number}}, WeChat's figures up to {{.Until}} (Beijing): reached <b>{{.F.SentCount}}</b> · read day 1 <b>{{.F.Day1}}</b> · day 3 <b>{{if lt (len .F.ReadsByDay) 3}}…{{else}}{{.F.Day3}}{{end}}</b> · day 7 <b>{{if lt (len .F.ReadsByDay) 7}}…{{else}}{{.F.Day7}}{{end}}</b> · total <b>{{.F.Total}}</b> · shares <b>{{.F.Shares}}</b> · <b>{{if .F.SentCount}}{{printf "%.2f" .F.PerFollower}}{{else}}-{{end}}</b> reads per follower reached · <a href="/admin/readership#issue-{{.F.Number}}" style="color:#576b95">all issues</a>
{{- end}}</p>`))

// figuresLine is issue n's figures as HTML for the preview, or "" when
// there is no collector or the issue was not broadcast.
func (h *Handler) figuresLine(ctx context.Context, n int) string {
	if h.o.Readership == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	fig, until, err := h.o.Readership.Issue(ctx, n)
	d := struct {
		F     *readership.IssueFigures
		Until string
		Err   string
	}{F: fig, Until: until}
	if err != nil {
		h.o.Log.ErrorContext(ctx, "admin: issue figures", slog.Int("issue", n), slog.Any("error", err))
		d.Err = err.Error()
	} else if fig == nil {
		return ""
	}
	var b strings.Builder
	if err := issueFigures.Execute(&b, d); err != nil {
		h.o.Log.ErrorContext(ctx, "admin: issue figures", slog.Any("error", err))
		return ""
	}
	return b.String()
}

// Chart geometry, in SVG user units; the SVG scales to the phone's width.
const (
	chartW, chartH = 600, 220
	padL, padR     = 44, 10
	padT, padB     = 10, 34
)

// Bar is one bar with its label.
type Bar struct {
	X, Y, W, H float64
	Label      string // under the bar
	Value      int
	LabelX     float64
	Anchor     string // text-anchor of the label: middle, or start/end at the edges
}

// Line is a polyline series.
type Line struct {
	Name   string
	Points string // "x,y x,y …"
	Class  string
	LastX  float64
	LastY  float64
}

// Tick is a y-axis gridline.
type Tick struct {
	Y     float64
	Label string
}

// Chart is one chart ready for the template.
type Chart struct {
	Title  string
	W, H   int
	Bars   []Bar
	Lines  []Line
	Ticks  []Tick
	XLabel []Bar // labels only (X, Label)
	Empty  bool
}

type readershipData struct {
	Now       string
	Until     string
	Missing   int
	Err       string
	Off       string // collection is off (readership.enabled: false)
	Reads     Chart
	FirstWeek Chart
	Followers Chart
	Changes   Chart
	Report    *readership.Report
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v int) int {
	if v <= 0 {
		return 1
	}
	p := 1
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func ticks(lo, hi int) []Tick {
	var out []Tick
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*i/4
		out = append(out, Tick{Y: yOf(v, lo, hi), Label: strconv.Itoa(v)})
	}
	return out
}

func yOf(v, lo, hi int) float64 {
	if hi <= lo {
		return chartH - padB
	}
	return padT + (chartH-padT-padB)*(1-float64(v-lo)/float64(hi-lo))
}

// barChart draws one bar per value.
func barChart(title string, labels []string, values []int) Chart {
	c := Chart{Title: title, W: chartW, H: chartH, Empty: len(values) == 0}
	maxV := 0
	for _, v := range values {
		maxV = max(maxV, v)
	}
	top := niceMax(maxV)
	c.Ticks = ticks(0, top)
	if len(values) == 0 {
		return c
	}
	slot := float64(chartW-padL-padR) / float64(len(values))
	for i, v := range values {
		y := yOf(v, 0, top)
		x := padL + slot*float64(i) + slot*0.15
		c.Bars = append(c.Bars, Bar{X: x, Y: y, W: slot * 0.7, H: chartH - padB - y, Label: labels[i], Value: v, LabelX: x + slot*0.35, Anchor: "middle"})
	}
	return c
}

// lineChart draws each series over the same x positions (len(xlabels)).
func lineChart(title string, xlabels []string, names []string, series [][]int, zeroBased bool) Chart {
	c := Chart{Title: title, W: chartW, H: chartH}
	lo, hi, any := 0, 0, false
	for _, s := range series {
		for _, v := range s {
			if !any {
				lo, hi, any = v, v, true
			}
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	c.Empty = !any
	if zeroBased || lo < 0 {
		lo = min(lo, 0)
	} else {
		// Followers: a scale around the figures, so a change shows.
		span := niceMax(max(hi-lo, 4))
		lo = max(0, lo-span/4)
		hi = lo + span + span/2
	}
	if zeroBased {
		hi = niceMax(hi)
	}
	c.Ticks = ticks(lo, hi)
	n := len(xlabels)
	step := float64(chartW - padL - padR)
	if n > 1 {
		step /= float64(n - 1)
	}
	xOf := func(i int) float64 { return padL + step*float64(i) }
	every := max(1, n/8)
	for i, l := range xlabels {
		if i%every == 0 || i == n-1 {
			anchor := "middle"
			switch {
			case i == 0:
				anchor = "start"
			case i == n-1:
				anchor = "end"
			}
			c.XLabel = append(c.XLabel, Bar{LabelX: xOf(i), Label: l, Anchor: anchor})
		}
	}
	for k, s := range series {
		var pts []string
		l := Line{Name: names[k], Class: "s" + strconv.Itoa(k%6)}
		for i, v := range s {
			x, y := xOf(i), yOf(v, lo, hi)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			l.LastX, l.LastY = x, y
		}
		l.Points = strings.Join(pts, " ")
		if len(pts) > 0 {
			c.Lines = append(c.Lines, l)
		}
	}
	return c
}

// charts turns a report into the page's four charts.
func charts(rep *readership.Report) (reads, week, followers, changes Chart) {
	// Reads per issue, oldest left.
	var labels []string
	var values []int
	for i := len(rep.Issues) - 1; i >= 0; i-- {
		is := rep.Issues[i]
		labels = append(labels, "No."+strconv.Itoa(is.Number))
		values = append(values, is.Total)
	}
	reads = barChart("Readers per issue", labels, values)

	days := []string{"day 1", "day 2", "day 3", "day 4", "day 5", "day 6", "day 7"}
	var names []string
	var series [][]int
	for i := 0; i < len(rep.Issues) && i < 5; i++ {
		is := rep.Issues[i]
		if len(is.ReadsByDay) == 0 {
			continue
		}
		names = append(names, "No."+strconv.Itoa(is.Number))
		s := is.ReadsByDay
		if len(s) > 7 {
			s = s[:7]
		}
		series = append(series, s)
	}
	week = lineChart("Readers over the first seven days (cumulative)", days, names, series, true)

	var dates []string
	var total, gained, lost []int
	for _, f := range rep.Followers {
		label := f.Date
		if len(label) == len("2006-01-02") {
			label = label[5:] // MM-DD
		}
		dates = append(dates, label)
		total = append(total, f.Total)
		gained = append(gained, f.New)
		lost = append(lost, f.Lost)
	}
	followers = lineChart("Followers", dates, []string{"followers"}, [][]int{total}, false)
	changes = lineChart("Followers gained and lost per day", dates, []string{"gained", "lost"}, [][]int{gained, lost}, true)
	return
}

func (h *Handler) readershipPage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	d := readershipData{Now: h.fmt(h.o.Now())}
	if e, ok := h.o.Readership.(interface{ Enabled() bool }); ok && !e.Enabled() {
		d.Off = "Collection is off (readership.enabled: false): no new figures are fetched; those below were collected before."
	}
	if h.o.Readership == nil {
		d.Err = "no readership figures in this process (WeChat credentials are not configured)"
	} else if rep, err := h.o.Readership.Report(ctx, 12, 30); err != nil {
		d.Err = "figures unavailable: " + err.Error()
		h.o.Log.ErrorContext(r.Context(), "admin: readership", slog.Any("error", err))
	} else {
		d.Report, d.Until, d.Missing = rep, rep.Yesterday, len(rep.Missing)
		d.Reads, d.FirstWeek, d.Followers, d.Changes = charts(rep)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := templates.ExecuteTemplate(w, "readership", d); err != nil {
		h.o.Log.ErrorContext(r.Context(), "admin: readership page", slog.Any("error", err))
	}
}
