package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/store"
)

// Channel delivers a notice's text somewhere. A channel with several
// recipients that must not be sent twice (the admins) lists them in
// Targets; each target is tried and retried on its own.
type Channel interface {
	Name() string
	// Targets are the recipients tried one by one; a single "" when the
	// channel sends to all of them at once.
	Targets() []string
	Send(ctx context.Context, target string, n Notice, text string) error
}

// ErrSkipped is returned (wrapped) by a channel that did not try: the
// target cannot be reached now (WeChat's window closed). Not retried.
var ErrSkipped = errors.New("notify: skipped")

// Options are a Notifier's dependencies.
type Options struct {
	Store    *store.Store // nil: no dedupe, no failure record
	Channels []Channel
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	Location *time.Location // times in the notices; nil: UTC
	// DedupeTTL is how long a notice's claim lasts (default 24 h).
	DedupeTTL time.Duration
	// Tries bounds the attempts per channel and target (default 5), the
	// first inline in Notify; Backoff is the first wait (default 10 s),
	// tripled each time (10 s, 30 s, 90 s, 270 s).
	Tries   int
	Backoff time.Duration
	// MaxPending bounds the retries waiting at once (default 64); more are
	// given up and recorded as failures.
	MaxPending int
}

// Notifier delivers notices on its channels. It implements
// publisher.Notifier. Close stops the retries.
type Notifier struct {
	o    Options
	log  *slog.Logger
	m    *metrics.Metrics
	sem  chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// New builds a notifier.
func New(o Options) *Notifier {
	if o.DedupeTTL <= 0 {
		o.DedupeTTL = 24 * time.Hour
	}
	if o.Tries <= 0 {
		o.Tries = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 10 * time.Second
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 64
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	n := &Notifier{o: o, log: o.Log, m: o.Metrics, sem: make(chan struct{}, o.MaxPending), done: make(chan struct{})}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.m == nil {
		n.m = metrics.Discard()
	}
	return n
}

// Channels names the notifier's channels.
func (n *Notifier) Channels() []string {
	var out []string
	for _, c := range n.o.Channels {
		out = append(out, c.Name())
	}
	return out
}

// Close stops the pending retries (they are recorded as failures) and
// waits for them.
func (n *Notifier) Close() {
	n.once.Do(func() { close(n.done) })
	n.wg.Wait()
}

// Notify delivers the notice: once across the replicas (the first to
// claim its id), on every channel, each tried once now and retried in the
// background on failure. The error joins the first attempts' failures
// (retries follow); nil when every channel took it or it was a duplicate.
func (n *Notifier) Notify(ctx context.Context, nt Notice) error {
	if len(n.o.Channels) == 0 {
		return nil
	}
	if !n.claim(ctx, nt) {
		n.m.Notices.WithLabelValues("any", "duplicate").Inc()
		return nil
	}
	text := Text(nt, n.o.Location)
	var errs []error
	for _, c := range n.o.Channels {
		for _, target := range c.Targets() {
			if err := n.attempt(ctx, c, target, nt, text, 1); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// claim sets the notice's Redis claim; without Redis (nil store, an error)
// the notice is sent: twice is better than never.
func (n *Notifier) claim(ctx context.Context, nt Notice) bool {
	if n.o.Store == nil {
		return true
	}
	ok, err := n.o.Store.SetNX(ctx, n.o.Store.Keys.NotifySent(nt.ID()), time.Now().UTC().Format(time.RFC3339), n.o.DedupeTTL).Result()
	if err != nil {
		n.log.Warn("notify: cannot claim the notice, sending it anyway", slog.String("kind", string(nt.Kind)), slog.Any("error", err))
		return true
	}
	return ok
}

// attempt sends once; on failure it schedules the next try (while tries
// remain) and returns the error.
func (n *Notifier) attempt(ctx context.Context, c Channel, target string, nt Notice, text string, try int) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	err := c.Send(sctx, target, nt, text)
	cancel()
	switch {
	case err == nil:
		n.m.Notices.WithLabelValues(c.Name(), "sent").Inc()
		return nil
	case errors.Is(err, ErrSkipped):
		n.m.Notices.WithLabelValues(c.Name(), "skipped").Inc()
		if errors.Is(err, ErrWindow) {
			n.recordFailure(c.Name(), nt, err, try)
		}
		return nil
	case try >= n.o.Tries:
		n.m.Notices.WithLabelValues(c.Name(), "failed").Inc()
		n.recordFailure(c.Name(), nt, err, try)
		return err
	}
	if !n.retryLater(c, target, nt, text, try) {
		n.m.Notices.WithLabelValues(c.Name(), "failed").Inc()
		n.recordFailure(c.Name(), nt, fmt.Errorf("%w (not retried: too many pending or shutting down)", err), try)
		return err
	}
	n.m.Notices.WithLabelValues(c.Name(), "retry").Inc()
	return err
}

func (n *Notifier) retryLater(c Channel, target string, nt Notice, text string, try int) bool {
	select {
	case <-n.done:
		return false
	default:
	}
	select {
	case n.sem <- struct{}{}:
	default:
		return false
	}
	wait := n.o.Backoff
	for i := 1; i < try; i++ {
		wait *= 3
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-n.done:
			<-n.sem
			n.m.Notices.WithLabelValues(c.Name(), "failed").Inc()
			n.recordFailure(c.Name(), nt, errors.New("not retried: wxbot stopped"), try)
			return
		case <-t.C:
		}
		<-n.sem
		if err := n.attempt(context.Background(), c, target, nt, text, try+1); err != nil {
			n.log.Warn("notify: notice not delivered", slog.String("channel", c.Name()), slog.String("kind", string(nt.Kind)),
				slog.Int("issue", nt.Number), slog.Int("try", try+1), slog.Any("error", err))
		}
	}()
	return true
}

// Failure is one notice a channel could not deliver, for status.
type Failure struct {
	At     time.Time `json:"at"`
	Kind   Kind      `json:"kind"`
	Number int       `json:"number,omitempty"`
	Tries  int       `json:"tries"`
	Error  string    `json:"error"`
}

const keepFailures = 20

func (n *Notifier) recordFailure(channel string, nt Notice, err error, tries int) {
	if n.o.Store == nil {
		return
	}
	b, _ := json.Marshal(Failure{At: time.Now().UTC(), Kind: nt.Kind, Number: nt.Number, Tries: tries, Error: err.Error()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rerr := store.RecordNoticeFailure(ctx, n.o.Store.UniversalClient, n.o.Store.Keys, channel, b, keepFailures); rerr != nil {
		n.log.Warn("notify: cannot record the failure", slog.String("channel", channel), slog.Any("error", rerr))
	}
}

// ChannelNames are the channels' names, for status.
var ChannelNames = []string{"wecom", "smtp", "wechat"}

// Failures returns the last delivery failures per channel, newest first.
func Failures(ctx context.Context, st *store.Store) (map[string][]Failure, error) {
	out := map[string][]Failure{}
	for _, ch := range ChannelNames {
		raws, err := st.LRange(ctx, st.Keys.NotifyFailures(ch), 0, keepFailures-1).Result()
		if err != nil {
			return nil, err
		}
		for _, r := range raws {
			var f Failure
			if json.Unmarshal([]byte(r), &f) == nil {
				out[ch] = append(out[ch], f)
			}
		}
	}
	return out, nil
}

// IsContact reports whether openid is one of publish.admins (the bot asks
// for every push; an in-memory check).
func (n *Notifier) IsContact(openid string) bool {
	if n == nil {
		return false
	}
	for _, c := range n.o.Channels {
		if a, ok := c.(*Admins); ok && slices.Contains(a.OpenID, openid) {
			return true
		}
	}
	return false
}

// Wrote tells the notifier that openid sent a message to the account: if
// they are an admin WeChat refused, their customer-service window is open
// again. The bot's inbound message path can call it; nil-safe.
func (n *Notifier) Wrote(ctx context.Context, openid string) error {
	if n == nil {
		return nil
	}
	for _, c := range n.o.Channels {
		if a, ok := c.(*Admins); ok {
			return a.Wrote(ctx, openid)
		}
	}
	return nil
}
