package archive

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/internal/logtest"
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
	a, b := New(srv.Client(), keys, nil), New(srv.Client(), keys, nil)

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
	if got := numbers(b.All()); got != "54 53 52" {
		t.Fatalf("replica b sees %s", got)
	}
	if got := numbers(b.Recent(2)); got != "54 53" {
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
	if got := numbers(b.All()); got != "54" {
		t.Fatalf("after the inbox lost two files replica b has %s", got)
	}
}

func TestRunFollowsVersion(t *testing.T) {
	srv := redistest.Start(t)
	a, b := New(srv.Client(), keys, nil), New(srv.Client(), keys, nil)
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
	waitFor(t, func() bool { return b.Current().Len() == 2 })
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
	a := New(client, keys, nil)
	srv.Stop()
	changed, err := a.Replace(context.Background(), []*newsletter.Issue{issue(7, "x")})
	if err == nil || !changed {
		t.Fatalf("replace with redis down: %v %v; want an error and a local change", changed, err)
	}
	if a.Latest() == nil || a.Latest().Number != 7 {
		t.Fatal("issues not served locally while redis is down")
	}
}

func TestLoaderExamples(t *testing.T) {
	srv := redistest.Start(t)
	a := New(srv.Client(), keys, nil)
	l := NewFSLoader(a, examples.FS, newsletter.Parse, nil)
	if err := l.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := l.Problems(); len(p) != 0 {
		t.Fatalf("examples do not parse: %v", p)
	}
	if got := numbers(a.All()); got != "55 54" {
		t.Fatalf("examples loaded as %s", got)
	}
}

// writeExample copies an example issue into dir under name, with its issue
// number changed to n.
func writeExample(t *testing.T, dir, name string, n int) {
	t.Helper()
	data, err := fs.ReadFile(examples.FS, "newsletter-no54.md")
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("No.54"), []byte("No."+strconv.Itoa(n)), -1)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoaderWatchesInbox(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	writeExample(t, dir, "a.md", 60)
	if err := os.WriteFile(filepath.Join(dir, "broken.md"), []byte("这不是一期周报\n\nnot an issue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeExample(t, dir, "z-duplicate.md", 60)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644); err != nil {
		t.Fatal(err)
	}

	var logs logtest.Buffer
	a := New(srv.Client(), keys, nil)
	l := NewLoader(a, dir, newsletter.Parse, slog.New(slog.NewTextHandler(&logs, nil)))
	l.Debounce = 50 * time.Millisecond
	l.Settle = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()

	waitFor(t, func() bool { return a.Current().Len() == 1 })
	probs := l.Problems()
	if len(probs) != 2 {
		t.Fatalf("problems = %v; want broken.md and the duplicate", probs)
	}
	if !strings.HasPrefix(probs[0].Error(), filepath.Join(dir, "broken.md")+":") {
		t.Errorf("problem not located at the file: %v", probs[0])
	}
	if !strings.Contains(probs[1].Error(), "already loaded from "+filepath.Join(dir, "a.md")) {
		t.Errorf("duplicate not explained: %v", probs[1])
	}
	if !strings.Contains(logs.String(), "broken.md") {
		t.Errorf("skipped file not logged:\n%s", logs.String())
	}

	// A new file arrives, then an old one is removed.
	writeExample(t, dir, "b.md", 61)
	waitFor(t, func() bool { return numbers(a.All()) == "61 60" })
	if err := os.Remove(filepath.Join(dir, "a.md")); err != nil {
		t.Fatal(err)
	}
	// The duplicate of No.60 now loads in a.md's place.
	waitFor(t, func() bool { return numbers(a.All()) == "61 60" && len(l.Problems()) == 1 })
	if err := os.Remove(filepath.Join(dir, "z-duplicate.md")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return numbers(a.All()) == "61" })
}

func numbers(issues []*newsletter.Issue) string {
	var s []string
	for _, iss := range issues {
		s = append(s, strconv.Itoa(iss.Number))
	}
	return strings.Join(s, " ")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEveryOnChangeRuns(t *testing.T) {
	a := New(redistest.Start(t).Client(), keys, nil)
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
