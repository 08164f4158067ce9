package main

// The editor's pages (package admin) wired into serve: the archive, the
// subscriber service and, when this process runs it, the publisher, adapted
// to the small interfaces admin declares. The adapter only translates
// types; every word on the pages is admin's.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/admin"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// adminHandler builds /admin, or returns nil when admin.token is empty: the
// pages are then not mounted at all (404).
func (m *Main) adminHandler(pub *publisher.Publisher) (http.Handler, error) {
	cfg := m.Config
	if cfg.Admin.Token == "" {
		return nil, nil
	}
	loc, err := time.LoadLocation(cfg.Publish.Timezone)
	if err != nil {
		return nil, fmt.Errorf("serve: admin pages: publish.timezone: %w", err)
	}
	proxies, err := admin.ParseTrustedProxies(cfg.HTTP.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("serve: http.trusted_proxies: %w", err)
	}
	o := admin.Options{
		Token:          cfg.Admin.Token,
		Users:          cfg.Admin.Users,
		Sessions:       admin.NewSessionStore(m.Store.UniversalClient, m.Store.Keys, cfg.Admin.SessionTTL),
		Limiter:        admin.NewLoginLimiter(m.Store.UniversalClient, m.Store.Keys),
		TrustedProxies: proxies,
		Issues:         m.Archive,
		Render:         render.OptionsFrom(cfg.Render),
		Location:       loc,
		Log:            m.Log,
	}
	if m.Subscribers != nil {
		o.Campaigns = m.Subscribers
	}
	if pub != nil {
		pp := &pipelinePages{pub: pub, inbox: cfg.Newsletter.Inbox, titles: map[string][2]string{},
			rdb: m.Store.UniversalClient, keys: m.Store.Keys}
		if pp.inbox == "" {
			// No inbox: an uploaded Markdown issue's relative images are
			// looked up in a fresh empty folder, so none is found.
			if pp.empty, err = os.MkdirTemp("", "wxbot-uploads-"); err != nil {
				return nil, fmt.Errorf("serve: admin pages: %w", err)
			}
		}
		o.Pipeline = pp
		o.Workflow = pp
		// The preview shows the article images where WeChat keeps them:
		// over https, or at a sandbox's plain http address.
		if u, err := url.Parse(cfg.WeChat.APIBase); err == nil && u.Scheme == "http" && u.Host != "" {
			o.ImageSources = append(o.ImageSources, "http://"+u.Host)
		}
	}
	if m.Readership != nil {
		o.Readership = m.Readership
	}
	h, err := admin.New(o)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	m.Log.Info("admin pages on /admin (admin.token set): log in at "+admin.LoginPath,
		slog.Duration("session_ttl", cfg.Admin.SessionTTL), slog.Int("users", len(cfg.Admin.Users)))
	return h, nil
}

// pipelinePages is the publisher as the admin pages read and drive it.
type pipelinePages struct {
	pub   *publisher.Publisher
	inbox string // newsletter.inbox; "" when none
	empty string // an empty folder, when there is no inbox
	// rdb and keys read the publisher's upload cache (the cover's URL).
	rdb  redis.UniversalClient
	keys store.Keys

	mu     sync.Mutex
	titles map[string][2]string // content hash → {first title, month}
}

var (
	_ admin.Pipeline = (*pipelinePages)(nil)
	_ admin.Workflow = (*pipelinePages)(nil)
	_ admin.Coverer  = (*pipelinePages)(nil)
)

// CoverURL is where WeChat keeps issue n's cover: the URL material/add_material
// gave for its media_id, from the publisher's upload cache.
func (p *pipelinePages) CoverURL(ctx context.Context, n int) (string, error) {
	rec, err := p.pub.Get(ctx, n)
	if err != nil || rec.CoverMediaID == "" {
		return "", err
	}
	var cursor uint64
	for {
		kv, next, err := p.rdb.HScan(ctx, p.keys.PublishMedia(), cursor, "cover:*", 100).Result()
		if err != nil {
			return "", err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			var m wechat.Material
			if json.Unmarshal([]byte(kv[i+1]), &m) == nil && m.MediaID == rec.CoverMediaID {
				return m.URL, nil
			}
		}
		if cursor = next; cursor == 0 {
			return "", nil
		}
	}
}

func (p *pipelinePages) NextSlot(t time.Time) time.Time { return p.pub.NextSlot(t) }

