package bot

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/store"
)

// The search index follows the archive: when Replace returns, the new
// index is there, built by the archive's OnChange, before any question.
func TestIndexBuiltOnArchiveChange(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	before := h.bot.index.Load()
	if before == nil || before.snap != h.arch.Current() {
		t.Fatal("no index for the archive after New")
	}
	big := syntheticArchive(t, 100).All()
	if _, err := h.arch.Replace(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	after := h.bot.index.Load()
	if after == before || after.snap != h.arch.Current() || len(after.docs) < 100 {
		t.Fatalf("index not rebuilt on the archive change (%d docs)", len(after.docs))
	}
	// The question finds the new archive's items with the index as it is.
	contains(t, h.ask("oIndex", "case 991", wechatsim.Safe).Content, "No.100 ·")
	if h.bot.index.Load() != after {
		t.Fatal("the question rebuilt the index")
	}
}

// staticArchive reports no changes: the bot only sees them through Current.
type staticArchive struct {
	cur atomic.Pointer[archive.Snapshot]
}

func (a *staticArchive) Current() *archive.Snapshot { return a.cur.Load() }

// An archive that does not report its changes: a question arriving when the
// archive has moved on is answered from the previous index at once, and
// the new index is built in the background.
func TestIndexBehindIsRebuiltInBackground(t *testing.T) {
	srv := redistest.Start(t)
	arch := &staticArchive{}
	arch.cur.Store(archive.NewSnapshot(1, testIssues(), nil))
	b, err := New(Options{Config: testConfig(t, nil), Redis: srv.Client(), Keys: store.Keys{Prefix: "wxbot:"}, Archive: arch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })

	first, ix := b.snapshot() // the very first question builds the index
	if ix.snap != first {
		t.Fatal("first index is not the archive's")
	}
	next := syntheticArchive(t, 300)
	arch.cur.Store(next)
	start := time.Now()
	snap, behind := b.snapshot()
	if took := time.Since(start); snap != next || behind != ix || took > 50*time.Millisecond {
		t.Fatalf("question behind the archive: same index %v, waited %s", behind == ix, took)
	}
	waitUntil(t, func() bool { ix := b.index.Load(); return ix.snap == next })
	_, now := b.snapshot()
	hits := now.search("case 2991")
	if len(hits) == 0 || now.docs[hits[0].doc].issue != 300 {
		t.Fatal("rebuilt index does not find the new archive's item")
	}
}

// A cached answer reads exactly as a fresh one; pages past the end show the
// last page; languages and page sizes are told apart.
func TestSearchAnswerCache(t *testing.T) {
	ix := buildIndex(archive.NewSnapshot(1, testIssues(), nil))
	for _, tc := range []struct {
		query      string
		page, size int
		lang       string
		wantPage   int
		wantHits   int
	}{
		{"gdpr", 1, 2, langEN, 1, 3},
		{"gdpr", 2, 2, langEN, 2, 3},
		{"gdpr", 9, 2, langEN, 2, 3},
		{"gdpr", 1, 5, langZH, 1, 3},
		{"gdpr", 1, 5, langBoth, 1, 3},
		{"量子计算", 1, 5, langZH, 0, 0},
	} {
		name := fmt.Sprintf("%s/%d/%d/%s", tc.query, tc.page, tc.size, tc.lang)
		fresh := ix.format(tc.query, tc.page, tc.size, tc.lang, false)
		first := ix.answer(tc.query, tc.page, tc.size, tc.lang, false)
		again := ix.answer(tc.query, tc.page, tc.size, tc.lang, false)
		if first != fresh || again != fresh {
			t.Errorf("%s: cached answer differs:\n%q\n%q\n%q", name, fresh.text, first.text, again.text)
		}
		if fresh.hits != tc.wantHits || (tc.wantHits > 0 && fresh.page != tc.wantPage) {
			t.Errorf("%s: page %d of %d hits, want page %d of %d", name, fresh.page, fresh.hits, tc.wantPage, tc.wantHits)
		}
	}
	en, zh := ix.answer("gdpr", 1, 5, langEN, false), ix.answer("gdpr", 1, 5, langZH, false)
	if en.text == zh.text || !strings.Contains(en.text, "results") || !strings.Contains(zh.text, "共 3 条") {
		t.Fatalf("languages mixed up:\n%s\n%s", en.text, zh.text)
	}
}

// The cache holds at most two generations; what is asked often stays.
func TestAnswerCacheBounded(t *testing.T) {
	var c answerCache
	key := func(i int) answerKey { return answerKey{query: fmt.Sprint("q", i), lang: langZH, page: 1, size: 5} }
	hot := answerKey{query: "hot", lang: langZH, page: 1, size: 5}
	c.put(hot, answer{text: "hot"})
	for i := 0; i < 5*answerCacheSize; i++ {
		c.put(key(i), answer{text: fmt.Sprint(i)})
		if i%(answerCacheSize/2) == 0 {
			if a, ok := c.get(hot); !ok || a.text != "hot" {
				t.Fatalf("an answer asked often was dropped after %d others", i)
			}
		}
		if n := len(c.cur) + len(c.old); n > 2*answerCacheSize {
			t.Fatalf("%d answers kept", n)
		}
	}
	if _, ok := c.get(key(0)); ok {
		t.Fatal("an answer asked once long ago is still kept")
	}
	if a, ok := c.get(key(5*answerCacheSize - 1)); !ok || a.text != fmt.Sprint(5*answerCacheSize-1) {
		t.Fatal("the latest answer is not kept")
	}
}
