// Package publisher drives each newsletter issue through its pipeline to
// WeChat — parsed → rendered → images uploaded → drafted → previewed →
// scheduled → sending → sent → finished, or failed — and broadcasts it
// exactly once. The state of every issue lives in one Redis hash, written
// before and after every WeChat call with a compare-and-set that also
// checks the writer still holds the issue's lock (and, for the scheduler,
// the leadership and its fencing token), so any step can crash and resume,
// and neither a re-run, an edit, a retry nor a second replica can send an
// issue twice: the mass send carries a clientmsgid derived from the issue's
// number and content, which WeChat deduplicates for 24 hours (45065), and
// a send that may have happened is never repeated after that window.
//
// One replica of `wxbot serve` leads (a Redis lock with renewal and a
// fencing token) and runs due issues at the publish.schedule slots in
// publish.timezone, at most publish.max_per_day a day; `wxbot publish`
// prepares issues (and with --now sends them itself); MASSSENDJOBFINISH and
// PUBLISHJOBFINISH reports complete the record; the inbox folder can feed
// the pipeline on its own (publish.auto).
package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// API is the part of WeChat's API the publisher calls. *wechat.Client implements it.
type API interface {
	UploadImage(ctx context.Context, filename string, data []byte) (string, error)
	AddMaterial(ctx context.Context, typ wechat.MaterialType, filename string, data []byte) (wechat.Material, error)
	AddDraft(ctx context.Context, articles []wechat.Article) (string, error)
	UpdateDraft(ctx context.Context, mediaID string, index int, a wechat.Article) error
	DeleteDraft(ctx context.Context, mediaID string) error
	SubmitPublish(ctx context.Context, mediaID string) (string, error)
	GetPublish(ctx context.Context, publishID string) (wechat.PublishJobEvent, error)
	SendAll(ctx context.Context, s wechat.MassSend) (wechat.MassResult, error)
	Preview(ctx context.Context, openID, mediaID string) (int64, error)
	PreviewToWxName(ctx context.Context, wxName, mediaID string) (int64, error)
	MassStatus(ctx context.Context, msgID int64) (string, error)
	Tags(ctx context.Context) ([]wechat.Tag, error)
	DeleteMass(ctx context.Context, msgID int64, article int) error
	DeletePublication(ctx context.Context, articleID string, index int) error
}

var _ API = (*wechat.Client)(nil)

// Archive is where broadcast issues and their article URLs go, so the chat
// answers with them. *archive.Archive implements it.
type Archive interface {
	Pin(ctx context.Context, iss *newsletter.Issue) error
	SetURLs(ctx context.Context, number int, urls []string) error
	URLs(number int) []string
	// Withhold and Release are the review gate: an issue the publisher has
	// and has not sent, or retracted, is withheld from subscribers.
	Withhold(ctx context.Context, number int, why string) error
	Release(ctx context.Context, number int) error
	Current() *archive.Snapshot
}

// Notifier tells the editors about each step: failures, approvals, the
// schedule, the send and WeChat's final counts. *notify.Notifier
// implements it; notify.Text has the words.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Notice is one event for the editors (its kinds: notify.Kind).
type Notice = notify.Notice

// Options are a Publisher's dependencies and settings.
type Options struct {
	Publish config.PublishConfig
	Render  config.RenderConfig
	Store   *store.Store
	// API is nil for the read-only uses (status, cancel).
	API      API
	Archive  Archive  // nil: URLs and broadcast issues are not recorded for the chat
	Notifier Notifier // nil: editors are not told
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	// Role names this process in lock holders: "cli" or "serve".
	Role string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// imageAllowAddrs are ip:port addresses remote images may be fetched
	// from although they are not public: set only by tests that serve
	// images on loopback. No configuration reaches it.
	imageAllowAddrs []string
	// RetryDelay is the first wait before a send that got no answer is
	// asked again with the same clientmsgid (default 30 s; doubled per
	// attempt, at most 15 minutes, at least a minute after 45066).
	RetryDelay time.Duration
	// OutcomeAfter is how long after a send the scheduler asks WeChat for
	// an outcome no MASSSENDJOBFINISH/PUBLISHJOBFINISH reported (default
	// 10 minutes; freepublish is asked after a fifth of it).
	OutcomeAfter time.Duration
	// MaxPolls bounds the asks for one broadcast's outcome when no job
	// report comes (default 12: the first after OutcomeAfter, then a fifth
	// of it doubling up to 2 h, about 12 h in all); then the status says
	// "unknown — check the platform".
	MaxPolls int
	// PollBudget bounds the polls of message/mass/get and of
	// freepublish/get a day, each, across replicas (default 80: WeChat
	// answers freepublish/get with 45009 past a reported 100 a day).
	PollBudget int
	// LockWait is how long a run waits for an issue another process is
	// working on (default publish.lock_ttl plus 5 s).
	LockWait time.Duration
	// SendWindow is how long after the first attempt a send whose outcome
	// is unknown may be asked again: WeChat deduplicates a clientmsgid for
	// 24 hours (default 23 h, leaving an hour for clocks to disagree).
	SendWindow time.Duration
}