func (p *pipelinePages) Statuses(ctx context.Context) ([]admin.Status, error) {
	recs, err := p.pub.List(ctx)
	out := make([]admin.Status, 0, len(recs))
	for _, r := range recs {
		s := admin.Status{
			Number: r.Number, State: string(r.State), Goal: string(r.Goal), Mode: r.Mode, File: r.File,
			Articles: r.Articles, Due: r.Due, SentAt: r.SentAt, FinishedAt: r.FinishedAt, Updated: r.Updated,
			MsgID: r.MsgID, MassStatus: r.MassStatus, TotalCount: r.TotalCount, FilterCount: r.FilterCount,
			SentCount: r.SentCount, ErrorCount: r.ErrorCount, URLs: r.URLs,
			ErrCode: r.ErrCode, Explanation: r.Explanation,
			ApprovedBy: r.ApprovedBy, ApprovedAt: r.ApprovedAt, RejectedBy: r.RejectedBy, RejectReason: r.RejectReason,
			RetractedBy: r.RetractedBy, RetractedAt: r.RetractedAt,
		}
		s.Title, s.Date = p.title(r)
		for _, t := range r.History {
			s.History = append(s.History, admin.Event{State: string(t.State), At: t.At, By: t.By, Action: t.Action, Note: t.Note})
		}
		out = append(out, s)
	}
	return out, err
}

// title is the first article's title and the month of a record's source,
// parsed once per content.
func (p *pipelinePages) title(r *publisher.Record) (string, string) {
	if len(r.Source) == 0 {
		return "", ""
	}
	p.mu.Lock()
	v, ok := p.titles[r.ContentHash]
	p.mu.Unlock()
	if ok {
		return v[0], v[1]
	}
	if iss, _, err := newsletter.Parse(filepath.Base(r.File), r.Source); err == nil {
		v[1] = strings.ReplaceAll(iss.Month, "-", ".")
		for _, s := range iss.Sections {
			for _, it := range s.Items {
				if v[0] == "" {
					v[0] = cmp.Or(it.TitleZH, it.TitleEN)
				}
			}
		}
	}
	p.mu.Lock()
	if len(p.titles) > 1000 {
		clear(p.titles)
	}
	p.titles[r.ContentHash] = v
	p.mu.Unlock()
	return v[0], v[1]
}

// Draft is the publisher's own re-rendering of the drafted issue, checked
// against the draft's hash (publisher.Drafted).
func (p *pipelinePages) Draft(ctx context.Context, n int) (*newsletter.Issue, *render.Draft, error) {
	return p.pub.Drafted(ctx, n)
}

// uploadDir is where an uploaded Markdown issue's relative images are
// looked up: the inbox (inside it only), or an empty folder.
func (p *pipelinePages) uploadDir() string {
	if p.inbox != "" {
		return p.inbox
	}
	return p.empty
}

func (p *pipelinePages) Upload(ctx context.Context, file string, data []byte, by string) (*admin.Outcome, error) {
	// file is a clean base name (admin.cleanName): it labels the issue,
	// and relative images resolve inside uploadDir only.
	return p.run(ctx, publisher.Request{File: filepath.Join(p.uploadDir(), filepath.Base(file)), Data: data,
		Goal: publisher.GoalDraft, Origin: "admin", By: by})
}

// maxInboxFile bounds an inbox file read for the pages.
const maxInboxFile = admin.MaxUploadBytes

func (p *pipelinePages) InboxFiles(ctx context.Context) ([]admin.InboxFile, error) {
	if p.inbox == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(p.inbox)
	if err != nil {
		return nil, err
	}
	var out []admin.InboxFile
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		// Regular files only: no FIFO, device, socket or symlink.
		if e.Type().IsRegular() && (ext == ".md" || ext == ".docx") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, admin.InboxFile{Name: e.Name()})
		}
	}
	return out, nil
}

func (p *pipelinePages) FromInbox(ctx context.Context, file, by string) (*admin.Outcome, error) {
	if p.inbox == "" || file != filepath.Base(file) {
		return nil, errors.New("no such inbox file")
	}
	root, err := os.OpenRoot(p.inbox)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxInboxFile {
		return nil, fmt.Errorf("%s is not a regular file of at most %d MB", file, maxInboxFile>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInboxFile+1))
	if err != nil {
		return nil, err
	}
	return p.run(ctx, publisher.Request{File: filepath.Join(p.inbox, file), Data: data, Goal: publisher.GoalDraft, Origin: "admin", By: by})
}

