package main

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// TestWeChatDownOrSlow: with WeChat failing (-1 on every draft/add),
// slower than wechat.timeout, or refusing, a publish makes a bounded number
// of calls, returns within a bounded time, sends nothing, and leaves the
// issue in a state that says what happened, with the errcode: a transient
// failure keeps the last state reached (serve asks again later), a refusal
// is failed.
func TestWeChatDownOrSlow(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault sandbox.Fault
		code  string
		state publisher.State
		calls float64
	}{
		{"errcode -1 on every draft", sandbox.Fault{Kind: sandbox.FaultFail, Endpoint: "draft/add", Count: 1000}, "-1", publisher.StateUploaded, 3},
		{"slower than the timeout", sandbox.Fault{Kind: sandbox.FaultLatency, Endpoint: "draft/add", Delay: sandbox.Duration(3 * time.Second)}, "http", publisher.StateUploaded, 3},
		{"a refusal", sandbox.Fault{Kind: sandbox.FaultFail, Endpoint: "draft/add", Code: 45166, Count: 1000}, "45166", publisher.StateFailed, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := redistest.Start(t)
			sb := sandboxtest.Start(t, sandbox.Options{Token: opsToken, Faults: []sandbox.Fault{c.fault}})
			env := map[string]string{
				"WXBOT_WECHAT_TOKEN": opsToken, "WXBOT_REDIS_ADDR": srv.Addr,
				"WXBOT_WECHAT_API_BASE": sb.URL, "WXBOT_WECHAT_APP_ID": sb.Options().AppID, "WXBOT_WECHAT_APP_SECRET": sb.Options().AppSecret,
				"WXBOT_WECHAT_TIMEOUT": "1s", "WXBOT_WECHAT_MAX_RETRIES": "2",
			}
			m, _ := startMainLogged(t, env, slog.LevelWarn, false)
			data, _ := examples.FS.ReadFile("newsletter-no54.md")
			start := time.Now()
			res, err := m.Publisher.Publish(context.Background(), publisher.Request{File: "no54.md", Data: data, Goal: publisher.GoalNow})
			took := time.Since(start)
			if took > 20*time.Second {
				t.Fatalf("publish took %s", took)
			}
			rec, gerr := m.Publisher.Get(context.Background(), 54)
			if gerr != nil {
				t.Fatalf("status: %v (publish: %v)", gerr, err)
			}
			calls := metricValue(t, "http://"+m.Addr(), `wxbot_wechat_api_calls_total{endpoint="draft/add",errcode="`+c.code+`"}`)
			t.Logf("publish after %s: err %v; state %s, errcode %d, explanation %q; message %q; %v draft/add calls",
				took.Round(time.Millisecond), err, rec.State, rec.ErrCode, rec.Explanation, resMessage(res), calls)
			if calls != c.calls {
				t.Errorf("draft/add called %v times with wechat.max_retries 2, want %v", calls, c.calls)
			}
			if n := len(sb.Snapshot().MassSends); n != 0 {
				t.Errorf("%d broadcasts", n)
			}
			if err == nil || rec.State != c.state || rec.Explanation == "" {
				t.Errorf("state %s (%q), error %v; want %s with an explanation and an error", rec.State, rec.Explanation, err, c.state)
			}
			if c.code != "http" && (strconv.Itoa(rec.ErrCode) != c.code || !strings.Contains(rec.Error+rec.Explanation, c.code)) {
				t.Errorf("errcode %d, error %q", rec.ErrCode, rec.Error)
			}
			// What `wxbot status` shows says the same.
			if out, _, _ := runWxbotEnv(t, env, "status", "54"); !strings.Contains(out, rec.Explanation) {
				t.Errorf("wxbot status 54 does not explain:\n%s", out)
			}
		})
	}
}

func resMessage(r *publisher.Result) string {
	if r == nil {
		return ""
	}
	return string(r.Outcome)
}

// runWxbotEnv runs a command in-process with env set for this test.
func runWxbotEnv(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	return runWxbot(t, args...)
}

// TestRedisOutagePublisherResumes takes a Redis with AOF persistence away
// while an issue waits for its slot, past the slot, and brings it back:
// the scheduler pauses, then sends the issue once, late, and the state
// records it; nothing is lost or doubled.
func TestRedisOutagePublisherResumes(t *testing.T) {
	quietRedisLog(slog.New(slog.DiscardHandler))
	srv := redistest.StartAOF(t)
	addr := "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	sb := sandboxtest.Start(t, sandbox.Options{Token: opsToken, Webhook: "http://" + addr + "/wechat", PushDelay: 200 * time.Millisecond})
	env := map[string]string{
		"WXBOT_HTTP_ADDR": addr, "WXBOT_WECHAT_TOKEN": opsToken, "WXBOT_REDIS_ADDR": srv.Addr,
		"WXBOT_WECHAT_API_BASE": sb.URL, "WXBOT_WECHAT_APP_ID": sb.Options().AppID, "WXBOT_WECHAT_APP_SECRET": sb.Options().AppSecret,
		"WXBOT_PUBLISH_POLL_INTERVAL": "200ms", "WXBOT_PUBLISH_LOCK_TTL": "2s",
	}
	m, logs := startMainLogged(t, env, slog.LevelInfo, false)
	ctx := context.Background()
	data, _ := examples.FS.ReadFile("newsletter-no54.md")
	due := time.Now().Add(2 * time.Second)
	if _, err := m.Publisher.Publish(ctx, publisher.Request{File: "no54.md", Data: data, At: due}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	time.Sleep(time.Until(due) + 3*time.Second) // the slot passes while Redis is away
	if n := len(sb.Snapshot().MassSends); n != 0 {
		t.Fatalf("%d broadcasts while Redis was away", n)
	}
	srv.RestartAOF()
	back := time.Now()
	waitFor(t, 20*time.Second, "the delayed broadcast", func() bool { return len(sb.Snapshot().MassSends) > 0 })
	waitFor(t, 10*time.Second, "the job report", func() bool {
		rec, err := m.Publisher.Get(ctx, 54)
		return err == nil && rec.State == publisher.StateFinished
	})
	time.Sleep(time.Second)
	sends := sb.Snapshot().MassSends
	if len(sends) != 1 {
		t.Fatalf("%d broadcasts, want 1:\n%s", len(sends), logs.String())
	}
	t.Logf("due %s, Redis back %s, sent %s", due.Format("15:04:05.000"), back.Format("15:04:05.000"), sends[0].Time.Format("15:04:05.000"))
	if sends[0].Time.Before(back) {
		t.Errorf("sent at %s, before Redis came back at %s", sends[0].Time, back)
	}
	if lag := metricValue(t, "http://"+m.Addr(), "wxbot_schedule_lag_seconds_sum"); lag < 3 {
		t.Errorf("schedule lag %vs, want the outage in it", lag)
	}
}
