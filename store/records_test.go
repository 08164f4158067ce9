package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/internal/redistest"
)

// A record change lands only at the rev it was read at, writes only the
// fields that changed, deletes those gone, and takes its side effects
// (index, schedule, link) with it.
func TestCommitRecordWritesTheDifferenceAtItsRev(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	rs := NewRecords(rdb, k)

	v1 := map[string]string{"number": "54", "state": "parsed", "file": "no54.md"}
	if err := rs.CommitRecord(ctx, RecordGuard{}, 54, 0, nil, v1, nil); err != nil {
		t.Fatal(err)
	}
	got, err := rs.LoadRecord(ctx, 54)
	if err != nil || got["state"] != "parsed" || got["file"] != "no54.md" || got["rev"] != "1" {
		t.Fatalf("after the first write: %v, %v", got, err)
	}
	v2 := map[string]string{"number": "54", "state": "scheduled", "due": "1700000000000"}
	due := time.UnixMilli(1700000000000)
	ops := []RecordOp{{Op: OpSchedule, Score: due.UnixMilli()}, {Op: OpLink, Link: k.PublishMsg("777")}}
	if err := rs.CommitRecord(ctx, RecordGuard{}, 54, 1, got, v2, ops); err != nil {
		t.Fatal(err)
	}
	got, _ = rs.LoadRecord(ctx, 54)
	if got["state"] != "scheduled" || got["due"] != "1700000000000" || got["rev"] != "2" {
		t.Fatalf("after the change: %v", got)
	}
	if _, ok := got["file"]; ok {
		t.Fatalf("a field gone from the record is still there: %v", got)
	}
	if s, err := rdb.ZScore(ctx, k.PublishSchedule(), "54").Result(); err != nil || int64(s) != due.UnixMilli() {
		t.Fatalf("schedule entry %v, %v", s, err)
	}
	if v, _ := rdb.Get(ctx, k.PublishMsg("777")).Result(); v != "54" {
		t.Fatalf("msg link holds %q", v)
	}
	if nums, _ := rs.Numbers(ctx); len(nums) != 1 || nums[0] != 54 {
		t.Fatalf("index %v", nums)
	}
	// A writer that read rev 1 is refused and changes nothing.
	stale := map[string]string{"number": "54", "state": "cancelled"}
	if err := rs.CommitRecord(ctx, RecordGuard{}, 54, 1, v1, stale, []RecordOp{{Op: OpUnschedule}}); !errors.Is(err, ErrRecordChanged) {
		t.Fatalf("stale write: %v, want ErrRecordChanged", err)
	}
	if got, _ := rs.LoadRecord(ctx, 54); got["state"] != "scheduled" || got["rev"] != "2" {
		t.Fatalf("a refused write changed the record: %v", got)
	}
	if n, _ := rdb.ZCard(ctx, k.PublishSchedule()).Result(); n != 1 {
		t.Fatal("a refused write took its side effect")
	}
}

// The guard: the issue lock's token, the leader's token with the current
// fence, and the day's quota must all still hold.
func TestCommitRecordGuard(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	rs := NewRecords(rdb, k)
	rdb.Set(ctx, k.PublishLock(7), "cli/abc", time.Minute)
	rdb.Set(ctx, k.PublishLeader(), "serve/def", time.Minute)
	rdb.Set(ctx, k.PublishFence(), "3", 0)
	rec := map[string]string{"number": "7", "state": "sending"}
	quota := []RecordOp{{Op: OpQuota, Max: 1, TTL: time.Hour.Milliseconds(), Day: "2026-12-02"}}
	for _, c := range []struct {
		name string
		g    RecordGuard
		ops  []RecordOp
		want error
	}{
		{"another lock holder", RecordGuard{LockToken: "cli/xyz"}, nil, ErrLockLost},
		{"another leader", RecordGuard{LockToken: "cli/abc", LeaderToken: "serve/zzz", Fence: 3}, nil, ErrFenced},
		{"an old fence", RecordGuard{LockToken: "cli/abc", LeaderToken: "serve/def", Fence: 2}, nil, ErrFenced},
		{"holder and leader, quota free", RecordGuard{LockToken: "cli/abc", LeaderToken: "serve/def", Fence: 3}, quota, nil},
	} {
		if err := rs.CommitRecord(ctx, c.g, 7, 0, nil, rec, c.ops); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if n, _ := rdb.Get(ctx, k.PublishSent("2026-12-02")).Int(); n != 1 {
		t.Fatalf("quota counted %d, want 1", n)
	}
	if ttl := rdb.PTTL(ctx, k.PublishSent("2026-12-02")).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("quota TTL %v", ttl)
	}
	if err := rs.CommitRecord(ctx, RecordGuard{LockToken: "cli/abc"}, 7, 1, rec, map[string]string{"number": "7", "state": "sent"}, quota); !errors.Is(err, ErrQuotaUsed) {
		t.Fatalf("second send of the day: %v, want ErrQuotaUsed", err)
	}
	unq := []RecordOp{{Op: OpUnquota, Day: "2026-12-02"}}
	if err := rs.CommitRecord(ctx, RecordGuard{}, 7, 1, rec, map[string]string{"number": "7", "state": "failed"}, unq); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Get(ctx, k.PublishSent("2026-12-02")).Int(); n != 0 {
		t.Fatalf("quota after giving it back: %d", n)
	}
}