func (p *pipelinePages) run(ctx context.Context, req publisher.Request) (*admin.Outcome, error) {
	res, err := p.pub.Publish(ctx, req)
	var out *admin.Outcome
	if res != nil {
		out = &admin.Outcome{Number: res.Number, Warnings: res.Warnings, Steps: steps(res.Steps)}
	}
	return out, pageError(err)
}

func steps(in []publisher.Step) []admin.Step {
	out := make([]admin.Step, 0, len(in))
	for _, s := range in {
		out = append(out, admin.Step{Kind: string(s.Kind), IDs: s.IDs, Detail: s.Detail, Count: s.Count, Fresh: s.Fresh, At: s.At})
	}
	return out
}

func (p *pipelinePages) InboxProblems(ctx context.Context) ([]admin.InboxProblem, error) {
	ps, err := p.pub.InboxProblems(ctx)
	out := make([]admin.InboxProblem, 0, len(ps))
	for _, x := range ps {
		// The editor knows the file by its name: the folder is ours.
		base := filepath.Base(x.File)
		out = append(out, admin.InboxProblem{File: base, Error: strings.ReplaceAll(x.Error, x.File, base), At: x.At})
	}
	return out, err
}

func (p *pipelinePages) Approve(ctx context.Context, n int, by string) error {
	_, err := p.pub.Approve(ctx, n, by)
	return pageError(err)
}

func (p *pipelinePages) Reject(ctx context.Context, n int, by, reason string) error {
	_, err := p.pub.Reject(ctx, n, by, reason)
	return pageError(err)
}

func (p *pipelinePages) Schedule(ctx context.Context, n int, at time.Time, by string) (time.Time, error) {
	res, err := p.pub.Schedule(ctx, n, at, by)
	if err != nil {
		return time.Time{}, pageError(err)
	}
	if res != nil && res.Record != nil {
		return res.Record.Due, nil
	}
	return time.Time{}, nil
}

func (p *pipelinePages) SendNow(ctx context.Context, n int, by string) error {
	_, err := p.pub.SendNow(ctx, n, by)
	return pageError(err)
}

func (p *pipelinePages) Cancel(ctx context.Context, n int, by string) error {
	_, err := p.pub.Cancel(ctx, n, by)
	return pageError(err)
}

func (p *pipelinePages) Retract(ctx context.Context, n, article int, by string) error {
	_, err := p.pub.Retract(ctx, n, article, by)
	return pageError(err)
}

func (p *pipelinePages) SendPreview(ctx context.Context, n int, to []admin.Reviewer, by string) error {
	list := make([]publisher.Reviewer, 0, len(to))
	for _, r := range to {
		list = append(list, publisher.Reviewer{OpenID: r.OpenID, WeChatID: r.WeChatID})
	}
	outs, err := p.pub.SendPreview(ctx, n, list, by)
	if err != nil {
		return pageError(err)
	}
	var failed []string
	for _, o := range outs {
		if o.Err != nil {
			failed = append(failed, cmp.Or(o.To.OpenID, o.To.WeChatID))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("preview not delivered to %s", strings.Join(failed, ", "))
	}
	return nil
}

func (p *pipelinePages) Slots(ctx context.Context, from time.Time, k int) ([]admin.Slot, error) {
	ss, err := p.pub.Slots(ctx, from, k)
	out := make([]admin.Slot, 0, len(ss))
	for _, s := range ss {
		out = append(out, admin.Slot{At: s.At, QuotaUsed: s.QuotaUsed, Sent: s.Sent, Max: s.Max})
	}
	return out, err
}

// pageError turns the publisher's typed refusals into admin's; other
// errors pass as they are.
func pageError(err error) error {
	var rf *publisher.Refusal
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rf):
		return &admin.Refusal{Reason: string(rf.Reason), Number: rf.Number, State: string(rf.State), When: rf.When,
			By: rf.By, Detail: rf.Detail, Article: rf.Article, Articles: rf.Articles}
	case errors.Is(err, publisher.ErrUnknownIssue):
		return &admin.Refusal{Reason: string(publisher.NotInPipeline)}
	case errors.Is(err, publisher.ErrBusy):
		return &admin.Refusal{Reason: "busy"}
	}
	return err
}
