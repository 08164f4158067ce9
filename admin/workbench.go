package admin

// The workbench: what a named editor does from the browser — upload an
// issue or pick one from the inbox, send a preview, approve or reject,
// schedule, send now, cancel, retract, make a QR code — each through the
// Workflow (the publisher), recorded there with who did it.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	qr "github.com/skip2/go-qrcode"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/subscribers"
)

// Workflow is what the editors may do to the pipeline; every method takes
// who does it (by), which the publisher keeps in the issue's history.
// cmd/wxbot adapts *publisher.Publisher to it. A request the pipeline
// declines is returned as a *Refusal.
type Workflow interface {
	// Upload takes an issue file's bytes to a draft with its preview
	// (nothing is broadcast). file is a clean base name, never a path.
	Upload(ctx context.Context, file string, data []byte, by string) (*Outcome, error)
	// InboxFiles lists the issue files in newsletter.inbox.
	InboxFiles(ctx context.Context) ([]InboxFile, error)
	// FromInbox drafts the inbox file of that name (one InboxFiles listed).
	FromInbox(ctx context.Context, file, by string) (*Outcome, error)
	// InboxProblems lists the inbox files that do not parse.
	InboxProblems(ctx context.Context) ([]InboxProblem, error)
	Approve(ctx context.Context, n int, by string) error
	Reject(ctx context.Context, n int, by, reason string) error
	// Schedule (re)schedules n at at; zero means the next slot. It
	// returns the time it is due.
	Schedule(ctx context.Context, n int, at time.Time, by string) (time.Time, error)
	SendNow(ctx context.Context, n int, by string) error
	Cancel(ctx context.Context, n int, by string) error
	// Retract withdraws article (1-based; 0: all) of a sent issue.
	Retract(ctx context.Context, n, article int, by string) error
	SendPreview(ctx context.Context, n int, to []Reviewer, by string) error
	// Slots are the next k broadcast slots from from, with the quota used
	// on each one's day.
	Slots(ctx context.Context, from time.Time, k int) ([]Slot, error)
}

// Outcome is what an upload did.
type Outcome struct {
	Number   int
	Steps    []Step
	Warnings []string
}

// Step is one thing a run did: Kind is a word key (step.<kind>), IDs what
// it concerned (reviewers, image names, a time).
type Step struct {
	Kind         string
	IDs          []string
	Detail       string
	Count, Fresh int
	At           time.Time
}

// Slot is a broadcast slot and the quota used on its day.
type Slot struct {
	At        time.Time
	QuotaUsed bool
	Sent, Max int
}

// Reviewer receives a preview: an openid or a WeChat ID (towxname).
type Reviewer struct {
	OpenID, WeChatID string
}

// InboxFile is an issue file in newsletter.inbox.
type InboxFile struct {
	Name   string
	Number int // 0 when it does not parse
}

// InboxProblem is an inbox file that does not parse, with the parser's
// located error.
type InboxProblem struct {
	File  string
	Error string
	At    time.Time
}

// Event is one line of an issue's audit history.
type Event struct {
	State  string
	At     time.Time
	By     string // "" for wxbot itself (the scheduler, WeChat's reports)
	Action string // a word key suffix (action.<action>), "" when none
	Note   string
}

// Refusal is a request the pipeline declines: Reason is a word key
// (refuse.<reason>), the rest fills its sentence.
type Refusal struct {
	Reason string
	Number int
	State  string
	When   time.Time
	By     string
	Detail string
	// Article and Articles: the article asked for and the issue's count
	// (or a bound, for too_many_reviewers).
	Article, Articles int
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("refused (%s): No.%d %s %s", r.Reason, r.Number, r.State, r.Detail)
}

// MaxUploadBytes bounds an uploaded issue file (a Word file with its
// pictures included).
const MaxUploadBytes = 20 << 20

// maxActionBytes bounds an action's form.
const maxActionBytes = 16 << 10

func (h *Handler) routeWorkbench() {
	h.mux.HandleFunc("GET /admin/issues/{n}", h.issuePage)
	h.mux.HandleFunc("POST /admin/upload", h.upload)
	h.mux.HandleFunc("POST /admin/inbox", h.fromInbox)
	for _, act := range issueActions {
		h.mux.HandleFunc("POST /admin/issues/{n}/"+act, h.action(act))
	}
	h.mux.HandleFunc("GET /admin/campaigns/{scene}", h.campaignPNG)
	h.mux.HandleFunc("POST /admin/campaigns", h.createCampaign)
}