// A remembered record is written back where there is none or only an
// older restored copy, never over a record written since; its schedule
// entry, links and quota come with it once.
func TestRestoreRecord(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := Keys{Prefix: "wxbot:"}
	rs := NewRecords(rdb, k)
	at := time.UnixMilli(1700000000000)
	r := Restore{Number: 54, Fields: map[string]string{"number": "54", "state": "sent", "rev": "9", "updated": "100"},
		Updated: time.UnixMilli(100), ScheduleAt: at, QuotaDay: "2026-12-02", QuotaTTL: 48 * time.Hour, MsgID: 777, PublishID: "p1"}
	if ok, err := rs.RestoreRecord(ctx, r); err != nil || !ok {
		t.Fatalf("restore into an empty Redis: %v, %v", ok, err)
	}
	got, _ := rs.LoadRecord(ctx, 54)
	if got["state"] != "sent" || got["rev"] != "9" {
		t.Fatalf("restored %v", got)
	}
	if ok, _ := rs.Restored(ctx, 54); !ok {
		t.Fatal("not marked restored")
	}
	if s, _ := rdb.ZScore(ctx, k.PublishSchedule(), "54").Result(); int64(s) != at.UnixMilli() {
		t.Fatalf("schedule %v", s)
	}
	if a, b := rdb.Get(ctx, k.PublishMsg("777")).Val(), rdb.Get(ctx, k.PublishJob("p1")).Val(); a != "54" || b != "54" {
		t.Fatalf("links %q %q", a, b)
	}
	// Another replica's older memory does not replace it, nor count the send again.
	older := r
	older.Updated, older.Fields = time.UnixMilli(50), map[string]string{"number": "54", "state": "scheduled", "rev": "8"}
	if ok, _ := rs.RestoreRecord(ctx, older); ok {
		t.Fatal("an older memory replaced a newer restored record")
	}
	newer := r
	newer.Updated, newer.Fields = time.UnixMilli(200), map[string]string{"number": "54", "state": "finished", "rev": "10", "updated": "200"}
	if ok, _ := rs.RestoreRecord(ctx, newer); !ok {
		t.Fatal("a newer memory did not replace an older restored record")
	}
	if n, _ := rdb.Get(ctx, k.PublishSent("2026-12-02")).Int(); n != 1 {
		t.Fatalf("quota counted %d times, want once", n)
	}
	// A record the pipeline wrote is never replaced.
	if err := rs.CommitRecord(ctx, RecordGuard{}, 55, 0, nil, map[string]string{"number": "55", "state": "parsed"}, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := rs.RestoreRecord(ctx, Restore{Number: 55, Fields: map[string]string{"number": "55", "state": "sent"}, Updated: time.Now()}); ok {
		t.Fatal("a restore replaced a record the pipeline wrote")
	}
	if ok, _ := rs.Restored(ctx, 55); ok {
		t.Fatal("a pipeline record reads as restored")
	}
}

// On Cluster every key of a record change and of a restore is on one
// slot ({publish}), or the scripts would be refused (CROSSSLOT).
func TestRecordsOnCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	ctx := context.Background()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	rs := NewRecords(rdb, Keys{Prefix: "wxbot:"})
	ops := []RecordOp{{Op: OpSchedule, Score: 1}, {Op: OpQuota, Max: 4, TTL: 1000, Day: "2026-12-02"}, {Op: OpLink, Link: rs.keys.PublishJob("j")}}
	for n := 1; n <= 3; n++ {
		rec := map[string]string{"number": strconv.Itoa(n), "state": "sending"}
		if err := rs.CommitRecord(ctx, RecordGuard{LockToken: ""}, n, 0, nil, rec, ops); err != nil {
			t.Fatalf("commit %d on cluster: %v", n, err)
		}
		if _, err := rs.RestoreRecord(ctx, Restore{Number: n + 10, Fields: rec, Updated: time.Now(), ScheduleAt: time.Now(), QuotaDay: "x", MsgID: 5}); err != nil {
			t.Fatalf("restore %d on cluster: %v", n, err)
		}
	}
	if nums, err := rs.Numbers(ctx); err != nil || len(nums) != 6 {
		t.Fatalf("records %v, %v", nums, err)
	}
	// The placeholder of a link not asked for is never set.
	if n := rdb.Exists(ctx, rs.keys.PublishJob("none")).Val(); n != 0 {
		t.Fatal("a restore without a publish_id linked the placeholder")
	}
}
