package publisher

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Run is the publisher's part of `wxbot serve`: it resumes unfinished
// issues, then, every publish.poll_interval, takes or keeps the scheduler
// leadership and, while leading, runs the issues that are due — sends at
// their slot (slots missed while no replica ran are sent unless older
// than publish.max_delay), re-sends not yet confirmed, outcome polls —
// and handles inbox files. It returns when ctx ends, releasing the leader
// lock.
func (p *Publisher) Run(ctx context.Context) error {
	if p.api == nil {
		return errors.New("publisher: no WeChat API client configured")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.inboxWorker(ctx)
	}()
	defer func() { <-done }()

	p.checkRedis(ctx) // the epoch this process starts from
	p.Resume(ctx)
	t := time.NewTicker(p.cfg.PollInterval)
	defer t.Stop()
	sweepEvery := max(1, int((10*time.Second)/p.cfg.PollInterval))
	var lead *leadership
	failing := false // log a Redis outage once, not every poll
	defer func() {
		if lead != nil {
			p.setLead(nil)
			p.resign(lead)
		}
	}()
	for i := 0; ; i++ {
		if i > 0 && ctx.Err() == nil {
			p.checkRedis(ctx)
		}
		if lead != nil && lead.ctx.Err() != nil {
			p.setLead(nil)
			p.resign(lead)
			lead = nil
		}
		if lead == nil && ctx.Err() == nil {
			l, err := p.tryLead(ctx)
			if err != nil && !failing && ctx.Err() == nil {
				p.log.Warn("publisher: scheduler lock unavailable; retrying every poll", slog.Any("error", err))
			}
			if err == nil && failing {
				p.log.Info("publisher: scheduler lock reachable again")
			}
			failing = err != nil
			if l != nil {
				lead = l
				p.setLead(l)
				i = 0 // sweep at once: resume what a previous leader left
			}
		}
		if lead != nil {
			if i%sweepEvery == 0 {
				p.Resume(lead.ctx)
				p.syncGate(lead.ctx)
			}
			p.tick(lead)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Publisher) setLead(l *leadership) {
	p.leadMu.Lock()
	defer p.leadMu.Unlock()
	p.lead = l
}

// tick runs every issue whose next action is due, earliest first (equal
// times by issue number), so that when publish.max_per_day stops some,
// the earlier issues go first and the later ones are deferred in order.
func (p *Publisher) tick(lead *leadership) {
	now := p.now()
	zs, err := p.rdb.ZRangeByScoreWithScores(lead.ctx, p.keys.PublishSchedule(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: 100,
	}).Result()
	if err != nil {
		if lead.ctx.Err() == nil {
			p.log.Warn("publisher: read the schedule", slog.Any("error", err))
		}
		return
	}
	type due struct {
		n  int
		at float64
	}
	var list []due
	for _, z := range zs {
		s, _ := z.Member.(string)
		n, err := strconv.Atoi(s)
		if err != nil {
			_ = p.rdb.ZRem(lead.ctx, p.keys.PublishSchedule(), z.Member).Err()
			continue
		}
		list = append(list, due{n, z.Score})
	}
	slices.SortFunc(list, func(a, b due) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.n, b.n)
	})
	for _, d := range list {
		if lead.ctx.Err() != nil {
			return
		}
		if err := p.runDue(lead, d.n); err != nil && !errors.Is(err, ErrBusy) && lead.ctx.Err() == nil {
			p.log.Warn("publisher: scheduled work", slog.Int("issue", d.n), slog.Any("error", err))
		}
	}
}

// runDue does the leader's action on issue n under the issue's lock, with
// writes fenced by the leadership.
func (p *Publisher) runDue(lead *leadership, n int) error {
	lk, lctx, err := p.lockIssue(lead.ctx, n, 0)
	if err != nil {
		return err
	}
	defer lk.release()
	rec, err := p.load(lctx, n)
	if err != nil {
		return err
	}
	if rec == nil {
		return p.rdb.ZRem(lctx, p.keys.PublishSchedule(), strconv.Itoa(n)).Err()
	}
	r := &run{p: p, ctx: lctx, g: guard{lockToken: lk.token, leaderToken: lead.token, fence: lead.fence}, rec: rec, res: &Result{Number: n}}
	switch rec.State {
	case StateScheduled:
		if rec.Due.After(p.now().Add(time.Second)) {
			// Rescheduled meanwhile: put the entry back at its time.
			return p.rdb.ZAdd(lctx, p.keys.PublishSchedule(), redis.Z{Score: float64(rec.Due.UnixMilli()), Member: strconv.Itoa(n)}).Err()
		}
		return r.send()
	case StateSending:
		return r.send()
	case StateSent:
		return r.pollOutcome()
	case StateFinished:
		return r.lookupURLs() // urls.go: a mass send's article URLs no report gave
	}
	return p.rdb.ZRem(lctx, p.keys.PublishSchedule(), strconv.Itoa(n)).Err()
}

