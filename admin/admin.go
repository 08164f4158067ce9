// Package admin serves the editor's pages on `wxbot serve`: /admin lists
// the issues with where each stands in the publishing pipeline, the
// schedule, the last broadcasts with WeChat's counts and the QR campaigns
// with the followers they brought; /admin/issues/{n}/preview shows an issue's
// articles exactly as drafted, at phone width. The pages are plain
// server-rendered HTML that load nothing from elsewhere, behind admin.token.
// The package declares the small interfaces it reads through; cmd/wxbot
// adapts the archive, the publisher and the subscriber service to them.
package admin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/subscribers"
)

// Issues is the archive of parsed issues the chat answers from.
// *archive.Archive implements it.
type Issues interface {
	All() []*newsletter.Issue
	Get(n int) (*newsletter.Issue, bool)
}

// Status is where one issue stands in the publishing pipeline.
type Status struct {
	Number      int
	State       string // parsed … finished, failed, cancelled
	Goal        string
	Mode        string
	File        string
	Articles    int
	Due         time.Time // when it is (or was) to be sent
	SentAt      time.Time
	FinishedAt  time.Time
	Updated     time.Time
	MsgID       int64
	MassStatus  string // WeChat's status of the mass send (e.g. SEND_SUCCESS)
	TotalCount  int    // WeChat's counts from MASSSENDJOBFINISH
	FilterCount int
	SentCount   int
	ErrorCount  int
	URLs        []string
	ErrCode     int
	Explanation string // a failed issue's reason in plain words
}

// Pipeline is the publisher, read-only.
type Pipeline interface {
	// Statuses lists every issue the pipeline knows.
	Statuses(ctx context.Context) ([]Status, error)
	// Draft returns issue n and its articles as drafted in WeChat, or a
	// nil draft when the pipeline has not rendered n.
	Draft(ctx context.Context, n int) (*newsletter.Issue, *render.Draft, error)
	// NextSlot is the schedule's next broadcast slot after t.
	NextSlot(t time.Time) time.Time
}

// Campaigns reports what each QR campaign brought. *subscribers.Service implements it.
type Campaigns interface {
	Stats(ctx context.Context) ([]subscribers.SceneStats, error)
}

// Options are the pages' sources; only Token and Issues are required.
type Options struct {
	// Token is admin.token; the pages refuse every request without it.
	Token     string
	Issues    Issues
	Pipeline  Pipeline  // nil: no publisher in this process
	Campaigns Campaigns // nil: campaigns not shown
	// Render renders an issue that the pipeline has not drafted.
	Render   render.Options
	Location *time.Location // times are shown here; nil means UTC
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler serves /admin and /admin/…; mount it on both.
type Handler struct {
	o       Options
	session string // cookie value: an HMAC of the token, never the token
	mux     *http.ServeMux
}

// CookieName is the session cookie set after a ?token= visit.
const CookieName = "wxbot_admin"

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("admin").Funcs(template.FuncMap{
	"join": strings.Join,
}).ParseFS(templateFS, "templates/*.tmpl"))

