package archive

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/internal/issuetest"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/store"
)

var keys = store.Keys{Prefix: "wxbot:"}

func issue(n int, title string) *newsletter.Issue {
	return &newsletter.Issue{Number: n, Month: "2021-05", TitleZH: "周报", Sections: []newsletter.Section{
		{TitleZH: "国内要闻", TitleEN: "Domestic News", Items: []newsletter.Item{{TitleZH: title, TitleEN: title}}},
	}}
}

func TestSharedBetweenReplicas(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a, b := New(Options{Redis: srv.Client(), Keys: keys}), New(Options{Redis: srv.Client(), Keys: keys})

	changed, err := a.Replace(ctx, []*newsletter.Issue{issue(53, "a"), issue(54, "b"), issue(52, "c")})
	if err != nil || !changed {
		t.Fatalf("replace: %v %v", changed, err)
	}
	if got := a.Latest(); got == nil || got.Number != 54 {
		t.Fatalf("latest on the writer = %+v", got)
	}
	// The other replica sees nothing until it refreshes, then the same view.
	if b.Current().Len() != 0 {
		t.Fatal("replica b has issues before refreshing")
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := issuetest.Numbers(b.All()); got != "54 53 52" {
		t.Fatalf("replica b sees %s", got)
	}
	if got := issuetest.Numbers(b.Recent(2)); got != "54 53" {
		t.Fatalf("recent(2) = %s", got)
	}
	if iss, ok := b.Get(53); !ok || iss.Sections[0].Items[0].TitleZH != "a" {
		t.Fatalf("get(53) = %+v %v", iss, ok)
	}
	if _, ok := b.Get(99); ok {
		t.Fatal("get(99) found an issue")
	}

	// The same content again is not a change: the version stays.
	v := a.Current().Version
	changed, err = a.Replace(ctx, []*newsletter.Issue{issue(52, "c"), issue(54, "b"), issue(53, "a")})
	if err != nil || changed || a.Current().Version != v {
		t.Fatalf("same content: changed=%v version %d→%d err=%v", changed, v, a.Current().Version, err)
	}

	// Published URLs reach every replica and survive a reload of the issues.
	if err := a.SetURLs(ctx, 54, []string{"https://mp.weixin.qq.com/s/abc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Replace(ctx, []*newsletter.Issue{issue(54, "b2")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.URLs(54); len(got) != 1 || got[0] != "https://mp.weixin.qq.com/s/abc" {
		t.Fatalf("urls on replica b = %v", got)
	}
	if got := issuetest.Numbers(b.All()); got != "54" {
		t.Fatalf("after the inbox lost two files replica b has %s", got)
	}
}

func TestRunFollowsVersion(t *testing.T) {
	srv := redistest.Start(t)
	a, b := New(Options{Redis: srv.Client(), Keys: keys}), New(Options{Redis: srv.Client(), Keys: keys})
	var mu sync.Mutex
	var seen []int
	b.OnChange(func(s *Snapshot) {
		mu.Lock()
		seen = append(seen, s.Len())
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx, 20*time.Millisecond)
	if _, err := a.Replace(ctx, []*newsletter.Issue{issue(1, "x"), issue(2, "y")}); err != nil {
		t.Fatal(err)
	}
	issuetest.WaitFor(t, func() bool { return b.Current().Len() == 2 })
	mu.Lock()
	defer mu.Unlock()
	if seen[0] != 0 || seen[len(seen)-1] != 2 {
		t.Fatalf("OnChange saw %v", seen)
	}
}

func TestRedisDownServesLocally(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	a := New(Options{Redis: client, Keys: keys})
	srv.Stop()
	changed, err := a.Replace(context.Background(), []*newsletter.Issue{issue(7, "x")})
	if err == nil || !changed {
		t.Fatalf("replace with redis down: %v %v; want an error and a local change", changed, err)
	}
	if a.Latest() == nil || a.Latest().Number != 7 {
		t.Fatal("issues not served locally while redis is down")
	}
}

func TestEveryOnChangeRuns(t *testing.T) {
	a := New(Options{Redis: redistest.Start(t).Client(), Keys: keys})
	var first, second []int64
	var mu sync.Mutex
	a.OnChange(func(s *Snapshot) { mu.Lock(); first = append(first, int64(s.Len())); mu.Unlock() })
	a.OnChange(func(s *Snapshot) { mu.Lock(); second = append(second, int64(s.Len())); mu.Unlock() })
	if _, err := a.Replace(context.Background(), []*newsletter.Issue{{Number: 7, Month: "2021-07"}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(first) != 2 || first[1] != 1 || len(second) != 2 || second[1] != 1 {
		t.Fatalf("callbacks saw %v and %v, want both [0 1] (at registration, then after the change)", first, second)
	}
}
