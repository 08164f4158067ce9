package chat

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/newsletter"
)

func TestSearchIndexRanking(t *testing.T) {
	item := func(title, body string) newsletter.Item {
		return newsletter.Item{TitleZH: title, BodyZH: []string{body}}
	}
	iss := func(n int, items ...newsletter.Item) *newsletter.Issue {
		return &newsletter.Issue{Number: n, Sections: []newsletter.Section{{TitleZH: "s", Items: items}}}
	}
	arch := newShelf([]*newsletter.Issue{
		iss(10, item("数据出境", "正文提到数据安全法"), item("数据安全法通过", "")),
		iss(11, item("其他新闻", "数据安全法实施"), item("无关", "无关内容")),
		iss(12, item("数据安全法征求意见", "")),
	}, nil)
	c := newChat(t, arch, nil, "")
	_, ix := c.snapshot()
	var got []string
	for _, hit := range ix.search("数据安全法") {
		got = append(got, ix.docs[hit.doc].item.TitleZH)
	}
	want := "数据安全法征求意见 数据安全法通过 其他新闻 数据出境"
	if strings.Join(got, " ") != want {
		t.Fatalf("ranking %q, want %q", strings.Join(got, " "), want)
	}
	// One character finds items through the single-character index.
	if n := len(ix.search("法")); n != 4 {
		t.Fatalf("one-character search found %d", n)
	}
	// The index is rebuilt when the archive changes, not per query.
	if _, again := c.snapshot(); again != ix {
		t.Fatal("index rebuilt without an archive change")
	}
	arch.replace([]*newsletter.Issue{iss(13, item("新的一期", ""))})
	if after := c.Loaded(); after == ix || after.Snapshot() != arch.Current() || len(after.search("新的")) != 1 {
		t.Fatal("index not rebuilt when the archive changed")
	}
	// The question finds the new archive's item with the index as it is.
	after := c.Loaded()
	if got := replyText(c.Answer(text("新的一期"), State{}).Reply); !strings.Contains(got, "No.13 · 新的一期") || c.Loaded() != after {
		t.Fatalf("search after the change:\n%s", got)
	}
}

// staticArchive reports no changes: the chat only sees them through Current.
type staticArchive struct {
	cur atomic.Pointer[archive.Snapshot]
}

func (a *staticArchive) Current() *archive.Snapshot { return a.cur.Load() }

// An archive that does not report its changes: a question arriving when the
// archive has moved on is answered from the previous index at once, and
// the new index is built in the background.
func TestIndexBehindIsRebuiltInBackground(t *testing.T) {
	arch := &staticArchive{}
	arch.cur.Store(archive.NewSnapshot(1, fixture(), nil))
	c := newChat(t, arch, nil, "")
	if c.Loaded() != nil {
		t.Fatal("an index before any question")
	}
	first, ix := c.snapshot() // the very first question builds the index
	if ix.snap != first {
		t.Fatal("first index is not the archive's")
	}
	next := syntheticArchive(t, 300)
	arch.cur.Store(next)
	start := time.Now()
	snap, behind := c.snapshot()
	if took := time.Since(start); snap != next || behind != ix || took > 50*time.Millisecond {
		t.Fatalf("question behind the archive: same index %v, waited %s", behind == ix, took)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Loaded().Snapshot() != next {
		if time.Now().After(deadline) {
			t.Fatal("the index was not rebuilt")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, now := c.snapshot()
	hits := now.search("case 2991")
	if len(hits) == 0 || now.docs[hits[0].doc].issue != 300 {
		t.Fatal("rebuilt index does not find the new archive's item")
	}
}

// A cached answer reads exactly as a fresh one; pages past the end show the
// last page; languages and page sizes are told apart.
func TestSearchAnswerCache(t *testing.T) {
	ix := buildIndex(archive.NewSnapshot(1, fixture(), nil))
	for _, tc := range []struct {
		query      string
		page, size int
		lang       string
		wantPage   int
		wantHits   int
	}{
		{"gdpr", 1, 2, LangEN, 1, 3},
		{"gdpr", 2, 2, LangEN, 2, 3},
		{"gdpr", 9, 2, LangEN, 2, 3},
		{"gdpr", 1, 5, LangZH, 1, 3},
		{"gdpr", 1, 5, LangBoth, 1, 3},
		{"量子计算", 1, 5, LangZH, 0, 0},
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
	en, zh := ix.answer("gdpr", 1, 5, LangEN, false), ix.answer("gdpr", 1, 5, LangZH, false)
	if en.text == zh.text || !strings.Contains(en.text, "results") || !strings.Contains(zh.text, "共 3 条") {
		t.Fatalf("languages mixed up:\n%s\n%s", en.text, zh.text)
	}
}

// The cache holds at most two generations; what is asked often stays.
func TestAnswerCacheBounded(t *testing.T) {
	var c answerCache
	key := func(i int) answerKey { return answerKey{query: fmt.Sprint("q", i), lang: LangZH, page: 1, size: 5} }
	hot := answerKey{query: "hot", lang: LangZH, page: 1, size: 5}
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
