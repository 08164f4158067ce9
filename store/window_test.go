package store

import (
	"context"
	"testing"
	"time"

	"github.com/lifang/wxbot/internal/redistest"
)

func TestFailureWindowBlocksAfterMaxAndEnds(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	const key, max, window = "wxbot:admin:login:1.2.3.4", 3, 400 * time.Millisecond
	for i := 1; i <= max; i++ {
		if d, err := WindowBlocked(ctx, rdb, key, max, window); err != nil || d != 0 {
			t.Fatalf("before failure %d: blocked %v (%v)", i, d, err)
		}
		n, left, err := CountFailure(ctx, rdb, key, window)
		if err != nil || n != int64(i) || left <= 0 || left > window {
			t.Fatalf("failure %d: n=%d left=%v err=%v", i, n, left, err)
		}
	}
	if d, _ := WindowBlocked(ctx, rdb, key, max, window); d <= 0 || d > window {
		t.Fatalf("after %d failures: blocked %v, want (0, %v]", max, d, window)
	}
	// A counter that lost its TTL is given one instead of blocking forever.
	rdb.Persist(ctx, key)
	if d, _ := WindowBlocked(ctx, rdb, key, max, window); d != window {
		t.Fatalf("persisted counter: blocked %v, want a fresh %v", d, window)
	}
	time.Sleep(window + 200*time.Millisecond)
	if d, _ := WindowBlocked(ctx, rdb, key, max, window); d != 0 {
		t.Fatalf("after the window: still blocked %v", d)
	}
}