// New builds the pages. An empty token is refused: the caller leaves the
// pages unmounted instead (404), so they are never open by accident.
func New(o Options) (*Handler, error) {
	if o.Token == "" {
		return nil, errors.New("admin: admin.token is empty")
	}
	if o.Issues == nil {
		return nil, errors.New("admin: no issues")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	mac := hmac.New(sha256.New, []byte(o.Token))
	mac.Write([]byte("wxbot admin session v1"))
	h := &Handler{o: o, session: hex.EncodeToString(mac.Sum(nil)), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /admin", h.dashboard)
	h.mux.HandleFunc("GET /admin/{$}", h.dashboard)
	h.mux.HandleFunc("GET /admin/issues/{n}/preview", h.preview)
	return h, nil
}

// ServeHTTP checks the token, then serves the page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	// The preview shows the articles' own images (WeChat's mmbiz URLs);
	// nothing else is loaded and no script runs.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

	if tok := r.URL.Query().Get("token"); tok != "" {
		if !h.equal(tok) {
			h.refuse(w, r)
			return
		}
		// Keep the token out of the address bar and the history: set the
		// session cookie and load the same page without it.
		http.SetCookie(w, &http.Cookie{
			Name: CookieName, Value: h.session, Path: "/admin",
			HttpOnly: true, SameSite: http.SameSiteStrictMode,
			Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
			MaxAge: int((12 * time.Hour).Seconds()),
		})
		q := r.URL.Query()
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return
	}
	if !h.authorized(r) {
		h.refuse(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) equal(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(tok), []byte(h.o.Token)) == 1
}

func (h *Handler) authorized(r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, ok := strings.Cut(auth, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && h.equal(strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(h.session)) == 1
	}
	return false
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request) {
	h.o.Log.WarnContext(r.Context(), "admin: refused a request without a valid token",
		slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr))
	w.Header().Set("WWW-Authenticate", `Bearer realm="wxbot admin"`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("401 unauthorized: open /admin?token=… once (admin.token), or send Authorization: Bearer …\n"))
}

// row is one issue on the dashboard: from the archive, the pipeline or both.
type row struct {
	Number   int
	Month    string
	Title    string
	Sections int
	Items    int
	InArch   bool
	Status   *Status
	When     string // "sent …" or "due …", in the configured zone
}

type broadcast struct {
	Status
	When string
}

type scheduled struct {
	Number int
	Due    string
	State  string
}

type dashboardData struct {
	Now        string
	Zone       string
	Rows       []row
	Pipeline   bool
	PipeErr    string
	NextSlot   string
	Schedule   []scheduled
	Broadcasts []broadcast
	Campaigns  []subscribers.SceneStats
	Camp       bool
	CampErr    string
}

// maxBroadcasts is how many past broadcasts the dashboard lists.
const maxBroadcasts = 10

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	now := h.o.Now()
	d := dashboardData{Now: h.fmt(now), Zone: h.o.Location.String()}
	byNum := map[int]*row{}
	for _, iss := range h.o.Issues.All() {
		items := 0
		for _, s := range iss.Sections {
			items += len(s.Items)
		}
		byNum[iss.Number] = &row{Number: iss.Number, Month: strings.ReplaceAll(iss.Month, "-", "."),
			Title: cmp.Or(iss.TitleZH, iss.TitleEN), Sections: len(iss.Sections), Items: items, InArch: true}
	}
	if h.o.Pipeline != nil {
		d.Pipeline = true
		d.NextSlot = h.fmt(h.o.Pipeline.NextSlot(now))
		sts, err := h.o.Pipeline.Statuses(ctx)
		if err != nil {
			// Redis may be away: the archive part still shows, from memory.
			d.PipeErr = err.Error()
			h.o.Log.ErrorContext(r.Context(), "admin: pipeline status", slog.Any("error", err))
		}
		for i := range sts {
			s := sts[i]
			rw := byNum[s.Number]
			if rw == nil {
				rw = &row{Number: s.Number, Title: s.File}
				byNum[s.Number] = rw
			}
			rw.Status = &s
			switch {
			case !s.SentAt.IsZero():
				rw.When = "sent " + h.fmt(s.SentAt)
			case !s.Due.IsZero():
				rw.When = "due " + h.fmt(s.Due)
			}
			if s.State == "scheduled" && !s.Due.IsZero() {
				d.Schedule = append(d.Schedule, scheduled{Number: s.Number, Due: h.fmt(s.Due), State: s.State})
			}
			if !s.SentAt.IsZero() {
				d.Broadcasts = append(d.Broadcasts, broadcast{Status: s, When: h.fmt(s.SentAt)})
			}
		}
		slices.SortFunc(d.Schedule, func(a, b scheduled) int { return cmp.Compare(a.Due, b.Due) })
		slices.SortFunc(d.Broadcasts, func(a, b broadcast) int { return b.SentAt.Compare(a.SentAt) })
		if len(d.Broadcasts) > maxBroadcasts {
			d.Broadcasts = d.Broadcasts[:maxBroadcasts]
		}
	}
	for _, rw := range byNum {
		d.Rows = append(d.Rows, *rw)
	}
	slices.SortFunc(d.Rows, func(a, b row) int { return cmp.Compare(b.Number, a.Number) })
	if h.o.Campaigns != nil {
		d.Camp = true
		st, err := h.o.Campaigns.Stats(ctx)
		if err != nil {
			d.CampErr = err.Error()
			h.o.Log.ErrorContext(r.Context(), "admin: campaign stats", slog.Any("error", err))
		}
		d.Campaigns = st
	}
	h.page(w, r, "dashboard", d)
}

func (h *Handler) fmt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(h.o.Location).Format("2006-01-02 15:04:05")
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request, name string, data any) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		h.o.Log.ErrorContext(r.Context(), "admin: render page", slog.String("page", name), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// preview shows issue n's articles as drafted: the pipeline's draft when
// there is one, else the archived issue rendered as it would be drafted.
func (h *Handler) preview(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		http.Error(w, "not found: the issue number is a positive integer", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var (
		iss     *newsletter.Issue
		draft   *render.Draft
		source  string
		pipeErr error
	)
	if h.o.Pipeline != nil {
		iss, draft, err = h.o.Pipeline.Draft(ctx, n)
		if err != nil {
			h.o.Log.ErrorContext(r.Context(), "admin: pipeline draft", slog.Int("issue", n), slog.Any("error", err))
			draft, pipeErr = nil, err
		}
		if draft != nil {
			source = "As drafted by the publishing pipeline: the articles WeChat holds, as subscribers will see them."
		}
	}
	if draft == nil {
		a, ok := h.o.Issues.Get(n)
		if !ok {
			http.Error(w, fmt.Sprintf("not found: No.%d is neither in the archive nor in the pipeline", n), http.StatusNotFound)
			return
		}
		iss = a
		draft, _, err = render.Render(iss, h.o.Render)
		if err != nil {
			h.o.Log.WarnContext(r.Context(), "admin: render issue", slog.Int("issue", n), slog.Any("error", err))
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = fmt.Fprintf(w, "No.%d cannot be rendered as a WeChat draft: %v\n", n, err)
			return
		}
		source = "Not drafted yet: rendered from the archive with this server's render settings, as it would be drafted."
		if pipeErr != nil {
			source = "The pipeline's draft cannot be shown (" + pipeErr.Error() + "): rendered from the archive with this server's render settings instead."
		}
	}
	page, err := render.PreviewPage(iss, draft)
	if err != nil {
		h.o.Log.ErrorContext(r.Context(), "admin: preview", slog.Int("issue", n), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(withBanner(page, source))
}

// withBanner puts a line above the phone frames saying where the articles
// come from, and a way back to the dashboard.
func withBanner(page []byte, text string) []byte {
	banner := `<nav id="wxbot-source" style="max-width:375px;margin:0 auto 12px;font-size:12px;color:#576b95;line-height:1.6">` +
		`<a href="/admin" style="color:#576b95">← /admin</a> · ` + template.HTMLEscapeString(text) + `</nav>`
	i := bytes.Index(page, []byte("<body>"))
	if i < 0 {
		return page
	}
	i += len("<body>")
	out := make([]byte, 0, len(page)+len(banner)+1)
	out = append(out, page[:i]...)
	out = append(out, '\n')
	out = append(out, banner...)
	return append(out, page[i:]...)
}
