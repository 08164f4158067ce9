package subscribers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/logtest"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/subscribers"
	"github.com/lifang/wxbot/wechat"
)

func botConfig() config.BotConfig {
	return config.BotConfig{
		Tags: config.TagNames{
			TopicPrefix: "topic:",
			Language:    map[string]string{"zh": "lang:zh", "en": "lang:en", "both": "lang:both"},
		},
		Scenes: map[string]config.Scene{"expo2026": {Welcome: "欢迎", Tags: []string{"expo2026", "events"}}},
	}
}

type env struct {
	redis *redistest.Server
	sb    *sandboxtest.Sandbox
}

func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	return &env{redis: redistest.Start(t), sb: sandboxtest.Start(t, opts)}
}

// replica builds what one wxbot process has: its own store connection,
// WeChat client and service, on the shared Redis and sandbox.
func (e *env) replica(t *testing.T, poll ...time.Duration) (*subscribers.Service, *store.Store, *wechat.Client) {
	t.Helper()
	st, err := store.Open(context.Background(), config.RedisConfig{Addr: e.redis.Addr, Prefix: "wxtest:"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	api, err := wechat.New(wechat.Options{Config: e.sb.WeChatConfig(), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	api.SetRetryBackoff(5 * time.Millisecond)
	o := subscribers.Options{Store: st, API: api, Bot: botConfig()}
	if len(poll) > 0 {
		o.PollInterval = poll[0]
	}
	return subscribers.New(o), st, api
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func stats(t *testing.T, s *subscribers.Service) map[string]subscribers.SceneStats {
	t.Helper()
	list, err := s.Stats(ctxT(t))
	must(t, err)
	out := map[string]subscribers.SceneStats{}
	for _, st := range list {
		out[st.Scene] = st
	}
	return out
}

// A subscribe retried by WeChat on another replica, and scans by people
// who already follow, never count a gain twice.
func TestFollowCountedOnce(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	a, _, _ := e.replica(t)
	b, _, _ := e.replica(t)
	ctx := ctxT(t)

	must(t, a.Followed(ctx, "o1", "expo2026"))
	must(t, b.Followed(ctx, "o1", "expo2026")) // WeChat's retry, other replica
	must(t, a.Followed(ctx, "o2", ""))         // follows without a code
	must(t, b.Scanned(ctx, "o2", "expo2026"))  // then scans the expo code
	must(t, a.Scanned(ctx, "o4", "expo2026"))  // followed before wxbot kept count
	must(t, a.Followed(ctx, "o3", "flyer"))

	got := stats(t, a)
	want := map[string]subscribers.SceneStats{
		"expo2026": {Scene: "expo2026", Gained: 1, Following: 1, Scanned: 3},
		"flyer":    {Scene: "flyer", Gained: 1, Following: 1, Scanned: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("stats %+v", got)
	}
	for k, w := range want {
		if g := got[k]; g.Gained != w.Gained || g.Following != w.Following || g.Scanned != w.Scanned {
			t.Fatalf("%s: %+v, want %+v", k, g, w)
		}
	}

	must(t, b.Unfollowed(ctx, "o1"))
	must(t, a.Unfollowed(ctx, "o1")) // retried
	if g := stats(t, a)["expo2026"]; g.Gained != 1 || g.Following != 0 {
		t.Fatalf("after unfollow: %+v, want gained 1, following 0", g)
	}
	// Back through another campaign: gained there, still counted once at expo.
	must(t, a.Followed(ctx, "o1", "flyer"))
	s := stats(t, a)
	if s["flyer"].Gained != 2 || s["expo2026"].Gained != 1 || s["expo2026"].Following != 1 {
		t.Fatalf("after re-follow: %+v", s)
	}
	if f, _ := a.Following(ctx, "o1"); !f {
		t.Fatal("o1 not following after re-follow")
	}
}

func followers(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

// Topic and language choices of more than 50 followers reach WeChat's
// tags in calls of at most 50.
func TestTagsMirroredInBatches(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	svc, st, _ := e.replica(t)
	ctx := ctxT(t)
	users := followers(120, "o")
	for _, o := range users {
		must(t, svc.TopicChanged(ctx, o, "海外动态", true))
		must(t, svc.LanguageChanged(ctx, o, "en"))
	}
	if n, _ := svc.Pending(ctx); n != 120*4 {
		t.Fatalf("pending %d, want 480 (topic + 3 language operations each)", n)
	}
	must(t, svc.Drain(ctx))

	assertMembers(t, e.sb, "topic:海外动态", users)
	assertMembers(t, e.sb, "lang:en", users)
	if _, ok := e.sb.Tag("lang:zh"); ok {
		t.Fatal("a tag was created only to remove nobody from it")
	}
	if n := e.sb.Count("tags/members/batchtagging"); n != 6 {
		t.Fatalf("%d batchtagging calls, want 6 (3 of ≤50 per tag)", n)
	}
	for _, c := range e.sb.Calls() {
		if c.Endpoint == "tags/members/batchtagging" && c.ErrCode != 0 {
			t.Fatalf("batchtagging refused: %+v", c)
		}
	}

	// Half switch to Chinese, ten drop the topic.
	for _, o := range users[:60] {
		must(t, svc.LanguageChanged(ctx, o, "zh"))
	}
	for _, o := range users[:10] {
		must(t, svc.TopicChanged(ctx, o, "海外动态", false))
	}
	must(t, svc.Drain(ctx))
	assertMembers(t, e.sb, "lang:en", users[60:])
	assertMembers(t, e.sb, "lang:zh", users[:60])
	assertMembers(t, e.sb, "topic:海外动态", users[10:])
	if n, _ := svc.Pending(ctx); n != 0 {
		t.Fatalf("pending %d after drain", n)
	}
	ids, err := st.HGetAll(ctx, st.Keys.TagIDs()).Result()
	must(t, err)
	if ids["lang:en"] == "" || ids["topic:海外动态"] == "" {
		t.Fatalf("tag ids not cached: %v", ids)
	}
}

func assertMembers(t *testing.T, sb *sandboxtest.Sandbox, tag string, want []string) {
	t.Helper()
	got, ok := sb.Tag(tag)
	if !ok {
		t.Fatalf("tag %q does not exist in WeChat", tag)
	}
	if strings.Join(got.Members, ",") != strings.Join(want, ",") {
		t.Fatalf("tag %q has %d members %v…, want %d", tag, len(got.Members), head(got.Members), len(want))
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }

// A worker that fails (or dies) mid-batch leaves the batch in Redis; the
// next worker — another process — finishes it before newer operations, so
// nothing is lost and the last choice wins.
func TestQueueSurvivesWorkerRestart(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	first, _, _ := e.replica(t)
	ctx := ctxT(t)
	users := followers(70, "u")
	for _, o := range users {
		must(t, first.TopicChanged(ctx, o, "国内要闻", true))
	}
	// WeChat is busy for longer than the client retries.
	must(t, e.sb.AddFault(sandbox.Fault{Kind: sandbox.FaultFail, Endpoint: "tags/members/batchtagging", Count: 4}))
	err := first.Drain(ctx)
	if !wechat.IsCode(err, -1) {
		t.Fatalf("drain against a busy WeChat: %v, want errcode -1", err)
	}
	if n, _ := first.Pending(ctx); n != 70 {
		t.Fatalf("pending after the failure: %d, want all 70 kept", n)
	}
	// Meanwhile five users unsubscribe from the topic.
	for _, o := range users[:5] {
		must(t, first.TopicChanged(ctx, o, "国内要闻", false))
	}

	// A new process takes over.
	second, _, _ := e.replica(t)
	must(t, second.Drain(ctx))
	assertMembers(t, e.sb, "topic:国内要闻", users[5:])
	if n, _ := second.Pending(ctx); n != 0 {
		t.Fatalf("pending %d", n)
	}
}

// Run drains what any replica queues; one replica works at a time.
func TestRunAcrossReplicas(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	a, _, _ := e.replica(t, 20*time.Millisecond)
	b, _, _ := e.replica(t, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(ctxT(t))
	var wg sync.WaitGroup
	for _, s := range []*subscribers.Service{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	users := followers(80, "r")
	for i, o := range users {
		s := a
		if i%2 == 1 {
			s = b
		}
		must(t, s.Followed(ctx, o, "expo2026"))
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := a.Pending(ctx)
		must(t, err)
		if tag, ok := e.sb.Tag("events"); n == 0 && ok && len(tag.Members) == len(users) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained by the workers: %d pending", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	assertMembers(t, e.sb, "expo2026", users)
	if err := a.Drain(ctx); !errors.Is(err, subscribers.ErrBusy) {
		t.Fatalf("Drain while a worker runs: %v, want ErrBusy", err)
	}
	cancel()
	wg.Wait()
}

// Without WeChat credentials the operations wait in Redis, and the worker
// says so once.
func TestQueueAccumulatesWithoutCredentials(t *testing.T) {
	r := redistest.Start(t)
	st, err := store.Open(context.Background(), config.RedisConfig{Addr: r.Addr, Prefix: "wxtest:"}, nil)
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	var logs logtest.Buffer
	svc := subscribers.New(subscribers.Options{Store: st, Bot: botConfig(), Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := ctxT(t)
	must(t, svc.Followed(ctx, "o1", "expo2026"))
	must(t, svc.TopicChanged(ctx, "o1", "国内要闻", true))
	runCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	must(t, svc.Run(runCtx))
	if n, _ := svc.Pending(ctx); n != 3 {
		t.Fatalf("pending %d, want 3 (2 scene tags, 1 topic)", n)
	}
	if c := strings.Count(logs.String(), "stay queued"); c != 1 {
		t.Fatalf("the log says it %d times, want once:\n%s", c, logs.String())
	}
	if err := svc.Drain(ctx); !errors.Is(err, wechat.ErrNotConfigured) {
		t.Fatalf("Drain without credentials: %v", err)
	}
	if s := stats(t, svc)["expo2026"]; s.Gained != 1 {
		t.Fatalf("follow not recorded without credentials: %+v", s)
	}
}

// An unfollow takes back the tags wxbot gave; a tag deleted on WeChat's
// admin page is made again; a refused openid is dropped, not retried forever.
func TestTagEdgeCases(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	svc, _, _ := e.replica(t)
	ctx := ctxT(t)
	must(t, svc.Followed(ctx, "o1", "expo2026"))
	must(t, svc.LanguageChanged(ctx, "o1", "both"))
	must(t, svc.Followed(ctx, "o2", "expo2026"))
	must(t, svc.Drain(ctx))
	assertMembers(t, e.sb, "expo2026", []string{"o1", "o2"})
	assertMembers(t, e.sb, "lang:both", []string{"o1"})

	must(t, svc.Unfollowed(ctx, "o1"))
	must(t, svc.Drain(ctx))
	assertMembers(t, e.sb, "expo2026", []string{"o2"})
	assertMembers(t, e.sb, "lang:both", nil)

	// The account's tags vanish (deleted on the admin page): the cached
	// ids are stale, WeChat answers 45159, the tags are made again.
	e.sb.Reset()
	must(t, svc.TopicChanged(ctx, "o2", "国内要闻", true))
	must(t, svc.LanguageChanged(ctx, "o2", "zh"))
	must(t, svc.Drain(ctx))
	assertMembers(t, e.sb, "topic:国内要闻", []string{"o2"})
	assertMembers(t, e.sb, "lang:zh", []string{"o2"})

	// Only some openids follow: the stranger is dropped, the others tagged.
	e.sb.AddFollowers("o2", "o3")
	for _, o := range []string{"o2", "oStranger", "o3"} {
		must(t, svc.TopicChanged(ctx, o, "海外动态", true))
	}
	must(t, svc.Drain(ctx))
	assertMembers(t, e.sb, "topic:海外动态", []string{"o2", "o3"})
	if n, _ := svc.Pending(ctx); n != 0 {
		t.Fatalf("pending %d", n)
	}

	// Within one batch the last choice wins.
	must(t, svc.TopicChanged(ctx, "o2", "行业动态", true))
	must(t, svc.TopicChanged(ctx, "o2", "行业动态", false))
	must(t, svc.TopicChanged(ctx, "o3", "行业动态", false))
	must(t, svc.TopicChanged(ctx, "o3", "行业动态", true))
	must(t, svc.Drain(ctx))
	assertMembers(t, e.sb, "topic:行业动态", []string{"o3"})

	if err := svc.TopicChanged(ctx, "o2", strings.Repeat("很长的栏目", 3), true); err == nil {
		t.Fatal("a tag name over 30 bytes was queued")
	}
}

func TestCampaigns(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	svc, _, _ := e.replica(t)
	ctx := ctxT(t)
	c, img, err := svc.CreateCampaign(ctx, "expo2026", false, 720*time.Hour)
	must(t, err)
	if c.Permanent || c.Ticket == "" || c.ImageURL == "" || c.Expires.Sub(c.Created) != 720*time.Hour {
		t.Fatalf("campaign %+v", c)
	}
	if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("image: %v", err)
	}
	_, _, err = svc.CreateCampaign(ctx, "card", true, 0)
	must(t, err)
	if _, _, err := svc.CreateCampaign(ctx, "long", false, 721*time.Hour); err == nil || !strings.Contains(err.Error(), "720h") {
		t.Fatalf("721h: %v", err)
	}
	list, err := svc.Campaigns(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Scene != "card" || !list[0].Permanent || list[1].Scene != "expo2026" {
		t.Fatalf("campaigns %+v", list)
	}
	must(t, svc.Followed(ctx, "o1", "expo2026"))
	s := stats(t, svc)
	if s["expo2026"].Campaign == nil || s["expo2026"].Gained != 1 || s["card"].Gained != 0 || s["card"].Campaign == nil {
		t.Fatalf("stats %+v", s)
	}
	if n := len(e.sb.Snapshot().QRCodes); n != 2 {
		t.Fatalf("sandbox made %d codes", n)
	}
}

// The worker outlives a Redis restart and drains what is queued after it.
func TestRunSurvivesRedisRestart(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	var logs logtest.Buffer
	st, err := store.Open(context.Background(), config.RedisConfig{Addr: e.redis.Addr, Prefix: "wxtest:"}, nil)
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	api, err := wechat.New(wechat.Options{Config: e.sb.WeChatConfig(), Store: st})
	must(t, err)
	api.SetRetryBackoff(5 * time.Millisecond)
	svc := subscribers.New(subscribers.Options{Store: st, API: api, Bot: botConfig(), Log: slog.New(slog.NewTextHandler(&logs, nil)), PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()

	e.redis.Stop()
	for wait := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "tag worker paused"); {
		if time.Now().After(wait) {
			t.Fatalf("the worker did not notice redis going away; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // more failed attempts, logged no more
	e.redis.Restart()
	must(t, svc.TopicChanged(ctx, "o1", "国内要闻", true))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if tag, ok := e.sb.Tag("topic:国内要闻"); ok && len(tag.Members) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained after the restart; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if c := strings.Count(logs.String(), "tag worker paused"); c != 1 {
		t.Fatalf("outage logged %d times, want once:\n%s", c, logs.String())
	}
}