// who is the user behind a request: the session's, or admin for a bearer.
func who(r *http.Request) string {
	if s, ok := sessionOf(r); ok {
		return s.User
	}
	return user
}

// checkForm refuses a POST from elsewhere or without the session's CSRF
// token (403); the form must be parsed already. A bearer (a script) has
// no cookie to ride on and needs no token.
func (h *Handler) checkForm(w http.ResponseWriter, r *http.Request) bool {
	if err := h.cross.Check(r); err != nil {
		h.forbiddenPage(w, r, "cross-origin form refused")
		return false
	}
	sess, ok := sessionOf(r)
	if !ok {
		return true
	}
	// From the body only: a token in the address is not taken.
	if !sess.ValidCSRF(r.PostFormValue("csrf")) {
		h.forbiddenPage(w, r, "form without the page's CSRF token")
		return false
	}
	return true
}

// readForm reads a small form (at most maxActionBytes) and checks it as
// checkForm does; false means the answer is written.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxActionBytes)
	if err := r.ParseForm(); err != nil {
		h.forbiddenPage(w, r, "unreadable form")
		return false
	}
	return h.checkForm(w, r)
}

func (h *Handler) forbiddenPage(w http.ResponseWriter, r *http.Request, why string) {
	h.o.Log.WarnContext(r.Context(), "admin: "+why, slog.String("client", clientAddr(r, h.o.TrustedProxies)), slog.String("path", r.URL.Path))
	h.message(w, r, http.StatusForbidden, say(langOf(r), "csrf"), "/admin")
}

type messageData struct {
	base
	Text string
	Back string
}

// message shows one sentence and a way back.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, text, back string) {
	h.pageStatus(w, r, status, "message", messageData{base: h.base(r), Text: text, Back: back})
}

// base is what every page's frame shows.
type base struct {
	Lang  string
	User  string
	CSRF  string
	Zone  string
	Now   string
	Path  string // this page, for the language switch
	Other string // the other language
}

func (h *Handler) base(r *http.Request) base {
	b := base{Lang: langOf(r), User: who(r), Zone: h.zone(), Now: h.fmt(h.o.Now()), Path: r.URL.Path}
	if s, ok := sessionOf(r); ok {
		b.CSRF = s.CSRF()
	}
	b.Other = langEN
	if b.Lang == langEN {
		b.Other = langZH
	}
	return b
}

// zone names publish.timezone with its offset now: "Asia/Shanghai (UTC+08:00)".
func (h *Handler) zone() string {
	return h.o.Location.String() + " (UTC" + h.o.Now().In(h.o.Location).Format("-07:00") + ")"
}

// issueNumber reads {n}.
func issueNumber(r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	return n, err == nil && n > 0 && n < 1_000_000
}

type issuePageData struct {
	base
	Number   int
	Heading  string
	Status   *Status
	When     string
	Flash    string
	Problem  string
	Steps    []string
	Warnings []string
	History  []historyRow
	Slots    []slotRow
	NextAt   string
	// QuotaWarn: the issue is due on a day whose broadcast quota is used.
	QuotaWarn string
	Workflow  bool
	// Sent: the broadcast started (nothing to preview, approve, schedule
	// or send); Retracted: withdrawn; Cancellable: waiting for its time.
	Sent, Retracted, Cancellable bool
	Fmt                          func(time.Time) string
}

type historyRow struct {
	At, By, Action, State, Note string
}

type slotRow struct {
	At, Note string
	Used     bool
}

