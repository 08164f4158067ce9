package wechat_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// The published list (freepublish/batchget, getarticle) holds a finished
// mass send's and publication's articles with their titles and URLs,
// newest first; its limits are WeChat's.
func TestPublishedList(t *testing.T) {
	e := setup(t, sandbox.Options{PushDelay: time.Millisecond})
	ctx := ctxT(t)
	th := thumb(t, e.api)
	a1, a2 := article(th), article(th)
	a2.Title = "第二篇"
	draft, err := e.api.AddDraft(ctx, []wechat.Article{a1, a2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: draft, ToAll: true, ClientMsgID: "pub-list"}); err != nil {
		t.Fatal(err)
	}
	pubDraft, err := e.api.AddDraft(ctx, []wechat.Article{article(th)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.SubmitPublish(ctx, pubDraft); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)

	page, err := e.api.PublishedList(ctx, 0, wechat.MaxPublishedPage)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || len(page.Items) != 2 {
		t.Fatalf("published list %+v", page)
	}
	mass := page.Items[1] // the newest first: the publication came later
	if len(mass.Articles) != 2 || mass.Articles[1].Title != "第二篇" || !strings.HasPrefix(mass.Articles[0].URL, "https://mp.weixin.qq.com/s?") ||
		mass.Updated.IsZero() || mass.ArticleID == "" {
		t.Fatalf("mass send in the list %+v", mass)
	}
	snap := e.sb.Snapshot()
	if mass.Articles[0].URL != snap.MassSends[0].ArticleURLs[0] {
		t.Fatalf("URL %s, the sandbox sent %s", mass.Articles[0].URL, snap.MassSends[0].ArticleURLs[0])
	}
	arts, err := e.api.PublishedArticles(ctx, page.Items[0].ArticleID)
	if err != nil || len(arts) != 1 || arts[0].URL != snap.Publications[0].ArticleURLs[0] {
		t.Fatalf("getarticle %+v %v", arts, err)
	}
	if p, err := e.api.PublishedList(ctx, 2, 5); err != nil || len(p.Items) != 0 || p.Total != 2 {
		t.Fatalf("past the end: %+v %v", p, err)
	}
	if _, err := e.api.PublishedList(ctx, 0, 21); err == nil {
		t.Fatal("a page of 21 was asked")
	}
	for _, c := range []struct {
		name string
		body any
		want int
	}{
		{"count 21", map[string]any{"offset": 0, "count": 21, "no_content": 1}, 40035},
		{"no count", map[string]any{"offset": 0}, 40035},
		{"no_content as a boolean", map[string]any{"offset": 0, "count": 1, "no_content": true}, 47001},
	} {
		if got := raw(t, e, "freepublish/batchget", c.body); got != c.want {
			t.Errorf("%s: errcode %d, want %d", c.name, got, c.want)
		}
	}
	if _, err := e.api.PublishedArticles(ctx, "nope"); !wechat.IsCode(err, 40007) {
		t.Fatalf("unknown article_id: %v", err)
	}
}

// Options.MassSendsUnlisted leaves mass sends out of the list.
func TestPublishedListWithoutMassSends(t *testing.T) {
	e := setup(t, sandbox.Options{PushDelay: time.Millisecond, MassSendsUnlisted: true})
	ctx := ctxT(t)
	draft, err := e.api.AddDraft(ctx, []wechat.Article{article(thumb(t, e.api))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: draft, ToAll: true, ClientMsgID: "unlisted"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if p, err := e.api.PublishedList(ctx, 0, 20); err != nil || p.Total != 0 {
		t.Fatalf("list %+v %v", p, err)
	}
}
