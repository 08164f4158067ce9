package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pipeline records: the publisher's state of each issue, a hash of
// fields (Keys.PublishIssue) written only through CommitRecord, which
// checks the writer's guard and applies the change's side effects on the
// schedule, the index, the day's quota and the msg_id/publish_id links in
// the same script. Every key involved shares the {publish} hash tag, so it
// runs on Cluster too. The fields' meaning is the publisher's: here they
// are names and strings.

// Records reads and writes the pipeline records.
type Records struct {
	rdb  redis.UniversalClient
	keys Keys
}

// NewRecords is the pipeline records in rdb under keys.
func NewRecords(rdb redis.UniversalClient, keys Keys) *Records {
	return &Records{rdb: rdb, keys: keys}
}

// Records is s's pipeline records.
func (s *Store) Records() *Records { return NewRecords(s.UniversalClient, s.Keys) }

// RecordGuard is what a writer must still hold for its write to land.
type RecordGuard struct {
	LockToken   string // the issue's lock; "" for writers that need none (job events)
	LeaderToken string // the scheduler's leader lock; "" unless writing as leader
	Fence       int64  // the fencing token handed out with the leadership
}

// Side effects of a record change (RecordOp.Op).
const (
	OpSchedule   = "zadd"    // put the issue on the schedule at Score (unix ms)
	OpUnschedule = "zrem"    // take it off the schedule
	OpQuota      = "quota"   // count a send against Day's quota; refused (ErrQuotaUsed) at Max
	OpUnquota    = "unquota" // give Day's count back (the send did not happen)
	OpLink       = "link"    // point the key Link (Keys.PublishMsg, Keys.PublishJob) at the issue
)

// RecordOp is one side effect committed atomically with a record change.
type RecordOp struct {
	Op    string `json:"op"`           // one of the Op… constants
	Score int64  `json:"score,string"` // OpSchedule: unix ms (a string: Lua numbers print in exponent form)
	Max   int    `json:"max"`          // OpQuota: the most sends a day
	TTL   int64  `json:"ttl,string"`   // OpQuota: ms the day's counter lives
	Day   string `json:"-"`            // OpQuota, OpUnquota: the day counted
	Link  string `json:"-"`            // OpLink: the key to point at the issue
}

// Why a guarded write is refused; nothing was written.
var (
	ErrRecordChanged = errors.New("store: the record changed meanwhile")
	ErrFenced        = errors.New("store: no longer the scheduler leader (fenced off)")
	ErrQuotaUsed     = errors.New("store: the day's send quota is used up")
	// A record written under a lost issue lock answers ErrLockLost.
)

// commitRecordScript writes a record change if the record's rev is
// unchanged, the writer still holds the issue lock and (as scheduler) the
// leadership with the current fence, and the day's quota allows a send
// when asked; then it applies the side effects.
//
//	KEYS: 1 issue hash, 2 issue lock, 3 leader, 4 fence, 5 schedule, 6 index,
//	      7 quota day counter, 8 link key
//	ARGV: 1 expected rev, 2 lock token, 3 leader token, 4 fence, 5 number,
//	      6 ops JSON, 7 count of fields to set, then field/value pairs, then fields to delete
var commitRecordScript = redis.NewScript(`
local rev = redis.call('HGET', KEYS[1], 'rev') or '0'
if rev ~= ARGV[1] then return 'conflict' end
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return 'lock' end
if ARGV[3] ~= '' then
  if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 'fence' end
  if redis.call('GET', KEYS[4]) ~= ARGV[4] then return 'fence' end
end
local ops = cjson.decode(ARGV[6])
for _, o in ipairs(ops) do
  if o.op == 'quota' then
    local n = tonumber(redis.call('GET', KEYS[7]) or '0')
    if n >= o.max then return 'quota' end
  end
end
local nset = tonumber(ARGV[7])
local i = 8
if nset > 0 then
  local args = {}
  for j = 0, 2 * nset - 1 do args[#args + 1] = ARGV[i + j] end
  redis.call('HSET', KEYS[1], unpack(args))
end
i = i + 2 * nset
if i <= #ARGV then
  local dels = {}
  for j = i, #ARGV do dels[#dels + 1] = ARGV[j] end
  redis.call('HDEL', KEYS[1], unpack(dels))
end
redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(rev) + 1))
redis.call('SADD', KEYS[6], ARGV[5])
for _, o in ipairs(ops) do
  if o.op == 'zadd' then
    redis.call('ZADD', KEYS[5], o.score, ARGV[5])
  elseif o.op == 'zrem' then
    redis.call('ZREM', KEYS[5], ARGV[5])
  elseif o.op == 'quota' then
    redis.call('INCR', KEYS[7])
    redis.call('PEXPIRE', KEYS[7], o.ttl)
  elseif o.op == 'unquota' then
    local n = tonumber(redis.call('GET', KEYS[7]) or '0')
    if n > 0 then redis.call('DECR', KEYS[7]) end
  elseif o.op == 'link' then
    redis.call('SET', KEYS[8], ARGV[5])
  end
end
return 'ok'
`)

