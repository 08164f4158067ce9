package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
)

// startReplicas runs n `wxbot serve` processes (the real binary) on one
// Redis with the configuration file given, and returns them.
func startReplicas(t *testing.T, bin string, n int, env map[string]string, args ...string) []*proc {
	t.Helper()
	out := make([]*proc, n)
	for i := range out {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		out[i] = startProc(t, bin, e, args...)
	}
	return out
}

// TestThreeReplicasOneRedis: WeChat's retries of one subscribe event and
// of one message, spread over three serve processes at once and then one
// by one, give one side effect (the scene's auto-tags queued once, one
// follower gained) and the same answer from every replica.
func TestThreeReplicasOneRedis(t *testing.T) {
	bin := buildWxbot(t)
	srv := redistest.Start(t)
	cfgFile := filepath.Join(t.TempDir(), "wxbot.yaml")
	if err := os.WriteFile(cfgFile, []byte("bot:\n  scenes:\n    expo:\n      welcome: 欢迎来自展会的朋友\n      tags: [expo, vip]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reps := startReplicas(t, bin, 3, map[string]string{
		"WXBOT_WECHAT_TOKEN": opsToken, "WXBOT_REDIS_ADDR": srv.Addr, "WXBOT_LOG_LEVEL": "warn",
	}, "serve", "--config", cfgFile)
	acct := wechatsim.Account{Token: opsToken}
	now := time.Now()
	sub, _ := acct.Seal(wechatsim.Event("oTriple", "gh_x", "subscribe", "qrscene_expo", now.Unix()), wechatsim.Plain, now)
	txt, _ := acct.Seal(wechatsim.Text("oTriple", "gh_x", "GDPR", 880001, now.Unix()), wechatsim.Plain, now)

	for _, c := range []struct {
		name string
		push wechatsim.Push
		want string
	}{{"subscribe event", sub, "欢迎来自展会的朋友"}, {"text message", txt, "No."}} {
		t.Run(c.name, func(t *testing.T) {
			var (
				mu      sync.Mutex
				answers []string
				wg      sync.WaitGroup
			)
			send := func(p *proc) {
				r, err := acct.Send(http.DefaultClient, "http://"+p.addr+"/wechat", c.push)
				mu.Lock()
				defer mu.Unlock()
				if err != nil || r.Status != 200 {
					t.Errorf("%s: %+v %v", p.addr, r, err)
					return
				}
				answers = append(answers, string(r.Plain))
			}
			for _, p := range reps { // all at once: the worst case
				wg.Add(1)
				go func() { defer wg.Done(); send(p) }()
			}
			wg.Wait()
			for _, p := range reps { // then as WeChat does, one after another
				send(p)
			}
			if len(answers) != 6 || !strings.Contains(answers[0], c.want) {
				t.Fatalf("answers: %q", answers)
			}
			for _, a := range answers[1:] {
				if a != answers[0] {
					t.Fatalf("replicas answered differently:\n%s\n---\n%s", answers[0], a)
				}
			}
		})
	}

	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	if n, err := rdb.LLen(ctx, "wxbot:{tags}:queue").Result(); err != nil || n != 2 {
		t.Errorf("tag operations queued: %d (%v), want 2 (expo, vip once)", n, err)
	}
	if n, err := rdb.SCard(ctx, "wxbot:{qr}:gained:expo").Result(); err != nil || n != 1 {
		t.Errorf("followers gained through expo: %d (%v), want 1", n, err)
	}
	var hits float64
	for _, p := range reps {
		hits += metricValue(t, "http://"+p.addr, "wxbot_webhook_dedupe_hits_total")
	}
	if hits != 10 { // 2 messages × 6 arrivals, of which 2 were first
		t.Errorf("dedupe hits over the replicas: %v, want 10", hits)
	}
}
