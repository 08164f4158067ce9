package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/store"
)

// Redis may come back empty (a restart without persistence, a FLUSHALL, a
// new server behind the same address). The pipeline's records, the
// schedule and the inbox's memory of the files it handled would then be
// gone: an issue waiting for its slot would never be sent, and the inbox,
// finding no baseline, would take every file for one seen for the first
// time and drop the next new issue unannounced. So each process keeps in
// memory what it last read or wrote of each issue and of the inbox, and a
// marker in Redis (the epoch, a random id set once) tells it the data is
// gone: it writes back what it remembers — never over what was written
// since — and tells the editors which issues were scheduled.

// memory is what this process last knew of the pipeline and the inbox.
type memory struct {
	epoch   string            // the epoch this process saw; "" before the first look
	records map[int]known     // by issue number, as last read or written
	seen    map[string]string // the inbox's seen hash as last read, with this process's writes
	// lost is an epoch found gone: after noticeGrace, when every replica
	// that noticed has written back what it knew, one tells the editors.
	lost    string
	lostAt  time.Time
	lostOld []*Record // known from too long ago to be written back
}

type known struct {
	rec *Record
	at  time.Time // when this process read or wrote it
}

// freshFor is how recent a remembered record must be to be written back:
// the leader's sweep reads every record each 10 s; an older memory (a
// replica that read the record once at start) may miss a send since, and
// writing it back could send an issue again.
const freshFor = time.Minute

// noticeGrace is how long after noticing a loss the editors are told:
// time for every replica (they look each poll) to write back what it knew,
// so the notice lists what all of them restored.
const noticeGrace = 3 * time.Second

// remember keeps rec as this process's latest knowledge of its issue. The
// source is kept only while the issue is being prepared (Resume needs it);
// beyond, the record is small.
func (p *Publisher) remember(rec *Record) {
	if rec == nil || rec.Number <= 0 || rec.Rev == 0 {
		return
	}
	c := rec.clone()
	if c.State.rank() >= StateScheduled.rank() || c.State == StateFailed || c.State == StateCancelled {
		c.Source = nil
	}
	p.memMu.Lock()
	defer p.memMu.Unlock()
	if old, ok := p.mem.records[c.Number]; ok && old.rec.Updated.After(c.Updated) {
		return
	}
	p.mem.records[c.Number] = known{rec: c, at: time.Now()}
}

// rememberInbox replaces the remembered inbox seen hash with the whole of
// it as just read (files gone from the inbox are forgotten).
func (p *Publisher) rememberInbox(seen map[string]string) {
	p.memMu.Lock()
	defer p.memMu.Unlock()
	p.mem.seen = maps.Clone(seen)
}

// rememberSeen records inbox seen-hash fields this process wrote.
func (p *Publisher) rememberSeen(fields map[string]string) {
	p.memMu.Lock()
	defer p.memMu.Unlock()
	maps.Copy(p.mem.seen, fields)
}

// redisRecords is the record store in Redis itself: restoring after a
// loss is about Redis, whatever the records interface is.
func (p *Publisher) redisRecords() *store.Records { return store.NewRecords(p.rdb, p.keys) }

// epochField holds the epoch in the store.Keys.PublishEpoch hash; the
// other fields ("lost:OLD") claim the notice of a loss, once.
const epochField = "id"

// checkRedis notices that Redis lost the publisher's data — its epoch is
// gone or replaced since this process last looked — and then writes back
// what this process remembers and, a moment later, tells the editors
// (once, whichever replica claims it). Run calls it every poll and the
// inbox hook before it reads the inbox's memory. It reports whether a
// loss was found.
func (p *Publisher) checkRedis(ctx context.Context) bool {
	lost := p.noticeLoss(ctx)
	p.claimLossNotice(ctx)
	if lost {
		// Unfinished preparations go on; waiting issues get their schedule entry.
		p.Resume(ctx)
	}
	return lost
}

func (p *Publisher) noticeLoss(ctx context.Context) bool {
	p.recoverMu.Lock()
	defer p.recoverMu.Unlock()
	key := p.keys.PublishEpoch()
	cur, err := p.rdb.HGet(ctx, key, epochField).Result()
	if err != nil && err != redis.Nil {
		return false
	}
	p.memMu.Lock()
	was := p.mem.epoch
	p.memMu.Unlock()
	if cur != "" && cur == was {
		return false
	}
	if cur == "" {
		if err := p.rdb.HSetNX(ctx, key, epochField, store.RandomToken(16)).Err(); err != nil {
			return false
		}
		if cur, err = p.rdb.HGet(ctx, key, epochField).Result(); err != nil {
			return false
		}
	}
	p.memMu.Lock()
	p.mem.epoch = cur
	p.memMu.Unlock()
	if was == "" {
		return false // the first look: nothing was known before
	}
	p.log.Warn("publisher: redis lost its data (restarted empty or flushed); restoring the pipeline and the inbox from this replica's memory")
	restored, stale := p.restore(ctx)
	p.memMu.Lock()
	p.mem.lost, p.mem.lostAt, p.mem.lostOld = was, time.Now(), stale
	p.memMu.Unlock()
	p.log.Info("publisher: restored after redis lost its data", slog.Int("issues", len(restored)),
		slog.Int("not_restored_old", len(stale)))
	return true
}