// LoadRecord reads issue n's record fields, rev included; an empty map
// when there is none.
func (s *Records) LoadRecord(ctx context.Context, n int) (map[string]string, error) {
	f, err := s.rdb.HGetAll(ctx, s.keys.PublishIssue(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: read record %d: %w", n, err)
	}
	return f, nil
}

// CommitRecord writes issue n's change from the fields cur (as read at
// rev; nil for a new record, rev 0) to next — only the fields that differ
// are sent — with ops, provided the guard still holds: else nothing is
// written and it returns ErrRecordChanged, ErrLockLost, ErrFenced or
// ErrQuotaUsed. The record's rev becomes rev+1. A field "rev" in cur or
// next is ignored: the rev is the script's.
func (s *Records) CommitRecord(ctx context.Context, g RecordGuard, n int, rev int64, cur, next map[string]string, ops []RecordOp) error {
	if rev == 0 {
		cur = nil // a new record: write every field
	}
	var set []any
	for _, k := range slices.Sorted(maps.Keys(next)) {
		if v, ok := cur[k]; k != "rev" && (!ok || v != next[k]) {
			set = append(set, k, next[k])
		}
	}
	var del []any
	for _, k := range slices.Sorted(maps.Keys(cur)) {
		if _, ok := next[k]; k != "rev" && !ok {
			del = append(del, k)
		}
	}
	day, link := s.keys.PublishSent("none"), s.keys.PublishMsg("none")
	for _, o := range ops {
		if o.Day != "" {
			day = s.keys.PublishSent(o.Day)
		}
		if o.Link != "" {
			link = o.Link
		}
	}
	opsJSON, err := json.Marshal(append([]RecordOp{}, ops...))
	if err != nil {
		return fmt.Errorf("store: write record %d: %w", n, err)
	}
	fence := ""
	if g.LeaderToken != "" {
		fence = strconv.FormatInt(g.Fence, 10)
	}
	keys := []string{
		s.keys.PublishIssue(n), s.keys.PublishLock(n), s.keys.PublishLeader(),
		s.keys.PublishFence(), s.keys.PublishSchedule(), s.keys.PublishIssues(), day, link,
	}
	args := []any{strconv.FormatInt(rev, 10), g.LockToken, g.LeaderToken, fence,
		strconv.Itoa(n), string(opsJSON), len(set) / 2}
	args = append(args, set...)
	args = append(args, del...)
	res, err := commitRecordScript.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return fmt.Errorf("store: write record %d: %w", n, err)
	}
	switch res {
	case "ok":
		return nil
	case "conflict":
		return ErrRecordChanged
	case "lock":
		return ErrLockLost
	case "fence":
		return ErrFenced
	case "quota":
		return ErrQuotaUsed
	}
	return fmt.Errorf("store: write record %d: unexpected answer %q", n, res)
}

