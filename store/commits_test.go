package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/internal/redistest"
)

func newTestCommits(t *testing.T, rdb redis.UniversalClient) *Commits {
	t.Helper()
	c := NewCommits(CommitsOptions{
		Redis: rdb, DedupeTTL: 10 * time.Minute, BodyTTL: 20 * time.Minute, SessionTTL: 30 * time.Minute,
		LangField: "lang", Timeout: time.Second,
	})
	t.Cleanup(c.Close)
	return c
}

// A claim is won once: the first arrival stores its value, with the
// body and the session, and reads the language; every later one finds
// that value and changes nothing but the session (written again, the
// same); an overwrite of one's own claim replaces the value.
func testCommits(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	c := newTestCommits(t, rdb)
	k := Keys{Prefix: "wxtest:"}
	if err := rdb.HSet(ctx, k.Prefs("oC"), "lang", "en").Err(); err != nil {
		t.Fatal(err)
	}
	cm := Commit{
		Kind: CommitClaim, Key: k.Dedupe("oC", "m1"), Value: []byte("R-first"), LangKey: k.Prefs("oC"),
		BodyKey: k.ReplyBody("d1"), Body: []byte("<xml>body</xml>"), SessKey: k.Session("oC"), Sess: []byte("1:GDPR"),
	}
	r, err := c.Do(ctx, cm, time.Second)
	if err != nil || !r.Won || r.Lang != "en" || r.Found != "" || r.BodyErr != nil || r.SessErr != nil {
		t.Fatalf("first claim: %+v %v", r, err)
	}
	for key, want := range map[string]string{cm.Key: "R-first", cm.BodyKey: "<xml>body</xml>", cm.SessKey: "1:GDPR"} {
		if v, err := rdb.Get(ctx, key).Result(); v != want || err != nil {
			t.Fatalf("%s = %q %v, want %q", key, v, err, want)
		}
	}
	for key, ttl := range map[string]time.Duration{cm.Key: 10 * time.Minute, cm.BodyKey: 20 * time.Minute, cm.SessKey: 30 * time.Minute} {
		if got := rdb.PTTL(ctx, key).Val(); got <= ttl-time.Minute || got > ttl {
			t.Fatalf("%s TTL %s, want about %s", key, got, ttl)
		}
	}

	// Concurrent arrivals of the same message: none wins, all find it.
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			again := cm
			again.Value = []byte("R-second")
			r, err := c.Do(ctx, again, time.Second)
			if err != nil || r.Won || r.Found != "R-first" || r.Lang != "en" {
				t.Errorf("a later arrival: %+v %v", r, err)
			}
		}()
	}
	wg.Wait()

	over := Commit{Kind: CommitOverwrite, Key: cm.Key, Value: []byte("R-corrected"), SessKey: cm.SessKey, Sess: []byte("9:ignored")}
	if r, err := c.Do(ctx, over, time.Second); err != nil || !r.Won {
		t.Fatalf("overwrite: %+v %v", r, err)
	}
	if v := rdb.Get(ctx, cm.Key).Val(); v != "R-corrected" {
		t.Fatalf("after the overwrite %q", v)
	}
	if v := rdb.Get(ctx, cm.SessKey).Val(); v != "1:GDPR" {
		t.Fatalf("an overwrite wrote the session: %q", v)
	}

	// A key of the wrong type fails that commit alone; the others in the
	// same moment go through.
	if err := rdb.HSet(ctx, k.Dedupe("oBad", "m1"), "x", "y").Err(); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 9)
	for i := 0; i < 9; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u := fmt.Sprintf("oOK%d", i)
			if i == 0 {
				u = "oBad"
			}
			_, err := c.Do(ctx, Commit{Kind: CommitClaim, Key: k.Dedupe(u, "m1"), Value: []byte("R"), LangKey: k.Prefs(u)}, time.Second)
			if (err != nil) != (i == 0) {
				errs <- fmt.Errorf("%s: %v", u, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCommits(t *testing.T) { testCommits(t, redistest.Start(t).Client()) }

func TestCommitsOnCluster(t *testing.T) {
	testCommits(t, redistest.StartCluster(t).Client(t))
}

// A Redis that takes the connection and never answers: Do gives up after
// its wait with ErrCommitSlow, and Close still returns.
func TestCommitsRedisSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), Protocol: 2, DisableIdentity: true, MaxRetries: -1, ContextTimeoutEnabled: true})
	defer rdb.Close()
	c := NewCommits(CommitsOptions{Redis: rdb, DedupeTTL: time.Minute, LangField: "lang", Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = c.Do(context.Background(), Commit{Kind: CommitClaim, Key: "k", Value: []byte("v"), LangKey: "p"}, 100*time.Millisecond)
	if !errors.Is(err, ErrCommitSlow) {
		t.Fatalf("want ErrCommitSlow, got %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("gave up after %s", took)
	}
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close hangs behind a silent Redis")
	}
}

// ClaimMessage and StoreReply: the general path's two round trips.
func TestClaimMessageAndStoreReply(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := Keys{Prefix: "wxtest:"}
	key := k.Dedupe("oG", "m1")
	rdb.HSet(ctx, k.Prefs("oG"), "lang", "zh")
	var prefs *redis.MapStringStringCmd
	won, found, err := ClaimMessage(ctx, rdb, key, "P", time.Minute, func(p redis.Pipeliner) { prefs = p.HGetAll(ctx, k.Prefs("oG")) })
	if err != nil || !won || found != "" || prefs.Val()["lang"] != "zh" {
		t.Fatalf("first claim: %v %q %v %v", won, found, err, prefs.Val())
	}
	if won, found, err := ClaimMessage(ctx, rdb, key, "P", time.Minute, nil); err != nil || won || found != "P" {
		t.Fatalf("second claim: %v %q %v", won, found, err)
	}
	r := Reply{Key: key, Value: []byte("R-reply"), TTL: time.Minute, BodyKey: k.ReplyBody("d2"), Body: []byte("body"), BodyTTL: 2 * time.Minute}
	if err := StoreReply(ctx, rdb, r, func(p redis.Pipeliner) { p.HSet(ctx, k.Prefs("oG"), "lang", "en") }); err != nil {
		t.Fatal(err)
	}
	if v := rdb.Get(ctx, key).Val(); v != "R-reply" {
		t.Fatalf("stored %q", v)
	}
	if v := rdb.Get(ctx, r.BodyKey).Val(); v != "body" {
		t.Fatalf("body %q", v)
	}
	if v := rdb.HGet(ctx, k.Prefs("oG"), "lang").Val(); v != "en" {
		t.Fatalf("the queued write did not run: %q", v)
	}
	// A claim on a key of the wrong type is an error, not a win.
	rdb.HSet(ctx, k.Dedupe("oG", "m2"), "x", "y")
	if won, _, err := ClaimMessage(ctx, rdb, k.Dedupe("oG", "m2"), "P", time.Minute, nil); err == nil || won {
		t.Fatalf("claim over a hash: won %v, err %v", won, err)
	}
}
