package main

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
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

// TestPublisherOnRedisCluster runs the publishing pipeline and the
// scheduler of serve on a real 3-master Redis Cluster: an issue scheduled
// two seconds ahead goes out once to the sandbox, WeChat's job report is
// recorded, and the editor's pages show the state, the broadcast's counts
// and the articles exactly as drafted.
func TestPublisherOnRedisCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	addr := "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	sb := sandboxtest.Start(t, sandbox.Options{Token: opsToken, Webhook: "http://" + addr + "/wechat", PushDelay: 200 * time.Millisecond})
	env := map[string]string{"WXBOT_HTTP_ADDR": addr,
		"WXBOT_WECHAT_TOKEN": opsToken, "WXBOT_REDIS_ADDRS": strings.Join(cl.Addrs, ","), "WXBOT_REDIS_CLUSTER": "true",
		"WXBOT_WECHAT_API_BASE": sb.URL, "WXBOT_WECHAT_APP_ID": sb.Options().AppID, "WXBOT_WECHAT_APP_SECRET": sb.Options().AppSecret,
		"WXBOT_PUBLISH_POLL_INTERVAL": "200ms", "WXBOT_ADMIN_TOKEN": "clusterAdminToken-0001",
	}
	m, logs := startMainLogged(t, env, slog.LevelWarn, false)

	data, _ := examples.FS.ReadFile("newsletter-no54.md")
	ctx := context.Background()
	res, err := m.Publisher.Publish(ctx, publisher.Request{File: "no54.md", Data: data, At: time.Now().Add(2 * time.Second)})
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, logs.String())
	}
	if res.Record.State != publisher.StateScheduled {
		t.Fatalf("state after publish: %s (%s)", res.Record.State, res.Outcome)
	}
	waitFor(t, 20*time.Second, "the job report", func() bool {
		rec, err := m.Publisher.Get(ctx, 54)
		return err == nil && rec.State == publisher.StateFinished
	})
	if n := len(sb.Snapshot().MassSends); n != 1 {
		t.Fatalf("%d broadcasts, want 1", n)
	}
	rec, _ := m.Publisher.Get(ctx, 54)

	page := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+m.Addr()+path, nil)
		req.Header.Set("Authorization", "Bearer clusterAdminToken-0001")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	dash := page("/admin")
	for _, want := range []string{`state-finished`, strconv.FormatInt(rec.MsgID, 10), rec.MassStatus,
		fmt.Sprintf(`">%d</td>`, rec.SentCount)} {
		if want == "" || !strings.Contains(dash, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	preview := page("/admin/issues/54/preview?lang=en")
	if !strings.Contains(preview, "Exactly as drafted") {
		t.Fatalf("preview is not the drafted one:\n%.400s", preview)
	}
	drafted := sb.Snapshot().Drafts
	if len(drafted) == 0 || !strings.Contains(preview, template.HTMLEscapeString(drafted[len(drafted)-1].Articles[0].Title)) {
		t.Errorf("preview does not show the drafted title")
	}
}