// restoreRecordScript writes back a remembered record: when the issue has
// no record, or only one another replica restored from an older memory. A
// record written by the pipeline since the loss is never replaced. With
// the record come its schedule entry, its msg_id and publish_id links and,
// when the send counted against the day's quota, the count.
//
//	KEYS: 1 issue hash, 2 index, 3 schedule, 4 quota day counter, 5 msg link, 6 job link
//	ARGV: 1 number, 2 updated (ms), 3 schedule score ("" for none), 4 count
//	      quota (0/1), 5 quota ttl ms, 6 link msg (0/1), 7 link job (0/1),
//	      8 count of fields, then field/value pairs
//
// Keys not needed are still passed, as placeholders on the same slot: an
// empty key name would hash elsewhere and Cluster would refuse the script.
var restoreRecordScript = redis.NewScript(`
local had = redis.call('EXISTS', KEYS[1]) == 1
if had then
  if redis.call('HGET', KEYS[1], 'restored') ~= '1' then return 0 end
  local upd = tonumber(redis.call('HGET', KEYS[1], 'updated') or '0')
  if upd >= tonumber(ARGV[2]) then return 0 end
  redis.call('DEL', KEYS[1])
end
local n = tonumber(ARGV[8])
local args = {}
for j = 9, 8 + 2 * n do args[#args + 1] = ARGV[j] end
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
if ARGV[6] == '1' and redis.call('EXISTS', KEYS[5]) == 0 then redis.call('SET', KEYS[5], ARGV[1]) end
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[6]) == 0 then redis.call('SET', KEYS[6], ARGV[1]) end
return 1
`)

// Restore is a remembered record to write back after Redis lost its data.
type Restore struct {
	Number int
	Fields map[string]string // every field, "rev" included
	// Updated is when the record was last written: it replaces another
	// restored copy only when newer (the field "updated" in unix ms).
	Updated time.Time
	// ScheduleAt puts the issue on the schedule unless it is there (zero: not).
	ScheduleAt time.Time
	// QuotaDay, when set, counts the send against that day's quota (for
	// QuotaTTL) if the record was not there at all.
	QuotaDay  string
	QuotaTTL  time.Duration
	MsgID     int64  // links the mass send's msg_id to the issue, unless linked
	PublishID string // links the publication's publish_id to the issue, unless linked
}

// RestoreRecord writes back r when Redis holds no record of its issue, or
// only one restored from an older memory; it marks the record "restored".
// It reports whether it wrote.
func (s *Records) RestoreRecord(ctx context.Context, r Restore) (bool, error) {
	score := ""
	if !r.ScheduleAt.IsZero() {
		score = strconv.FormatInt(r.ScheduleAt.UnixMilli(), 10)
	}
	quota, day := "0", s.keys.PublishSent("none")
	if r.QuotaDay != "" {
		quota, day = "1", s.keys.PublishSent(r.QuotaDay)
	}
	msgLink, jobLink := s.keys.PublishMsg("none"), s.keys.PublishJob("none")
	linkMsg, linkJob := "0", "0"
	if r.MsgID != 0 {
		msgLink, linkMsg = s.keys.PublishMsg(strconv.FormatInt(r.MsgID, 10)), "1"
	}
	if r.PublishID != "" {
		jobLink, linkJob = s.keys.PublishJob(r.PublishID), "1"
	}
	args := []any{strconv.Itoa(r.Number), strconv.FormatInt(r.Updated.UnixMilli(), 10), score, quota,
		r.QuotaTTL.Milliseconds(), linkMsg, linkJob, len(r.Fields)}
	for _, k := range slices.Sorted(maps.Keys(r.Fields)) {
		args = append(args, k, r.Fields[k])
	}
	keys := []string{s.keys.PublishIssue(r.Number), s.keys.PublishIssues(), s.keys.PublishSchedule(), day, msgLink, jobLink}
	n, err := restoreRecordScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("store: restore record %d: %w", r.Number, err)
	}
	return n == 1, nil
}

// Restored reports whether issue n's record is one RestoreRecord wrote
// back (the mark stays through later writes).
func (s *Records) Restored(ctx context.Context, n int) (bool, error) {
	v, err := s.rdb.HGet(ctx, s.keys.PublishIssue(n), "restored").Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return v == "1", err
}

// Numbers lists the issues that have a record, in no particular order.
func (s *Records) Numbers(ctx context.Context) ([]int, error) {
	raw, err := s.rdb.SMembers(ctx, s.keys.PublishIssues()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: list records: %w", err)
	}
	out := make([]int, 0, len(raw))
	for _, v := range raw {
		if n, err := strconv.Atoi(v); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}
