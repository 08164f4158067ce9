package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
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

// restoreScript writes back a remembered record: when the issue has no
// record, or only one another replica restored from an older memory. A
// record written by the pipeline since the loss is never replaced. With
// the record come its schedule entry, its msg_id and publish_id links and,
// when the send counted against the day's quota, the count.
//
//	KEYS: 1 issue hash, 2 index, 3 schedule, 4 quota day counter, 5 msg link, 6 job link
//	ARGV: 1 number, 2 updated (ms), 3 schedule score ("" for none), 4 count
//	      quota (0/1), 5 quota ttl ms, 6 count of fields, then field/value pairs
var restoreScript = redis.NewScript(`
local had = redis.call('EXISTS', KEYS[1]) == 1
if had then
  if redis.call('HGET', KEYS[1], 'restored') ~= '1' then return 0 end
  local upd = tonumber(redis.call('HGET', KEYS[1], 'updated') or '0')
  if upd >= tonumber(ARGV[2]) then return 0 end
  redis.call('DEL', KEYS[1])
end
local n = tonumber(ARGV[6])
local args = {}
for j = 7, 6 + 2 * n do args[#args + 1] = ARGV[j] end
args[#args + 1] = 'restored'
args[#args + 1] = '1'
redis.call('HSET', KEYS[1], unpack(args))
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[1])
end
if not had and ARGV[4] == '1' then
  redis.call('INCR', KEYS[4])
  redis.call('PEXPIRE', KEYS[4], ARGV[5])
end
if KEYS[5] ~= '' and redis.call('EXISTS', KEYS[5]) == 0 then redis.call('SET', KEYS[5], ARGV[1]) end
if KEYS[6] ~= '' and redis.call('EXISTS', KEYS[6]) == 0 then redis.call('SET', KEYS[6], ARGV[1]) end
return 1
`)

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
	nums, _ := p.rdb.SMembers(ctx, p.keys.PublishIssues()).Result()
	have := map[int]bool{}
	for _, s := range nums {
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		if r, _ := p.rdb.HGet(ctx, p.keys.PublishIssue(n), "restored").Result(); r != "1" {
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
		score := ""
		switch rec.State {
		case StateScheduled:
			if !rec.Due.IsZero() {
				score = strconv.FormatInt(rec.Due.UnixMilli(), 10)
				break
			}
			fallthrough
		case StateSending, StateSent:
			score = strconv.FormatInt(p.now().UnixMilli(), 10)
		}
		quota, day := "0", p.keys.PublishSent("none")
		if rec.QuotaDay != "" && rec.sendStarted() {
			quota, day = "1", p.keys.PublishSent(rec.QuotaDay)
		}
		msgLink, jobLink := "", ""
		if rec.MsgID != 0 {
			msgLink = p.keys.PublishMsg(strconv.FormatInt(rec.MsgID, 10))
		}
		if rec.PublishID != "" {
			jobLink = p.keys.PublishJob(rec.PublishID)
		}
		f := rec.fields()
		f["rev"] = strconv.FormatInt(rec.Rev, 10)
		args := []any{strconv.Itoa(rec.Number), strconv.FormatInt(rec.Updated.UnixMilli(), 10), score, quota,
			(48 * time.Hour).Milliseconds(), len(f)}
		for _, k := range slices.Sorted(maps.Keys(f)) {
			args = append(args, k, f[k])
		}
		keys := []string{p.keys.PublishIssue(rec.Number), p.keys.PublishIssues(), p.keys.PublishSchedule(), day, msgLink, jobLink}
		if err := restoreScript.Run(ctx, p.rdb, keys, args...).Err(); err != nil {
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
