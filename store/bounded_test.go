package store

import (
	"context"
	"testing"
	"time"

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