// issuePage is one issue: where it stands, what can be done, who did what.
func (h *Handler) issuePage(w http.ResponseWriter, r *http.Request) {
	n, ok := issueNumber(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.showIssue(w, r, http.StatusOK, n, "", nil)
}

// showIssue renders issue n's page with a problem (refusal, bad input) or
// the result of an upload.
func (h *Handler) showIssue(w http.ResponseWriter, r *http.Request, status, n int, problem string, out *Outcome) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	d := issuePageData{base: h.base(r), Number: n, Problem: problem, Workflow: h.o.Workflow != nil, Fmt: h.fmt}
	lang := d.Lang
	if done := r.URL.Query().Get("done"); done != "" {
		if _, ok := words["done."+done]; ok {
			d.Flash = say(lang, "done."+done)
		}
	}
	if out != nil {
		if status < 400 {
			d.Flash = say(lang, "upload.done", "n", strconv.Itoa(out.Number))
		}
		for _, s := range out.Steps {
			d.Steps = append(d.Steps, h.stepWords(lang, s))
		}
		d.Warnings = out.Warnings
	}
	st := h.issueStatus(ctx, &d, n)
	iss, inArch := h.o.Issues.Get(n)
	if st == nil && !inArch {
		h.message(w, r, http.StatusNotFound, say(lang, "refuse.unknown", "n", strconv.Itoa(n)), "/admin")
		return
	}
	d.Status = st
	d.Heading = heading(n, iss, st)
	if st != nil {
		h.addIssueHistory(&d, st)
	}
	if h.o.Workflow != nil {
		h.addSlots(ctx, &d, st)
	}
	h.pageStatus(w, r, status, "issue", d)
}

// issueStatus is issue n's status in the pipeline, nil when the pipeline
// does not know it (or is not configured, or is away: d says so).
func (h *Handler) issueStatus(ctx context.Context, d *issuePageData, n int) *Status {
	if h.o.Pipeline == nil {
		return nil
	}
	lang := d.Lang
	var st *Status
	sts, err := h.o.Pipeline.Statuses(ctx)
	if err != nil {
		h.o.Log.ErrorContext(ctx, "admin: pipeline status", slog.Any("error", err))
		d.Problem = cmp.Or(d.Problem, say(lang, "pipe.err"))
	}
	for i := range sts {
		if sts[i].Number == n {
			st = &sts[i]
		}
	}
	return st
}

// addIssueHistory adds what st tells: whether the issue went out, what can
// still be done, and its history, newest first.
func (h *Handler) addIssueHistory(d *issuePageData, st *Status) {
	lang := d.Lang
	d.Sent = !st.SentAt.IsZero() || slices.Contains([]string{"sending", "sent", "finished", "retracted"}, st.State)
	d.Retracted = st.State == "retracted"
	d.Cancellable = !d.Sent && st.State != "cancelled" && st.State != "failed" && st.State != "rejected"
	d.When = h.when(lang, st)
	for _, ev := range st.History {
		hr := historyRow{At: h.fmt(ev.At), By: cmp.Or(ev.By, say(lang, "system")), State: stateWord(lang, ev.State), Note: ev.Note}
		if ev.Action != "" {
			hr.Action = say(lang, "action."+ev.Action)
		}
		d.History = append(d.History, hr)
	}
	slices.Reverse(d.History)
}

// addSlots adds the next publish slots, with their quota, and a warning
// when st is due on a day whose quota is used.
func (h *Handler) addSlots(ctx context.Context, d *issuePageData, st *Status) {
	lang := d.Lang
	slots, err := h.o.Workflow.Slots(ctx, h.o.Now(), 5)
	if err != nil {
		h.o.Log.WarnContext(ctx, "admin: slots", slog.Any("error", err))
	}
	for _, s := range slots {
		row := slotRow{At: h.fmt(s.At), Used: s.QuotaUsed}
		if s.Max > 0 {
			if s.QuotaUsed {
				row.Note = say(lang, "slot.used", "n", strconv.Itoa(s.Sent), "max", strconv.Itoa(s.Max))
			} else {
				row.Note = say(lang, "slot.free", "n", strconv.Itoa(s.Sent), "max", strconv.Itoa(s.Max))
			}
		}
		d.Slots = append(d.Slots, row)
	}
	if len(slots) > 0 {
		d.NextAt = slots[0].At.In(h.o.Location).Format("2006-01-02T15:04")
	}
	if st != nil && !st.Due.IsZero() && (st.State == "scheduled" || st.State == "awaiting_approval") {
		day := st.Due.In(h.o.Location).Format(time.DateOnly)
		for _, s := range slots {
			if s.QuotaUsed && s.At.In(h.o.Location).Format(time.DateOnly) == day {
				d.QuotaWarn = say(lang, "due.quota", "when", h.fmt(st.Due), "n", strconv.Itoa(s.Sent), "max", strconv.Itoa(s.Max))
				break
			}
		}
	}
}