// Resume continues what crashed or interrupted runs left: preparations
// short of their goal are taken on (an issue another process is working
// on is left to it), and issues waiting for the scheduler (scheduled,
// sending, sent) get their schedule entry back if Redis lost it, and
// article URLs the archive missed (Redis failed between the record's write
// and the archive's) are recorded again. It is safe to run on every
// replica at once.
func (p *Publisher) Resume(ctx context.Context) {
	nums, err := p.rdb.SMembers(ctx, p.keys.PublishIssues()).Result()
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("publisher: resume: list issues", slog.Any("error", err))
		}
		return
	}
	for _, s := range nums {
		if ctx.Err() != nil {
			return
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		rec, err := p.load(ctx, n)
		if err != nil || rec == nil {
			continue
		}
		if len(rec.URLs) > 0 && p.arch != nil && !slices.Equal(p.arch.URLs(n), rec.URLs) {
			p.setURLs(ctx, n, rec.URLs)
		}
		switch rec.State {
		case StateScheduled, StateSending, StateSent:
			at := rec.Due
			if rec.State != StateScheduled || at.IsZero() {
				at = p.now()
			}
			_ = p.rdb.ZAddNX(ctx, p.keys.PublishSchedule(), redis.Z{Score: float64(at.UnixMilli()), Member: s}).Err()
			continue
		}
		if rec.goalReached() || p.api == nil {
			continue
		}
		if err := p.resumeIssue(ctx, n); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
			p.log.Warn("publisher: resume", slog.Int("issue", n), slog.Any("error", err))
		}
	}
}

// resumeIssue takes issue n on from its recorded state towards its goal.
func (p *Publisher) resumeIssue(ctx context.Context, n int) error {
	lk, lctx, err := p.lockIssue(ctx, n, 0)
	if err != nil {
		return err
	}
	defer lk.release()
	rec, err := p.load(lctx, n)
	if err != nil || rec == nil || rec.goalReached() {
		return err
	}
	p.log.Info("publisher: resuming issue", slog.Int("issue", n), slog.String("state", string(rec.State)), slog.String("goal", string(rec.Goal)))
	// Only preparation: sends are the leader's (an issue whose goal was
	// "now" is scheduled for now and the leader sends it next tick).
	r := &run{p: p, ctx: lctx, g: guard{lockToken: lk.token}, rec: rec, res: &Result{Number: n}}
	return r.advance()
}

// ParseAt reads a --at time: RFC 3339 ("2026-11-30T09:00:00+08:00"), a
// date and time in publish.timezone ("2026-11-30 09:00", with optional
// seconds), a delay from now ("+90s", "+2h"), or Unix seconds
// ("1795914000"). A time more than grace in the past is refused.
func ParseAt(s string, loc *time.Location, now time.Time, grace time.Duration) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	var err error
	if d, ok := strings.CutPrefix(s, "+"); ok {
		delay, derr := time.ParseDuration(d)
		if derr != nil || delay < 0 {
			return time.Time{}, fmt.Errorf("--at %q: a delay is a Go duration after +, like +90s or +2h30m", s)
		}
		return now.Add(delay), nil
	}
	if len(s) >= 9 && strings.Trim(s, "0123456789") == "" {
		if sec, perr := strconv.ParseInt(s, 10, 64); perr == nil {
			t = time.Unix(sec, 0)
			if t.Before(now.Add(-grace)) {
				return time.Time{}, pastError(t, now, loc)
			}
			return t, nil
		}
	}
	if t, err = time.Parse(time.RFC3339, s); err != nil {
		for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
			if t, err = time.ParseInLocation(layout, s, loc); err == nil {
				break
			}
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want RFC 3339 (2026-11-30T09:00:00+08:00), \"2026-11-30 09:00\" in %s, a delay (+90s) or Unix seconds", s, loc)
	}
	if t.Before(now.Add(-grace)) {
		return time.Time{}, pastError(t, now, loc)
	}
	return t, nil
}

func pastError(t, now time.Time, loc *time.Location) error {
	return fmt.Errorf("--at %s is in the past (now %s); use --now to send at once",
		t.In(loc).Format("2006-01-02 15:04:05 MST"), now.In(loc).Format("2006-01-02 15:04:05 MST"))
}
