package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
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

// TestThreeReplicasOneScheduledSend: `wxbot publish --at` a few seconds
// ahead while three serve processes run the scheduler on one Redis: the
// sandbox receives exactly one broadcast, on time; SIGTERM then stops every
// replica with status 0 and the leader lock released.
func TestThreeReplicasOneScheduledSend(t *testing.T) {
	bin := buildWxbot(t)
	srv := redistest.Start(t)
	reps := make([]*proc, 3)
	ports := make([]string, 3)
	for i := range ports {
		ports[i] = "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	}
	sb := sandboxtest.Start(t, sandbox.Options{Token: opsToken, Webhook: "http://" + ports[0] + "/wechat", PushDelay: 300 * time.Millisecond})
	env := func() map[string]string {
		return map[string]string{
			"WXBOT_WECHAT_TOKEN": opsToken, "WXBOT_REDIS_ADDR": srv.Addr, "WXBOT_LOG_LEVEL": "info",
			"WXBOT_WECHAT_API_BASE": sb.URL, "WXBOT_WECHAT_APP_ID": sb.Options().AppID, "WXBOT_WECHAT_APP_SECRET": sb.Options().AppSecret,
			"WXBOT_PUBLISH_POLL_INTERVAL": "200ms", "WXBOT_PUBLISH_LOCK_TTL": "3s",
		}
	}
	for i := range reps {
		e := env()
		e["WXBOT_HTTP_ADDR"] = ports[i]
		reps[i] = startProc(t, bin, e, "serve")
	}

	issue := filepath.Join(t.TempDir(), "no54.md")
	data, _ := examples.FS.ReadFile("newsletter-no54.md")
	if err := os.WriteFile(issue, data, 0o644); err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(5 * time.Second).Truncate(time.Second)
	pub := exec.Command(bin, "publish", issue, "--at", due.Format(time.RFC3339))
	pub.Dir = t.TempDir()
	pub.Env = []string{"HOME=" + pub.Dir, "PATH=" + os.Getenv("PATH")}
	for k, v := range env() {
		pub.Env = append(pub.Env, k+"="+v)
	}
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("wxbot publish --at: %v\n%s", err, out)
	}

	waitFor(t, 20*time.Second, "the broadcast", func() bool { return len(sb.Snapshot().MassSends) > 0 })
	sends := sb.Snapshot().MassSends
	time.Sleep(2 * time.Second) // time for a second send, were there one
	if got := sb.Snapshot().MassSends; len(got) != 1 {
		t.Fatalf("%d broadcasts, want 1: %+v", len(got), got)
	}
	if lag := sends[0].Time.Sub(due); lag < -time.Second || lag > 5*time.Second {
		t.Errorf("sent at %s, due %s (lag %s)", sends[0].Time, due, lag)
	}
	if sends[0].ClientMsgID == "" || !sends[0].ToAll {
		t.Errorf("broadcast %+v", sends[0])
	}
	var lagObs, sentTransitions float64
	for _, p := range reps {
		lagObs += metricValue(t, "http://"+p.addr, "wxbot_schedule_lag_seconds_count")
		sentTransitions += metricValue(t, "http://"+p.addr, `wxbot_pipeline_transitions_total{state="sent"}`)
	}
	if lagObs != 1 || sentTransitions != 1 {
		t.Errorf("over the replicas: schedule lag observed %v times, transitions to sent %v; want 1 and 1", lagObs, sentTransitions)
	}

	for _, p := range reps {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range reps {
		if code := p.wait(t, 15*time.Second); code != 0 {
			t.Fatalf("exit status %d:\n%s", code, p.logs.String())
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	if n, err := rdb.Exists(context.Background(), "wxbot:{publish}:leader").Result(); err != nil || n != 0 {
		t.Errorf("scheduler lock still held after SIGTERM: %d %v", n, err)
	}
}