// heading tells issues apart: the number, the masthead month and the
// first article's title.
func heading(n int, iss *newsletter.Issue, st *Status) string {
	parts := []string{"No." + strconv.Itoa(n)}
	title := ""
	month := ""
	if iss != nil {
		month = strings.ReplaceAll(iss.Month, "-", ".")
		title = firstTitle(iss)
	}
	if st != nil {
		month = cmp.Or(month, st.Date)
		title = cmp.Or(title, st.Title)
	}
	if month != "" {
		parts = append(parts, month)
	}
	if title != "" {
		parts = append(parts, title)
	}
	return strings.Join(parts, " · ")
}

// firstTitle is the issue's first item's title: what tells issues of
// one series apart.
func firstTitle(iss *newsletter.Issue) string {
	for _, s := range iss.Sections {
		for _, it := range s.Items {
			if t := cmp.Or(it.TitleZH, it.TitleEN); t != "" {
				return t
			}
		}
	}
	return cmp.Or(iss.TitleZH, iss.TitleEN)
}

// when is where the issue stands in time, in page words: a cancelled,
// rejected or failed issue has no due time any more.
func (h *Handler) when(lang string, s *Status) string {
	switch {
	case !s.SentAt.IsZero():
		return say(lang, "sent", "when", h.fmt(s.SentAt))
	case s.Due.IsZero():
		return ""
	case s.State == "cancelled" || s.State == "rejected" || s.State == "failed" || s.State == "retracted" || s.State == "drafted" || s.State == "previewed":
		return ""
	}
	return say(lang, "due", "when", h.fmt(s.Due))
}

