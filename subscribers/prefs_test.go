package subscribers_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/subscribers"
)

// The preferences' reads and writes are queued into the caller's pipeline
// and run with it, on a real redis-server; what lands in Redis is the
// layout every version has read (lang, topic:SECTION = "1").
func TestPrefsQueued(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	k := store.Keys{Prefix: "wxtest:"}
	const u = "oPrefs"

	// run queues the change and a read after it into one pipeline, runs
	// it once, and returns what the read found.
	run := func(t *testing.T, c subscribers.PrefsChange) subscribers.Prefs {
		t.Helper()
		pipe := rdb.Pipeline()
		subscribers.QueuePrefsChange(ctx, pipe, k, u, c)
		read := subscribers.QueuePrefsRead(ctx, pipe, k, u)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		p, err := read.Prefs()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	stored := func(t *testing.T) map[string]string {
		t.Helper()
		h, err := rdb.HGetAll(ctx, "wxtest:{u:oPrefs}:prefs").Result()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	lang := func(t *testing.T, openid string) string {
		t.Helper()
		// As the webhook's batched claim reads it (store.Commits).
		l, err := rdb.HGet(ctx, k.Prefs(openid), subscribers.LangField).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		return l
	}

	if p := run(t, subscribers.PrefsChange{}); !reflect.DeepEqual(p, subscribers.Prefs{}) {
		t.Fatalf("nobody's preferences read as %+v", p)
	}
	if l := lang(t, u); l != "" {
		t.Fatalf("nobody's language reads as %q", l)
	}

	p := run(t, subscribers.PrefsChange{SetLang: "en", TopicsOn: []string{"海外动态", "国内要闻"}})
	if want := (subscribers.Prefs{Lang: "en", Topics: []string{"国内要闻", "海外动态"}}); !reflect.DeepEqual(p, want) {
		t.Fatalf("read back %+v, want %+v", p, want)
	}
	if h, want := stored(t), map[string]string{"lang": "en", "topic:海外动态": "1", "topic:国内要闻": "1"}; !reflect.DeepEqual(h, want) {
		t.Fatalf("stored %v, want %v", h, want)
	}
	if l := lang(t, u); l != "en" {
		t.Fatalf("language reads as %q, want en", l)
	}

	p = run(t, subscribers.PrefsChange{SetLang: "both", TopicsOff: []string{"海外动态", "不存在"}})
	if want := (subscribers.Prefs{Lang: "both", Topics: []string{"国内要闻"}}); !reflect.DeepEqual(p, want) {
		t.Fatalf("after a change: %+v, want %+v", p, want)
	}
	if h, want := stored(t), map[string]string{"lang": "both", "topic:国内要闻": "1"}; !reflect.DeepEqual(h, want) {
		t.Fatalf("stored %v, want %v", h, want)
	}

	// Only "1" marks a topic followed; fields this version does not know stay.
	if err := rdb.HSet(ctx, k.Prefs(u), "topic:旧栏目", "0", "other", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if p := run(t, subscribers.PrefsChange{}); !reflect.DeepEqual(p.Topics, []string{"国内要闻"}) {
		t.Fatalf("topics %v, want only 国内要闻", p.Topics)
	}

	// Forget goes first: what the same change sets stays.
	p = run(t, subscribers.PrefsChange{Forget: true, SetLang: "zh"})
	if want := (subscribers.Prefs{Lang: "zh"}); !reflect.DeepEqual(p, want) {
		t.Fatalf("after forget and set: %+v, want %+v", p, want)
	}
	p = run(t, subscribers.PrefsChange{Forget: true})
	if n, err := rdb.Exists(ctx, k.Prefs(u)).Result(); err != nil || n != 0 || !reflect.DeepEqual(p, subscribers.Prefs{}) {
		t.Fatalf("after forget: exists=%d err=%v, read %+v", n, err, p)
	}

	// A change of nothing queues nothing: no command, no key.
	pipe := rdb.Pipeline()
	subscribers.QueuePrefsChange(ctx, pipe, k, u, subscribers.PrefsChange{})
	if pipe.Len() != 0 {
		t.Fatalf("an empty change queued %d commands", pipe.Len())
	}

	// A key that is not a hash is an error of the read, not "no preferences".
	if err := rdb.Set(ctx, k.Prefs("oJunk"), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	pipe = rdb.Pipeline()
	read := subscribers.QueuePrefsRead(ctx, pipe, k, "oJunk")
	_, _ = pipe.Exec(ctx)
	if _, err := read.Prefs(); err == nil {
		t.Fatal("a string read as preferences")
	}
}