// claimLossNotice tells the editors of a loss this process noticed,
// unless another replica did, listing the records written back (by any
// replica) as Redis now holds them.
func (p *Publisher) claimLossNotice(ctx context.Context) {
	p.memMu.Lock()
	lost, at, old := p.mem.lost, p.mem.lostAt, p.mem.lostOld
	if lost == "" || time.Since(at) < noticeGrace {
		p.memMu.Unlock()
		return
	}
	p.mem.lost, p.mem.lostOld = "", nil
	p.memMu.Unlock()
	ok, err := p.rdb.HSetNX(ctx, p.keys.PublishEpoch(), "lost:"+lost, p.now().Format(time.RFC3339)).Result()
	if err != nil || !ok {
		return
	}
	var restored []*Record
	nums, _ := p.redisRecords().Numbers(ctx)
	have := map[int]bool{}
	for _, n := range nums {
		if ok, _ := p.redisRecords().Restored(ctx, n); !ok {
			continue
		}
		if rec, err := p.load(ctx, n); err == nil && rec != nil {
			restored = append(restored, rec)
			have[n] = true
		}
	}
	slices.SortFunc(restored, func(a, b *Record) int { return a.Number - b.Number })
	old = slices.DeleteFunc(old, func(r *Record) bool { return have[r.Number] })
	p.notify(ctx, Notice{Kind: notify.StateLost, Reason: p.lossNotice(restored, old)})
}

// restore writes back the remembered records known lately and the inbox
// memory; it returns the records it wrote back and those it knew only
// from longer ago (not written back: they may be out of date).
func (p *Publisher) restore(ctx context.Context) (restored, stale []*Record) {
	p.memMu.Lock()
	for _, n := range slices.Sorted(maps.Keys(p.mem.records)) {
		k := p.mem.records[n]
		if time.Since(k.at) < freshFor {
			restored = append(restored, k.rec.clone())
		} else {
			stale = append(stale, k.rec.clone())
		}
	}
	seen := maps.Clone(p.mem.seen)
	p.memMu.Unlock()

	for _, rec := range restored {
		r := store.Restore{Number: rec.Number, Fields: rec.fields(), Updated: rec.Updated,
			MsgID: rec.MsgID, PublishID: rec.PublishID}
		switch rec.State {
		case StateScheduled:
			if !rec.Due.IsZero() {
				r.ScheduleAt = rec.Due
				break
			}
			fallthrough
		case StateSending, StateSent:
			r.ScheduleAt = p.now()
		}
		if rec.QuotaDay != "" && rec.sendStarted() {
			r.QuotaDay, r.QuotaTTL = rec.QuotaDay, 48*time.Hour
		}
		if _, err := p.redisRecords().RestoreRecord(ctx, r); err != nil {
			p.log.Warn("publisher: restore issue", slog.Int("issue", rec.Number), slog.Any("error", err))
		}
	}
	if len(seen) > 0 {
		_, err := p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for _, k := range slices.Sorted(maps.Keys(seen)) {
				pl.HSetNX(ctx, p.keys.PublishInboxSeen(), k, seen[k])
			}
			return nil
		})
		if err != nil {
			p.log.Warn("publisher: restore the inbox's seen files", slog.Any("error", err))
		}
	}
	return restored, stale
}

// lossNotice tells the editors what happened and what was restored: every
// issue waiting for its slot or its outcome by name, so none disappears
// unannounced, and those this replica knew only from longer ago.
func (p *Publisher) lossNotice(recs, old []*Record) string {
	var b strings.Builder
	b.WriteString("Redis lost wxbot's data (restarted empty or flushed). Restored from this replica's memory: ")
	waiting, preparing := p.describeWaiting(recs)
	if len(waiting) == 0 {
		b.WriteString("no issue was scheduled")
	} else {
		b.WriteString(strings.Join(waiting, "; "))
	}
	if len(preparing) > 0 {
		b.WriteString("; in preparation: " + strings.Join(preparing, "; "))
	}
	fmt.Fprintf(&b, " (%d %s in all; the inbox's record of the files it handled too).", len(recs), plural(len(recs), "issue", "issues"))
	if w, pr := p.describeWaiting(old); len(w)+len(pr) > 0 {
		b.WriteString(" Known from longer ago, NOT restored (may have changed since): " + strings.Join(append(w, pr...), "; ") + ".")
	}
	b.WriteString(" Check the schedule (wxbot status) and publish again anything missing.")
	return b.String()
}

// describeWaiting names the issues waiting for the scheduler and those being prepared.
func (p *Publisher) describeWaiting(recs []*Record) (waiting, preparing []string) {
	for _, r := range recs {
		switch r.State {
		case StateScheduled:
			waiting = append(waiting, fmt.Sprintf("No.%d scheduled for %s", r.Number, p.fmtTime(r.Due)))
		case StateSending:
			waiting = append(waiting, fmt.Sprintf("No.%d being sent", r.Number))
		case StateSent:
			waiting = append(waiting, fmt.Sprintf("No.%d sent, outcome not reported yet", r.Number))
		case StateFinished, StateFailed, StateCancelled:
		default:
			preparing = append(preparing, fmt.Sprintf("No.%d %s", r.Number, r.State))
		}
	}
	return waiting, preparing
}
