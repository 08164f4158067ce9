package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lifang/wxbot/internal/redistest"
)

func TestLockIsExclusiveAndOnlyItsHolderFreesIt(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	a := NewLock(rdb, "wxbot:lock:x", "serve@a")
	b := NewLock(rdb, "wxbot:lock:x", "serve@b")
	if a.Token == b.Token {
		t.Fatal("two holders share a token")
	}
	if ok, err := a.Acquire(ctx, time.Minute); err != nil || !ok {
		t.Fatalf("a: acquire free lock: %v %v", ok, err)
	}
	if ok, err := b.Acquire(ctx, time.Minute); err != nil || ok {
		t.Fatalf("b: acquired a held lock: %v %v", ok, err)
	}
	if ok, _ := b.Hold(ctx, time.Minute); ok {
		t.Fatal("b: Hold took a lock a holds")
	}
	if ok, _ := b.Extend(ctx, time.Minute); ok {
		t.Fatal("b extended a's lock")
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if who, err := LockHolder(ctx, rdb, a.Key); err != nil || who != "serve@a" {
		t.Fatalf("holder after b's release: %q %v (b must not free a's lock)", who, err)
	}
	if ok, _ := a.Hold(ctx, 2*time.Minute); !ok {
		t.Fatal("a: Hold did not extend its own lock")
	}
	if ttl := rdb.PTTL(ctx, a.Key).Val(); ttl < time.Minute {
		t.Fatalf("ttl after Hold = %v, want ~2m", ttl)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if who, _ := LockHolder(ctx, rdb, a.Key); who != "" {
		t.Fatalf("holder after release: %q", who)
	}
	if ok, _ := b.Hold(ctx, time.Minute); !ok {
		t.Fatal("b: Hold did not take a free lock")
	}
}

func TestFencedAcquisitionsNeverShareAFence(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	var last int64
	for i := 0; i < 3; i++ {
		l := NewLock(rdb, "wxbot:{p}:leader", "serve")
		ok, err := l.AcquireFenced(ctx, "wxbot:{p}:fence", time.Minute)
		if err != nil || !ok {
			t.Fatalf("round %d: %v %v", i, ok, err)
		}
		if l.Fence <= last {
			t.Fatalf("round %d: fence %d after %d", i, l.Fence, last)
		}
		last = l.Fence
		other := NewLock(rdb, "wxbot:{p}:leader", "serve")
		if ok, _ := other.AcquireFenced(ctx, "wxbot:{p}:fence", time.Minute); ok || other.Fence != 0 {
			t.Fatalf("round %d: a second leader got in (fence %d)", i, other.Fence)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A refused acquisition does not consume a fence.
	if n, _ := rdb.Get(ctx, "wxbot:{p}:fence").Int64(); n != 3 {
		t.Fatalf("fence counter = %d, want 3", n)
	}
}

func TestKeepRenewsAndReportsALostLock(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	l := NewLock(rdb, "wxbot:lock:k", "w")
	ttl := 300 * time.Millisecond
	if ok, _ := l.Acquire(ctx, ttl); !ok {
		t.Fatal("acquire")
	}
	lost := make(chan error, 1)
	stop := l.Keep(ctx, ttl, func(err error) { lost <- err })
	time.Sleep(3 * ttl) // three TTLs: the lock lives only if renewed
	if who, _ := LockHolder(ctx, rdb, l.Key); who != "w" {
		t.Fatalf("after 3 TTLs the kept lock is held by %q", who)
	}
	// Someone else takes it over (as after an expiry): Keep reports it.
	rdb.Set(ctx, l.Key, "intruder/1", time.Minute)
	select {
	case err := <-lost:
		if !errors.Is(err, ErrLockLost) {
			t.Fatalf("lost with %v, want ErrLockLost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Keep did not report the lost lock")
	}
	stop()
	stop() // idempotent
}

func TestKeepStopsWhenRedisStaysAwayForATTL(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	ctx := context.Background()
	l := NewLock(rdb, "wxbot:lock:k", "w")
	ttl := 600 * time.Millisecond
	if ok, _ := l.Acquire(ctx, ttl); !ok {
		t.Fatal("acquire")
	}
	lost := make(chan error, 1)
	stop := l.Keep(ctx, ttl, func(err error) { lost <- err })
	defer stop()
	srv.Stop()
	select {
	case err := <-lost:
		if err == nil || errors.Is(err, ErrLockLost) {
			t.Fatalf("lost with %v, want the Redis error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Keep kept going with Redis away for longer than the TTL")
	}
}

func TestHolderName(t *testing.T) {
	for tok, want := range map[string]string{"serve@h/ab12": "serve@h", "a/b/c": "a/b", "plain": "plain", "": ""} {
		if got := HolderName(tok); got != want {
			t.Errorf("HolderName(%q) = %q, want %q", tok, got, want)
		}
	}
}