// Publisher runs the pipeline. Build one with New; it is safe for
// concurrent use by the CLI, the scheduler, the inbox and job events.
type Publisher struct {
	cfg      config.PublishConfig
	renderCf config.RenderConfig
	rdb      redis.UniversalClient
	keys     store.Keys
	recs     records // the pipeline records (state.go)
	api      API
	arch     Archive
	notifier Notifier
	m        *metrics.Metrics
	log      *slog.Logger
	now      func() time.Time
	loc      *time.Location
	sched    cron.Schedule
	holder   string
	http     *http.Client

	retryDelay   time.Duration
	outcomeAfter time.Duration
	lockWait     time.Duration
	sendWindow   time.Duration
	maxPolls     int
	pollBudget   int

	inboxMu      sync.Mutex
	inboxPending map[string]inboxJob // by file, latest wins
	inboxWake    chan struct{}

	leadMu sync.Mutex
	lead   *leadership // nil when not leading

	// mem is what this process knows of the pipeline and the inbox, to
	// write back when Redis loses its data (recover.go).
	memMu     sync.Mutex
	mem       memory
	recoverMu sync.Mutex // one restore at a time
	sentMu    sync.Mutex
	sentOK    map[string]time.Time // WeChat said it went out: "msg:ID"/"job:ID" → when asked
}

// New builds a Publisher. The configuration must have been validated.
func New(o Options) (*Publisher, error) {
	if o.Store == nil {
		return nil, errors.New("publisher: no redis store")
	}
	loc, err := time.LoadLocation(o.Publish.Timezone)
	if err != nil {
		return nil, fmt.Errorf("publisher: publish.timezone %q: %w", o.Publish.Timezone, err)
	}
	sched, err := cron.ParseStandard(o.Publish.Schedule)
	if err != nil {
		return nil, fmt.Errorf("publisher: publish.schedule %q: %w", o.Publish.Schedule, err)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.Discard()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Role == "" {
		o.Role = "serve"
	}
	p := &Publisher{
		cfg: o.Publish, renderCf: o.Render, rdb: o.Store.UniversalClient, keys: o.Store.Keys,
		api: o.API, arch: o.Archive, notifier: o.Notifier, m: o.Metrics, log: o.Log, now: o.Now,
		loc: loc, sched: sched, http: imageClient(o.Publish.ImageHosts, o.imageAllowAddrs),
		retryDelay: o.RetryDelay, outcomeAfter: o.OutcomeAfter, lockWait: o.LockWait, sendWindow: o.SendWindow,
		maxPolls: o.MaxPolls, pollBudget: o.PollBudget,
		inboxPending: map[string]inboxJob{}, inboxWake: make(chan struct{}, 1),
		mem:    memory{records: map[int]known{}, seen: map[string]string{}},
		sentOK: map[string]time.Time{},
	}
	p.recs = o.Store.Records()
	if p.cfg.MaxPerDay < 1 {
		p.cfg.MaxPerDay = 1
	}
	if p.cfg.LockTTL < time.Second {
		p.cfg.LockTTL = 15 * time.Second
	}
	if p.cfg.PollInterval <= 0 {
		p.cfg.PollInterval = time.Second
	}
	if p.cfg.Mode == "" {
		p.cfg.Mode = "mass"
	}
	if p.retryDelay <= 0 {
		p.retryDelay = 30 * time.Second
	}
	if p.outcomeAfter <= 0 {
		p.outcomeAfter = 10 * time.Minute
	}
	if p.lockWait <= 0 {
		p.lockWait = p.cfg.LockTTL + 5*time.Second
	}
	if p.sendWindow <= 0 {
		p.sendWindow = 23 * time.Hour
	}
	if p.maxPolls <= 0 {
		p.maxPolls = 12
	}
	if p.pollBudget <= 0 {
		p.pollBudget = 80
	}
	host, _ := os.Hostname()
	p.holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), o.Role)
	return p, nil
}

// Location is publish.timezone.
func (p *Publisher) Location() *time.Location { return p.loc }

// NextSlot is the first publish.schedule slot strictly after t.
func (p *Publisher) NextSlot(t time.Time) time.Time { return p.sched.Next(t.In(p.loc)) }

// nextDaySlot is the first slot on a later day (in publish.timezone) than
// t: where an issue goes when t's day has no broadcast left.
func (p *Publisher) nextDaySlot(t time.Time) time.Time {
	day := p.day(t)
	s := p.NextSlot(t)
	for i := 0; i < 1000 && p.day(s) == day; i++ {
		s = p.NextSlot(s)
	}
	return s
}

// day is t's date in publish.timezone: the unit of publish.max_per_day.
func (p *Publisher) day(t time.Time) string { return t.In(p.loc).Format(time.DateOnly) }

// fmtTime shows a time to editors, in publish.timezone.
func (p *Publisher) fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(p.loc).Format("Mon 2006-01-02 15:04:05 MST")
}

// renderOptions is render.* with the uploaded image URLs.
func (p *Publisher) renderOptions(images map[string]string) render.Options {
	o := render.OptionsFrom(p.renderCf)
	o.ImageURLs = images
	return o
}

// notify tells the editors, logging rather than failing: a broken notice
// must not stop a broadcast.
func (p *Publisher) notify(ctx context.Context, n Notice) {
	if p.notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.notifier.Notify(ctx, n); err != nil && !errors.Is(err, wechat.ErrNotConfigured) {
		p.log.Warn("publisher: notice to the editors failed", slog.String("kind", string(n.Kind)), slog.Int("issue", n.Number), slog.Any("error", err))
	}
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// clientMsgID derives the mass send's clientmsgid from the issue number
// and its content: the same content always gets the same id (so a resend
// is deduplicated by WeChat), an edit before the send a new one. It fits
// wechat.MaxClientMsgID (32 bytes): "wxbot54-" and as much of the content
// hash as fits, at most 24 hex digits (96 bits, for the edits of one issue).
func clientMsgID(number int, contentHash string) string {
	prefix := fmt.Sprintf("wxbot%d-", number)
	n := min(24, wechat.MaxClientMsgID-len(prefix), len(contentHash))
	if n < 0 {
		n = 0
	}
	return prefix + contentHash[:n]
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
