package bot

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// skewLogEvery is how often at most a push refused for its timestamp is
// logged: when the clock drifts, every push is refused, and one line a
// minute says why.
const skewLogEvery = time.Minute

// ClockSkew is what the signed pushes tell about this replica's clock.
type ClockSkew struct {
	// Skew is this clock minus the push's timestamp (WeChat's clock) at the
	// last signed push: negative when this clock is behind. It includes the
	// push's time in transit and, for WeChat's retries, up to 15 s of
	// retrying.
	Skew time.Duration
	// At is when that push arrived (zero: no signed push yet).
	At time.Time
	// Refused: that push was refused for its timestamp (outside
	// wechat.timestamp_window).
	Refused bool
	// LastRefused is when a push was last refused for its timestamp.
	LastRefused time.Time
}

// String says it the way an operator reads it: "clock 7 min behind".
func (c ClockSkew) String() string {
	if c.At.IsZero() {
		return "no signed push yet"
	}
	s := describeSkew(c.Skew)
	if c.Refused {
		s += ": pushes refused for their timestamp (wechat.timestamp_window), fix the clock (NTP)"
	} else if !c.LastRefused.IsZero() {
		s += ", a push was refused for its timestamp at " + c.LastRefused.UTC().Format(time.RFC3339)
	}
	return s
}

// describeSkew: "clock 7 min behind", "clock 42 s ahead", "clock in step".
func describeSkew(d time.Duration) string {
	secs := int64(d.Round(time.Second) / time.Second)
	dir := "ahead"
	if secs < 0 {
		dir, secs = "behind", -secs
	}
	switch {
	case secs <= 1:
		return "clock in step with WeChat's"
	case secs < 120:
		return fmt.Sprintf("clock %d s %s", secs, dir)
	case secs < 2*3600:
		return fmt.Sprintf("clock %d min %s", (secs+30)/60, dir)
	default:
		return fmt.Sprintf("clock %.1f h %s", float64(secs)/3600, dir)
	}
}

// skewWatch remembers the skew of the last signed push.
type skewWatch struct {
	mu      sync.Mutex
	last    ClockSkew
	lastLog time.Time
}

// ClockSkew reports the skew measured on the last signed push, for
// /readyz?verbose.
func (b *Bot) ClockSkew() ClockSkew {
	b.skew.mu.Lock()
	defer b.skew.mu.Unlock()
	return b.skew.last
}

// observeSkew records the skew of a push whose signature held (so the
// timestamp is WeChat's, or a replay's): the gauge always, the log at most
// once a minute when the push is refused for it.
func (b *Bot) observeSkew(d time.Duration, refused bool) {
	now := b.now()
	b.m.WebhookClockSkew.Set(d.Seconds())
	b.skew.mu.Lock()
	b.skew.last.Skew, b.skew.last.At, b.skew.last.Refused = d, now, refused
	logIt := false
	if refused {
		b.skew.last.LastRefused = now
		if b.skew.lastLog.IsZero() || now.Sub(b.skew.lastLog) >= skewLogEvery {
			b.skew.lastLog, logIt = now, true
		}
	}
	b.skew.mu.Unlock()
	if logIt {
		b.log.Warn("webhook: signed push refused for its timestamp: "+describeSkew(d)+" of WeChat's (or the push is a replay); fix the clock (NTP) — until then subscribers see 该公众号暂时无法提供服务",
			slog.Int64("skew_seconds", int64(d.Round(time.Second)/time.Second)),
			slog.Duration("window", b.window))
	}
}