// upload takes a multipart file: capped, its name cleaned (never a path),
// parsed here first so a broken file is shown with its lines and nothing
// is written, then handed to the workflow.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r)
	if h.o.Workflow == nil {
		h.message(w, r, http.StatusServiceUnavailable, say(lang, "readonly"), "/admin")
		return
	}
	if err := h.cross.Check(r); err != nil {
		// Refused before the body is read: nothing is written to disk.
		h.forbiddenPage(w, r, "cross-origin upload refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+64<<10)
	// Parts beyond 1 MiB go to a temporary file that ParseMultipartForm
	// names itself; the client's filename is never used for it.
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.dashboardWith(w, r, http.StatusRequestEntityTooLarge, say(lang, "upload.toobig", "max", sizeWords(MaxUploadBytes)), nil)
			return
		}
		// Without a readable form there is no CSRF token to check either.
		h.forbiddenPage(w, r, "unreadable upload form")
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	if !h.checkForm(w, r) {
		return
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		h.dashboardWith(w, r, http.StatusBadRequest, say(lang, "upload.nofile"), nil)
		return
	}
	defer f.Close()
	name, ok := cleanName(fh.Filename)
	if !ok {
		h.dashboardWith(w, r, http.StatusUnsupportedMediaType, say(lang, "upload.type"), nil)
		return
	}
	data, err := readAllCapped(f, fh, MaxUploadBytes)
	if err != nil {
		h.dashboardWith(w, r, http.StatusRequestEntityTooLarge, say(lang, "upload.toobig", "max", sizeWords(MaxUploadBytes)), nil)
		return
	}
	if _, _, err := newsletter.Parse(name, data); err != nil {
		h.dashboardWith(w, r, http.StatusUnprocessableEntity, say(lang, "upload.broken"), parseProblems(lang, err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	out, err := h.o.Workflow.Upload(ctx, name, data, who(r))
	h.afterRun(w, r, out, err)
}

// afterRun shows the issue a run took up, or why it did not.
func (h *Handler) afterRun(w http.ResponseWriter, r *http.Request, out *Outcome, err error) {
	lang := langOf(r)
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		if ref.Number > 0 {
			h.showIssue(w, r, http.StatusConflict, ref.Number, h.refusalWords(lang, ref), nil)
			return
		}
		h.dashboardWith(w, r, http.StatusConflict, h.refusalWords(lang, ref), nil)
	case err != nil:
		if probs := parseProblems(lang, err); len(probs) > 0 && isParseError(err) {
			h.dashboardWith(w, r, http.StatusUnprocessableEntity, say(lang, "upload.broken"), probs)
			return
		}
		h.o.Log.ErrorContext(r.Context(), "admin: run", slog.String("user", who(r)), slog.Any("error", err))
		if out != nil && out.Number > 0 {
			h.showIssue(w, r, http.StatusBadGateway, out.Number, say(lang, "failed", "detail", plainError(err)), out)
			return
		}
		h.dashboardWith(w, r, http.StatusBadGateway, say(lang, "failed", "detail", plainError(err)), nil)
	case out == nil:
		h.dashboardWith(w, r, http.StatusBadGateway, say(lang, "unavailable"), nil)
	default:
		h.o.Log.InfoContext(r.Context(), "admin: issue drafted", slog.String("user", who(r)), slog.Int("issue", out.Number))
		h.showIssue(w, r, http.StatusOK, out.Number, "", out)
	}
}

// plainError is an error's text without our package prefixes.
func plainError(err error) string {
	s := err.Error()
	for _, p := range []string{"publisher: ", "admin: ", "wechat: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

func isParseError(err error) bool {
	var pe *newsletter.ParseError
	return errors.As(err, &pe)
}

// fromInbox drafts an inbox file chosen from the list.
func (h *Handler) fromInbox(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r)
	if h.o.Workflow == nil {
		h.message(w, r, http.StatusServiceUnavailable, say(lang, "readonly"), "/admin")
		return
	}
	if !h.readForm(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	files, err := h.o.Workflow.InboxFiles(ctx)
	if err != nil {
		h.dashboardWith(w, r, http.StatusBadGateway, say(lang, "unavailable"), nil)
		return
	}
	name := r.PostForm.Get("file")
	if !slices.ContainsFunc(files, func(f InboxFile) bool { return f.Name == name }) {
		h.dashboardWith(w, r, http.StatusBadRequest, say(lang, "inbox.none"), nil)
		return
	}
	out, err := h.o.Workflow.FromInbox(ctx, name, who(r))
	h.afterRun(w, r, out, err)
}

// issueActions are the issue page's forms, each posted to
// /admin/issues/{n}/<action>.
var issueActions = []string{"approve", "reject", "schedule", "send", "cancel", "retract", "preview"}

// action runs one of the issue page's forms.
func (h *Handler) action(act string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h.act(w, r, act) }
}

// act checks and runs one of the issue page's forms.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, act string) {
	lang := langOf(r)
	n, ok := issueNumber(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !h.readForm(w, r) {
		return
	}
	if h.o.Workflow == nil {
		h.showIssue(w, r, http.StatusServiceUnavailable, n, say(lang, "readonly"), nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	by := who(r)
	status, problem, err := h.runAction(ctx, lang, act, n, by, r.PostForm)
	if status != 0 {
		h.showIssue(w, r, status, n, problem, nil)
		return
	}
	h.actionDone(ctx, w, r, lang, act, n, by, err)
}

// runAction runs act on issue n for by. A form that makes no sense is
// refused before the workflow is asked: status and problem say why.
func (h *Handler) runAction(ctx context.Context, lang, act string, n int, by string, f url.Values) (status int, problem string, err error) {
	switch act {
	case "approve":
		if up := h.uploader(ctx, n); up != "" && up == by && by != user {
			// Four eyes: who uploaded an issue does not approve it.
			return http.StatusConflict, h.refusalWords(lang, &Refusal{Reason: "self_approval", Number: n, By: by}), nil
		}
		return 0, "", h.o.Workflow.Approve(ctx, n, by)
	case "reject":
		reason := strings.TrimSpace(f.Get("reason"))
		if reason == "" || utf8.RuneCountInString(reason) > 500 {
			return http.StatusBadRequest, say(lang, "reject.reason"), nil
		}
		return 0, "", h.o.Workflow.Reject(ctx, n, by, reason)
	case "schedule":
		var at time.Time
		if s := strings.TrimSpace(f.Get("at")); s != "" {
			t, perr := parseLocal(s, h.o.Location)
			if perr != nil {
				return http.StatusBadRequest, say(lang, "bad.when"), nil
			}
			at = t
		}
		_, err = h.o.Workflow.Schedule(ctx, n, at, by)
		return 0, "", err
	case "send":
		if f.Get("confirm") != "yes" {
			return http.StatusBadRequest, say(lang, "sendnow.confirm"), nil
		}
		return 0, "", h.o.Workflow.SendNow(ctx, n, by)
	case "cancel":
		return 0, "", h.o.Workflow.Cancel(ctx, n, by)
	case "retract":
		article, aerr := strconv.Atoi(cmp.Or(strings.TrimSpace(f.Get("article")), "0"))
		if aerr != nil || article < 0 || article > 8 {
			return http.StatusBadRequest, say(lang, "bad.article"), nil
		}
		return 0, "", h.o.Workflow.Retract(ctx, n, article, by)
	case "preview":
		to, ok := reviewers(f.Get("to"))
		if !ok {
			return http.StatusBadRequest, say(lang, "review.bad"), nil
		}
		return 0, "", h.o.Workflow.SendPreview(ctx, n, to, by)
	}
	return 0, "", nil
}

// actionDone shows what became of an action: the issue page with the
// refusal or the failure, else a redirect to it.
func (h *Handler) actionDone(ctx context.Context, w http.ResponseWriter, r *http.Request, lang, act string, n int, by string, err error) {
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		if ref.Number == 0 {
			ref.Number = n
		}
		h.o.Log.InfoContext(ctx, "admin: action refused", slog.String("user", by), slog.String("action", act), slog.Int("issue", n), slog.String("reason", ref.Reason))
		h.showIssue(w, r, http.StatusConflict, n, h.refusalWords(lang, ref), nil)
	case err != nil:
		h.o.Log.ErrorContext(ctx, "admin: action", slog.String("user", by), slog.String("action", act), slog.Int("issue", n), slog.Any("error", err))
		h.showIssue(w, r, http.StatusBadGateway, n, say(lang, "failed", "detail", plainError(err)), nil)
	default:
		h.o.Log.InfoContext(ctx, "admin: action", slog.String("user", by), slog.String("action", act), slog.Int("issue", n))
		// Post, redirect, get: a reload does not do it twice.
		http.Redirect(w, r, fmt.Sprintf("/admin/issues/%d?done=%s", n, act), http.StatusSeeOther)
	}
}

// uploader is who last uploaded issue n from the workbench ("" when
// unknown: from the command line or the inbox).
func (h *Handler) uploader(ctx context.Context, n int) string {
	if h.o.Pipeline == nil {
		return ""
	}
	sts, err := h.o.Pipeline.Statuses(ctx)
	if err != nil {
		return ""
	}
	for _, s := range sts {
		if s.Number != n {
			continue
		}
		for i := len(s.History) - 1; i >= 0; i-- {
			if s.History[i].Action == "uploaded" {
				return s.History[i].By
			}
		}
	}
	return ""
}

// parseLocal reads "2006-01-02T15:04" (a datetime-local field) or
// "2006-01-02 15:04" in loc.
func parseLocal(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

var (
	openIDRe   = regexp.MustCompile(`^o[A-Za-z0-9_-]{5,63}$`)
	wechatIDRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{5,19}$`)
)

// reviewers reads the preview's recipients: openids (o…, 28 characters
// from WeChat) or WeChat IDs, one a line or separated by commas.
func reviewers(s string) ([]Reviewer, bool) {
	var out []Reviewer
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || unicode.IsSpace(r) }) {
		switch {
		case len(f) == 28 && openIDRe.MatchString(f):
			out = append(out, Reviewer{OpenID: f})
		case wechatIDRe.MatchString(f):
			out = append(out, Reviewer{WeChatID: f})
		case openIDRe.MatchString(f):
			out = append(out, Reviewer{OpenID: f})
		default:
			return nil, false
		}
	}
	return out, len(out) > 0 && len(out) <= 20
}

// cleanName is an uploaded file's name as the pipeline may show it: the
// base name only, printable letters, digits and . _ -, ending in .md or
// .docx. It names the issue in messages; no file is ever opened by it.
func cleanName(raw string) (string, bool) {
	raw = strings.ReplaceAll(raw, "\\", "/")
	base := path.Base(raw)
	ext := strings.ToLower(path.Ext(base))
	if ext != ".md" && ext != ".docx" && ext != ".markdown" {
		return "", false
	}
	stem := strings.TrimSuffix(base, path.Ext(base))
	var b strings.Builder
	for _, r := range stem {
		switch {
		case r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == ':' || r == '|' || r == '"' || r == '<' || r == '>' || r == '*' || r == '?':
			b.WriteByte('_')
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.' || r == ' ':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	stem = strings.Trim(b.String(), ". ")
	if utf8.RuneCountInString(stem) > 80 {
		stem = string([]rune(stem)[:80])
	}
	if stem == "" {
		stem = "upload"
	}
	if ext == ".markdown" {
		ext = ".md"
	}
	return stem + ext, true
}

func readAllCapped(f multipart.File, fh *multipart.FileHeader, max int64) ([]byte, error) {
	if fh.Size > max {
		return nil, errors.New("too big")
	}
	var b bytes.Buffer
	n, err := b.ReadFrom(&cappedReader{r: f, left: max + 1})
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, errors.New("too big")
	}
	return b.Bytes(), nil
}

type cappedReader struct {
	r    interface{ Read([]byte) (int, error) }
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("too big")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func sizeWords(n int64) string { return strconv.FormatInt(n>>20, 10) + " MB" }

// problem is a parse error as the page shows it.
type problem struct {
	Where string
	Text  string
}

// parseProblems lists the parser's located errors: where, and what to fix.
func parseProblems(lang string, err error) []problem {
	var out []problem
	var walk func(error)
	walk = func(e error) {
		if e == nil || len(out) >= 20 {
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var pe *newsletter.ParseError
		if errors.As(e, &pe) {
			p := problem{Text: pe.Msg}
			switch {
			case pe.Where != "":
				p.Where = pe.Where
			case pe.Line > 0:
				p.Where = say(lang, "upload.line", "n", strconv.Itoa(pe.Line))
			}
			out = append(out, p)
			return
		}
		out = append(out, problem{Text: e.Error()})
	}
	walk(err)
	return out
}

// campaignPNG draws a campaign's QR code from the URL it encodes (no
// request to WeChat): shown on the dashboard, downloaded with ?download=1.
func (h *Handler) campaignPNG(w http.ResponseWriter, r *http.Request) {
	scene, ok := strings.CutSuffix(r.PathValue("scene"), ".png")
	if !ok || h.o.Campaigns == nil || !sceneRe.MatchString(scene) {
		http.NotFound(w, r)
		return
	}
	cs, err := h.o.Campaigns.Campaigns(r.Context())
	if err != nil {
		h.message(w, r, http.StatusBadGateway, say(langOf(r), "camp.err"), "/admin")
		return
	}
	i := slices.IndexFunc(cs, func(c subscribers.Campaign) bool { return c.Scene == scene })
	if i < 0 || cs[i].URL == "" {
		http.NotFound(w, r)
		return
	}
	png, err := qr.Encode(cs[i].URL, qr.Medium, 430)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	if r.URL.Query().Get("download") == "1" {
		w.Header().Set("Content-Disposition", `attachment; filename="qrcode-`+scene+`.png"`)
	}
	_, _ = w.Write(png)
}

var sceneRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// createCampaign makes a QR code for a scene (WeChat's qrcode/create).
func (h *Handler) createCampaign(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r)
	if !h.readForm(w, r) {
		return
	}
	if h.o.Campaigns == nil {
		h.message(w, r, http.StatusServiceUnavailable, say(lang, "no.subscribers"), "/admin")
		return
	}
	scene := strings.TrimSpace(r.PostForm.Get("scene"))
	days, err := strconv.Atoi(cmp.Or(strings.TrimSpace(r.PostForm.Get("days")), "0"))
	if !sceneRe.MatchString(scene) || err != nil || days < 0 || days > 30 {
		h.dashboardWith(w, r, http.StatusBadRequest, say(lang, "camp.bad"), nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if _, _, err := h.o.Campaigns.CreateCampaign(ctx, scene, days == 0, time.Duration(days)*24*time.Hour); err != nil {
		h.o.Log.WarnContext(ctx, "admin: create campaign", slog.String("user", who(r)), slog.Any("error", err))
		h.dashboardWith(w, r, http.StatusBadGateway, say(lang, "camp.failed", "detail", plainError(err)), nil)
		return
	}
	h.o.Log.InfoContext(ctx, "admin: campaign created", slog.String("user", who(r)), slog.String("scene", scene))
	http.Redirect(w, r, "/admin?created="+scene+"#campaigns", http.StatusSeeOther)
}
