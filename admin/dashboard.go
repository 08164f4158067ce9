package admin

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/lifang/wxbot/subscribers"
)

// row is one issue on the dashboard: from the archive, the pipeline or both.
type row struct {
	Number   int
	Heading  string // No.N · date · first article title
	Items    int
	InArch   bool
	Status   *Status
	State    string // in page words
	When     string // "sent …" or "due …", in the configured zone
	Problem  string // a failed issue's reason; not shown once cancelled
	Approval string
}

type broadcast struct {
	Status
	When     string
	Heading  string
	Articles []int // 1-based, one link each
}

type scheduled struct {
	Number  int
	Heading string
	Due     string
}

type campaignRow struct {
	subscribers.SceneStats
	Code  string // permanent / expires …
	Image bool   // the code can be drawn (its URL is recorded)
}

type dashboardData struct {
	base
	Problem    string
	Problems   []problem
	Flash      string
	Rows       []row
	Pipeline   bool
	Workflow   bool
	PipeErr    bool
	NextSlot   string
	Schedule   []scheduled
	Broadcasts []broadcast
	Campaigns  []campaignRow
	Camp       bool
	CampErr    bool
	Inbox      []InboxFile
	InboxBad   []InboxProblem
	InboxErr   bool
	MaxUpload  string
}

// maxBroadcasts is how many past broadcasts the dashboard lists.
const maxBroadcasts = 10

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	h.dashboardWith(w, r, http.StatusOK, "", nil)
}

// dashboardWith shows the front page, with a problem at the top (an upload
// refused, a file that does not parse with its lines).
func (h *Handler) dashboardWith(w http.ResponseWriter, r *http.Request, status int, problemText string, problems []problem) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	now := h.o.Now()
	d := dashboardData{base: h.base(r), Problem: problemText, Problems: problems, Workflow: h.o.Workflow != nil, MaxUpload: sizeWords(MaxUploadBytes)}
	lang := d.Lang
	if c := r.URL.Query().Get("created"); c != "" && sceneRe.MatchString(c) {
		d.Flash = say(lang, "camp.created", "detail", c)
	}
	byNum := map[int]*row{}
	for _, iss := range h.o.Issues.All() {
		items := 0
		for _, s := range iss.Sections {
			items += len(s.Items)
		}
		byNum[iss.Number] = &row{Number: iss.Number, Heading: heading(iss.Number, iss, nil), Items: items, InArch: true}
	}
	if h.o.Pipeline != nil {
		h.addPipeline(ctx, r, &d, byNum, now)
	}
	for _, rw := range byNum {
		d.Rows = append(d.Rows, *rw)
	}
	slices.SortFunc(d.Rows, func(a, b row) int { return cmp.Compare(b.Number, a.Number) })
	if h.o.Workflow != nil {
		h.addInbox(ctx, &d)
	}
	if h.o.Campaigns != nil {
		h.addCampaigns(ctx, r, &d)
	}
	h.pageStatus(w, r, status, "dashboard", d)
}

// addPipeline adds the pipeline's statuses to the dashboard: each issue's
// row (byNum, by number), the schedule and the latest broadcasts.
func (h *Handler) addPipeline(ctx context.Context, r *http.Request, d *dashboardData, byNum map[int]*row, now time.Time) {
	lang := d.Lang
	d.Pipeline = true
	d.NextSlot = h.fmt(h.o.Pipeline.NextSlot(now))
	sts, err := h.o.Pipeline.Statuses(ctx)
	if err != nil {
		// Redis may be away: the archive part still shows, from memory.
		d.PipeErr = true
		h.o.Log.ErrorContext(r.Context(), "admin: pipeline status", slog.Any("error", err))
	}
	for i := range sts {
		s := sts[i]
		rw := byNum[s.Number]
		if rw == nil {
			rw = &row{Number: s.Number}
			byNum[s.Number] = rw
		}
		iss, _ := h.o.Issues.Get(s.Number)
		rw.Heading = heading(s.Number, iss, &s)
		rw.Status = &s
		rw.State = stateWord(lang, s.State)
		rw.When = h.when(lang, &s)
		if s.State == "failed" && s.Explanation != "" {
			rw.Problem = s.Explanation
		}
		if s.State == "scheduled" && !s.Due.IsZero() {
			d.Schedule = append(d.Schedule, scheduled{Number: s.Number, Heading: rw.Heading, Due: h.fmt(s.Due)})
		}
		if !s.SentAt.IsZero() {
			b := broadcast{Status: s, When: h.fmt(s.SentAt), Heading: rw.Heading}
			for i := range s.URLs {
				b.Articles = append(b.Articles, i+1)
			}
			d.Broadcasts = append(d.Broadcasts, b)
		}
	}
	slices.SortFunc(d.Schedule, func(a, b scheduled) int { return cmp.Compare(a.Due, b.Due) })
	slices.SortFunc(d.Broadcasts, func(a, b broadcast) int { return b.SentAt.Compare(a.SentAt) })
	if len(d.Broadcasts) > maxBroadcasts {
		d.Broadcasts = d.Broadcasts[:maxBroadcasts]
	}
}

// addInbox adds the inbox's files and the files that cannot be published.
func (h *Handler) addInbox(ctx context.Context, d *dashboardData) {
	files, err := h.o.Workflow.InboxFiles(ctx)
	if err != nil {
		d.InboxErr = true
		h.o.Log.WarnContext(ctx, "admin: inbox files", slog.Any("error", err))
	}
	d.Inbox = files
	bad, err := h.o.Workflow.InboxProblems(ctx)
	if err != nil {
		d.InboxErr = true
		h.o.Log.WarnContext(ctx, "admin: inbox problems", slog.Any("error", err))
	}
	d.InboxBad = bad
}

// addCampaigns adds the QR campaigns and their counts.
func (h *Handler) addCampaigns(ctx context.Context, r *http.Request, d *dashboardData) {
	lang := d.Lang
	d.Camp = true
	st, err := h.o.Campaigns.Stats(ctx)
	if err != nil {
		d.CampErr = true
		h.o.Log.ErrorContext(r.Context(), "admin: campaign stats", slog.Any("error", err))
	}
	for _, s := range st {
		c := campaignRow{SceneStats: s}
		if s.Campaign != nil {
			c.Image = s.Campaign.URL != ""
			if s.Campaign.Permanent {
				c.Code = say(lang, "permanent")
			} else {
				c.Code = say(lang, "expires", "when", h.fmt(s.Campaign.Expires))
			}
		}
		d.Campaigns = append(d.Campaigns, c)
	}
}

// fmtZone is a time with its zone's abbreviation.
func (h *Handler) fmtZone(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(h.o.Location).Format("2006-01-02 15:04 MST")
}
