package store

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/internal/redistest"
)

func TestKeepBoundedAgesAndBounds(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	const vals, at = "wxbot:{p}:early", "wxbot:{p}:early:at"
	t0 := time.Now()
	put := func(f string, now time.Time) {
		t.Helper()
		if err := KeepBounded(ctx, rdb, vals, at, f, []byte("v"+f), now, time.Hour, 3); err != nil {
			t.Fatal(err)
		}
	}
	put("a", t0)
	put("b", t0.Add(time.Minute))
	put("c", t0.Add(2*time.Minute))
	put("d", t0.Add(3*time.Minute)) // full: the oldest (a) goes
	if got := rdb.HKeys(ctx, vals).Val(); len(got) != 3 || rdb.HExists(ctx, vals, "a").Val() {
		t.Fatalf("after 4 puts with max 3: %v", got)
	}
	put("c", t0.Add(4*time.Minute)) // a field already kept replaces itself
	if n := rdb.HLen(ctx, vals).Val(); n != 3 {
		t.Fatalf("re-put of a kept field: %d fields", n)
	}
	put("e", t0.Add(63*time.Minute+time.Second)) // b (t0+1m) and d (t0+3m) older than the hour
	got := rdb.HKeys(ctx, vals).Val()
	if len(got) != 2 || !rdb.HExists(ctx, vals, "c").Val() || !rdb.HExists(ctx, vals, "e").Val() {
		t.Fatalf("after aging: %v, want c and e", got)
	}
	if ttl := rdb.PTTL(ctx, at).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("arrivals ttl %v", ttl)
	}
}

func TestSetIfChangedIsTrueOncePerValue(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	for i, c := range []struct {
		val  string
		want bool
	}{{"h1", true}, {"h1", false}, {"h2", true}, {"h1", true}} {
		got, err := SetIfChanged(ctx, rdb, "wxbot:{p}:seen", "!notified:no54.md", c.val)
		if err != nil || got != c.want {
			t.Fatalf("call %d (%s): %v %v, want %v", i, c.val, got, err, c.want)
		}
	}
}

// A dropped field leaves both keys; the others stay. On Cluster the keys
// share a hash tag, as the publisher's {publish}:early and :early:at do.
func TestDropBounded(t *testing.T) {
	for name, rdb := range map[string]redis.UniversalClient{
		"single":  redistest.Start(t).Client(),
		"cluster": redistest.StartCluster(t).Client(t),
	} {
		ctx := context.Background()
		k := Keys{Prefix: "wxbot:"}
		vals, at := k.PublishEarly(), k.PublishEarlyAt()
		for _, f := range []string{"msg:1", "job:2"} {
			if err := KeepBounded(ctx, rdb, vals, at, f, []byte("v"), time.Now(), time.Hour, 8); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if err := DropBounded(ctx, rdb, vals, at, "msg:1"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rdb.HExists(ctx, vals, "msg:1").Val() || rdb.ZScore(ctx, at, "msg:1").Err() == nil {
			t.Fatalf("%s: the dropped field is still there", name)
		}
		if !rdb.HExists(ctx, vals, "job:2").Val() || rdb.ZCard(ctx, at).Val() != 1 {
			t.Fatalf("%s: the other field went too", name)
		}
	}
}
