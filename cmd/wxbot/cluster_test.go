package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
)

// TestServeOnRedisCluster runs two replicas of serve on a real 3-master
// Redis Cluster through redis.cluster: true: the archive, dedupe across the
// replicas, search sessions and preferences, with keys spread over all
// three masters (a CROSSSLOT error anywhere fails the exchange).
func TestServeOnRedisCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	env := func() map[string]string {
		e := opsEnv("")
		delete(e, "WXBOT_REDIS_ADDR")
		e["WXBOT_REDIS_ADDRS"] = strings.Join(cl.Addrs, ",")
		e["WXBOT_REDIS_CLUSTER"] = "true"
		return e
	}
	a, logsA := startMainLogged(t, env(), slog.LevelWarn, false)
	b, logsB := startMainLogged(t, env(), slog.LevelWarn, false)
	if _, ok := a.Store.UniversalClient.(*redis.ClusterClient); !ok {
		t.Fatalf("redis.cluster: true gave a %T", a.Store.UniversalClient)
	}
	acct := safeAccount()
	send := func(m *Main, p wechatsim.Push) *wechatsim.Reply {
		t.Helper()
		r, err := acct.Send(http.DefaultClient, "http://"+m.Addr()+"/wechat", p)
		if err != nil || r.Status != 200 {
			t.Fatalf("send: %+v %v\n%s\n%s", r, err, logsA.String(), logsB.String())
		}
		return r
	}
	msg := func(openid, text string, id int64) wechatsim.Push {
		now := time.Now()
		p, _ := acct.Seal(wechatsim.Text(openid, "gh_x", text, id, now.Unix()), wechatsim.Safe, now)
		return p
	}

	// Many subscribers, so their keys land on every master.
	for i := 0; i < 30; i++ {
		openid := fmt.Sprintf("oCluster%02d", i)
		p := msg(openid, "数据", int64(100+i))
		first := send(a, p)
		retry := send(b, p) // WeChat's retry reaches the other replica
		if !strings.Contains(first.Content, "No.") || string(retry.Plain) != string(first.Plain) {
			t.Fatalf("%s: first %q, retry %q", openid, first.Content, retry.Content)
		}
		// The search session continues on the other replica.
		page2 := send(b, msg(openid, "下一页", int64(1000+i)))
		if !strings.Contains(page2.Content, "No.") || page2.Content == first.Content {
			t.Fatalf("%s: page 2 on the other replica: %q", openid, page2.Content)
		}
	}
	if got := metricValue(t, "http://"+b.Addr(), "wxbot_webhook_dedupe_hits_total"); got != 30 {
		t.Fatalf("dedupe hits on the second replica: %v, want 30", got)
	}
	// A preference set through one replica is used by the other.
	send(a, msg("oClusterLang", "English", 5000))
	if r := send(b, msg("oClusterLang", "help", 5001)); !strings.Contains(r.Content, "You can reply") {
		t.Fatalf("language preference across replicas: %q", r.Content)
	}
	if got := metricValue(t, "http://"+a.Addr(), `wxbot_webhook_degraded_total{reason="claim"}`) +
		metricValue(t, "http://"+b.Addr(), `wxbot_webhook_degraded_total{reason="claim"}`); got != 0 {
		t.Fatalf("degraded answers on a healthy cluster: %v\n%s", got, logsA.String())
	}

	// Keys really are spread: every master holds some of them.
	ctx := context.Background()
	for _, addr := range cl.Addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		n, err := c.DBSize(ctx).Result()
		_ = c.Close()
		if err != nil || n == 0 {
			t.Errorf("master %s holds %d keys (%v)", addr, n, err)
		}
	}
}
