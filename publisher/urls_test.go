package publisher

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/wechat"
)

// MASSSENDJOBFINISH without ArticleUrlResult: the publisher finds the
// broadcast in the published list (freepublish/batchget) by its titles and
// records its article URLs, in the draft's order, in the record and the
// archive.
func TestMassURLsFromPublishedList(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.sandbox.EmptyArticleURLResult = true })
	opts := func(o *Options) { o.OutcomeAfter = 500 * time.Millisecond }
	cli := e.publisher("cli", opts)
	if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	e.serve(e.publisher("serve", opts))
	waitFor(t, 8*time.Second, "the article URLs", func() bool { return len(e.record(cli, 54).URLs) > 0 })
	rec := e.record(cli, 54)
	sent := e.sb.Snapshot().MassSends
	if len(sent) != 1 {
		t.Fatalf("%d mass sends", len(sent))
	}
	if rec.State != StateFinished || !slices.Equal(rec.URLs, sent[0].ArticleURLs) || rec.URLAsks < 1 || rec.URLStatus() != "" {
		t.Fatalf("state %s, urls %q (WeChat's %q), %d asks, %q", rec.State, rec.URLs, sent[0].ArticleURLs, rec.URLAsks, rec.URLStatus())
	}
	waitFor(t, 3*time.Second, "the archive's URLs", func() bool { return slices.Equal(e.arch.URLs(54), sent[0].ArticleURLs) })
	for _, p := range e.sb.Snapshot().Pushes {
		if strings.Contains(p.Body, "MASSSENDJOBFINISH") && strings.Contains(p.Body, "<ArticleUrl>") {
			t.Fatalf("the report carried URLs: %s", p.Body)
		}
	}
	asked := e.calls("freepublish/batchget")
	time.Sleep(300 * time.Millisecond)
	if n := e.calls("freepublish/batchget"); n != asked {
		t.Fatalf("batchget asked %d more times after the URLs were found", n-asked)
	}
	if next, _ := cli.NextAction(context.Background(), 54); next != 0 {
		t.Errorf("still scheduled after the URLs were found")
	}
}

// When the published list never holds the broadcast, the look-ups stop
// after maxURLAsks; the status says "unknown — check the platform" and
// the editors are told once.
func TestMassURLsUnknownAfterBoundedLookups(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.sandbox.EmptyArticleURLResult = true
		o.sandbox.MassSendsUnlisted = true
	})
	opts := func(o *Options) { o.OutcomeAfter = 200 * time.Millisecond }
	cli := e.publisher("cli", opts)
	if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	e.serve(e.publisher("serve", opts))
	waitFor(t, 10*time.Second, "the look-ups to stop", func() bool { return e.record(cli, 54).URLsUnknown })
	rec := e.record(cli, 54)
	if rec.State != StateFinished || len(rec.URLs) != 0 || rec.URLAsks != maxURLAsks ||
		!strings.Contains(rec.URLStatus(), "unknown — check the platform (群发记录)") {
		t.Fatalf("state %s, urls %q, %d asks, %q", rec.State, rec.URLs, rec.URLAsks, rec.URLStatus())
	}
	e.waitNotice("No.54", "article links are unknown — check the platform")
	n := e.calls("freepublish/batchget")
	if n < maxURLAsks || n > maxURLAsks*maxURLPages {
		t.Fatalf("batchget asked %d times, want %d to %d", n, maxURLAsks, maxURLAsks*maxURLPages)
	}
	time.Sleep(500 * time.Millisecond)
	if m := e.calls("freepublish/batchget"); m != n {
		t.Fatalf("batchget asked %d more times after the look-ups ran out", m-n)
	}
}

// A report that carries the URLs needs no look-up.
func TestMassURLsFromReportNeedNoLookup(t *testing.T) {
	e := newEnv(t)
	opts := func(o *Options) { o.OutcomeAfter = 200 * time.Millisecond }
	cli := e.publisher("cli", opts)
	if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	e.serve(e.publisher("serve", opts))
	waitFor(t, 8*time.Second, "the URLs", func() bool { return len(e.record(cli, 54).URLs) > 0 })
	time.Sleep(300 * time.Millisecond)
	if n := e.calls("freepublish/batchget"); n != 0 {
		t.Fatalf("batchget asked %d times though the report had the URLs", n)
	}
}

// listed is a published list held in memory, for the matching rules.
type listed []wechat.PublishedItem

func (l listed) PublishedList(_ context.Context, offset, count int) (wechat.PublishedPage, error) {
	from := min(offset, len(l))
	return wechat.PublishedPage{Total: len(l), Items: l[from:min(from+count, len(l))]}, nil
}

func TestFindURLsMatching(t *testing.T) {
	sent := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	item := func(at time.Time, titles ...string) wechat.PublishedItem {
		it := wechat.PublishedItem{ArticleID: "A" + titles[0], Updated: at}
		for i, ti := range titles {
			it.Articles = append(it.Articles, wechat.PublishedArticle{Title: ti, URL: "https://mp.weixin.qq.com/s/" + ti + itoa(i) + at.Format("0405")})
		}
		return it
	}
	list := listed{
		item(sent.Add(-7*24*time.Hour), "No.53", "b"),
		item(sent.Add(time.Minute), "No.54", "b"),
		item(sent.Add(-time.Hour), "No.54", "b"), // the same titles, further from the send
		item(sent.Add(2*time.Minute), "other", "x", "y"),
	}
	ctx := context.Background()
	got, _ := findURLs(ctx, list, []string{"No.54", "b"}, 2, sent)
	if len(got) != 2 || got[0] != list[1].Articles[0].URL || got[1] != list[1].Articles[1].URL {
		t.Fatalf("by titles: %q", got)
	}
	if got, _ := findURLs(ctx, list, []string{"No.55", "b"}, 2, sent); got != nil {
		t.Fatalf("titles nowhere: %q", got)
	}
	// No titles: only an unambiguous match by article count and date.
	if got, _ := findURLs(ctx, list, nil, 3, sent); len(got) != 3 {
		t.Fatalf("by count and date: %q", got)
	}
	if got, _ := findURLs(ctx, list, nil, 2, sent); got != nil {
		t.Fatalf("two candidates by date were guessed between: %q", got)
	}
	// Links that are not WeChat's are never taken.
	bad := listed{{Updated: sent, Articles: []wechat.PublishedArticle{{Title: "No.54", URL: "https://evil.example/x"}}}}
	if got, _ := findURLs(ctx, bad, []string{"No.54"}, 1, sent); got != nil {
		t.Fatalf("foreign link taken: %q", got)
	}
	// Past two pages nothing is read.
	var long listed
	for i := 0; i < 3*wechat.MaxPublishedPage; i++ {
		long = append(long, item(sent.Add(-time.Duration(i+1)*time.Hour), "n"+itoa(i)))
	}
	if got, _ := findURLs(ctx, long, []string{"n50"}, 1, sent); got != nil {
		t.Fatalf("read past %d pages: %q", maxURLPages, got)
	}
	if got, _ := findURLs(ctx, long, []string{"n30"}, 1, sent); len(got) != 1 {
		t.Fatalf("second page: %q", got)
	}
}
