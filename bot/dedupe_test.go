package bot

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/logtest"
	"github.com/lifang/wxbot/internal/redistest"
)

func TestRetryGetsSameReply(t *testing.T) {
	// Plain mode with a key configured reads both kinds of push.
	h := newHarness(t, harnessOpt{env: map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "plain"}})
	for _, mode := range []wechatsim.Mode{wechatsim.Plain, wechatsim.Safe} {
		t.Run(string(mode), func(t *testing.T) {
			// A retry is the very same request: same query, same body.
			p, err := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "GDPR", nextMsgID(), time.Now().Unix()), mode, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			first, err := h.acct.Send(http.DefaultClient, h.url(), p)
			if err != nil {
				t.Fatal(err)
			}
			retry, err := h.acct.Send(http.DefaultClient, h.url(), p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Plain, retry.Plain) {
				t.Fatalf("retry got another reply:\n%s\n%s", first.Plain, retry.Plain)
			}
			contains(t, first.Content, "GDPR")
		})
	}
	if hits := testutil.ToFloat64(h.m.DedupeHits); hits != 2 {
		t.Fatalf("dedupe hits = %v, want 2", hits)
	}
}

// Two replicas share one Redis; WeChat's first try and its retries arrive
// at both at once. The follow is recorded once and every answer is the same.
func TestDedupeAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	rec := &recorder{block: 50 * time.Millisecond}
	a := newHarness(t, harnessOpt{rdb: srv.Client(), rec: rec})
	b := newHarness(t, harnessOpt{rdb: srv.Client(), rec: rec})

	for round := 0; round < 3; round++ {
		msg := wechatsim.Event("oFollower"+string(rune('A'+round)), testAccount, "subscribe", "qrscene_expo", time.Now().Unix())
		p, err := a.acct.Seal(msg, wechatsim.Safe, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		replies := make([]*wechatsim.Reply, 8)
		for i := range replies {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				target := a
				if i%2 == 1 {
					target = b
				}
				r, err := target.acct.Send(http.DefaultClient, target.url(), p)
				if err != nil {
					t.Error(err)
					return
				}
				replies[i] = r
			}(i)
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for i, r := range replies {
			if r.Success || !bytes.Equal(r.Plain, replies[0].Plain) {
				t.Fatalf("round %d: answer %d differs or is empty:\n%s\n%s", round, i, r.Plain, replies[0].Plain)
			}
		}
		contains(t, replies[0].Content, "感谢关注")
	}
	calls := rec.Calls()
	if len(calls) != 3 {
		t.Fatalf("followed %d times for 3 follows: %v", len(calls), calls)
	}
	for _, c := range calls {
		if !strings.HasSuffix(c, " expo") {
			t.Fatalf("scene not recorded: %q", c)
		}
	}
}

func TestRetryWhileFirstIsWorking(t *testing.T) {
	rec := &recorder{block: 400 * time.Millisecond}
	h := newHarness(t, harnessOpt{rec: rec, cfg: func(c *config.Config) { c.Bot.RetryWait = 100 * time.Millisecond }})
	p, _ := h.acct.Seal(wechatsim.Event("oSlow", testAccount, "subscribe", "", time.Now().Unix()), wechatsim.Safe, time.Now())
	first := make(chan *wechatsim.Reply)
	go func() {
		r, err := h.acct.Send(http.DefaultClient, h.url(), p)
		if err != nil {
			t.Error(err)
		}
		first <- r
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	retry, err := h.acct.Send(http.DefaultClient, h.url(), p)
	if err != nil {
		t.Fatal(err)
	}
	// The first try is still working past retry_wait: the retry says success.
	if !retry.Success || time.Since(start) > 350*time.Millisecond {
		t.Fatalf("retry: success=%v after %s", retry.Success, time.Since(start))
	}
	if r := <-first; r == nil || r.Success {
		t.Fatalf("first try: %+v", r)
	}
	if n := len(rec.Calls()); n != 1 {
		t.Fatalf("followed %d times", n)
	}
}

func TestDeadlineOverrun(t *testing.T) {
	rec := &recorder{block: 600 * time.Millisecond, sentLate: make(chan struct{}, 1)}
	h := newHarness(t, harnessOpt{rec: rec, cfg: func(c *config.Config) { c.Bot.Deadline = 200 * time.Millisecond }})
	p, _ := h.acct.Seal(wechatsim.Event("oLate", testAccount, "subscribe", "qrscene_x", time.Now().Unix()), wechatsim.Safe, time.Now())
	start := time.Now()
	r, err := h.acct.Send(http.DefaultClient, h.url(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Success || time.Since(start) > 450*time.Millisecond {
		t.Fatalf("late work: success=%v after %s; want success at the deadline", r.Success, time.Since(start))
	}
	select {
	case <-rec.sentLate:
	case <-time.After(3 * time.Second):
		t.Fatal("the reply was not sent as a customer-service message")
	}
	rec.mu.Lock()
	texts := append([]string(nil), rec.texts...)
	rec.mu.Unlock()
	if len(texts) != 1 || !strings.Contains(texts[0], "感谢关注") {
		t.Fatalf("customer-service messages: %q", texts)
	}
	// A retry after the late answer gets success, not a second welcome.
	r, err = h.acct.Send(http.DefaultClient, h.url(), p)
	if err != nil || !r.Success {
		t.Fatalf("retry after late: %+v %v", r, err)
	}
	if n := len(rec.Calls()); n != 1 {
		t.Fatalf("followed %d times", n)
	}
	if v := testutil.ToFloat64(h.m.CustomerMessages.WithLabelValues("late_reply", "sent")); v != 1 {
		t.Fatalf("late_reply sent = %v", v)
	}
}

func TestDeadlineOverrunWithoutCredentials(t *testing.T) {
	rec := &recorder{block: 300 * time.Millisecond}
	logs := &logtest.Buffer{}
	h := newHarness(t, harnessOpt{rec: rec, syncLogs: logs, cfg: func(c *config.Config) { c.Bot.Deadline = 100 * time.Millisecond }})
	h.bot.messenger = nil
	r, err := h.send(wechatsim.Event("oLate2", testAccount, "subscribe", "", time.Now().Unix()), wechatsim.Safe)
	if err != nil || !r.Success {
		t.Fatalf("%+v %v", r, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := h.bot.Close(ctx); err != nil {
		t.Fatal(err)
	}
	contains(t, logs.String(), "no WeChat credentials")
	if v := testutil.ToFloat64(h.m.CustomerMessages.WithLabelValues("late_reply", "skipped")); v != 1 {
		t.Fatalf("late_reply skipped = %v", v)
	}
}

func TestDegradedWithoutRedis(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	h := newHarness(t, harnessOpt{rdb: client, redisTO: 200 * time.Millisecond})
	contains(t, h.ask(testOpenID, "最新", wechatsim.Safe).Content, "No.54")

	srv.Stop()
	start := time.Now()
	r := h.ask(testOpenID, "最新", wechatsim.Safe)
	contains(t, r.Content, "No.54") // from the archive snapshot in memory
	if time.Since(start) > time.Second {
		t.Fatalf("degraded answer took %s", time.Since(start))
	}
	// Preferences cannot be saved: the reply says so instead of pretending.
	contains(t, h.ask(testOpenID, "English", wechatsim.Safe).Content, "could not be saved")
	if v := testutil.ToFloat64(h.m.Degraded.WithLabelValues("claim")); v < 2 {
		t.Fatalf("degraded{claim} = %v", v)
	}
	contains(t, h.logsString(), "redis unavailable")

	// Redis comes back (empty): dedupe and sessions work again.
	srv.Restart()
	waitUntil(t, func() bool { return client.Ping(context.Background()).Err() == nil })
	contains(t, h.ask(testOpenID, "English", wechatsim.Safe).Content, "English from now on")
	contains(t, h.logsString(), "redis available again")
	// The restarted Redis is empty: the one-round-trip commit needs
	// nothing in it beforehand and is not degraded.
	before := testutil.ToFloat64(h.m.Degraded.WithLabelValues("claim"))
	contains(t, h.ask(testOpenID, "latest", wechatsim.Safe).Content, "No.54")
	if after := testutil.ToFloat64(h.m.Degraded.WithLabelValues("claim")); after != before {
		t.Fatalf("degraded after the restart: %v → %v", before, after)
	}
	if n, _ := client.Exists(context.Background(), h.keys.Prefix+"{u:"+testOpenID+"}:d:m"+strconv.FormatInt(msgID, 36)).Result(); n != 1 {
		t.Fatal("the answer after the restart was not committed")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A language chosen on one replica holds on another, whose local hint is
// missing or stale: the one-round-trip commit refuses the wrong guess.
func TestLanguageAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	a := newHarness(t, harnessOpt{rdb: srv.Client()})
	b := newHarness(t, harnessOpt{rdb: srv.Client()})
	const u = "oTraveller"
	contains(t, b.ask(u, "帮助", wechatsim.Safe).Content, "您可以回复") // b learns: no preference
	contains(t, a.ask(u, "English", wechatsim.Safe).Content, "English from now on")
	contains(t, b.ask(u, "帮助", wechatsim.Safe).Content, "You can reply")
	contains(t, b.ask(u, "双语", wechatsim.Safe).Content, "中英双语")
	r := a.ask(u, "最新", wechatsim.Safe).Content // a's hint says English: stale
	contains(t, r, "【国内要闻 Domestic News】")
}

// TestJobReportsOfOneSecond: two reports of different broadcasts from the
// same sender in the same second are two events, not a retry of one; a
// retry of either is still recognised.
func TestJobReportsOfOneSecond(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	const ts = "1394524295"
	h.bot.now = func() time.Time { return time.Unix(1394524295, 0) }
	head := `<xml><ToUserName><![CDATA[` + testAccount + `]]></ToUserName><FromUserName><![CDATA[oSystem]]></FromUserName>` +
		`<CreateTime>` + ts + `</CreateTime><MsgType><![CDATA[event]]></MsgType>`
	mass := func(id string) []byte {
		return []byte(head + `<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>` + id + `</MsgID><Status><![CDATA[send success]]></Status>` +
			`<TotalCount>2</TotalCount><FilterCount>2</FilterCount><SentCount>2</SentCount><ErrorCount>0</ErrorCount></xml>`)
	}
	publish := func(id string) []byte {
		return []byte(head + `<Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo><publish_id>` + id +
			`</publish_id><publish_status>0</publish_status><article_id><![CDATA[a` + id + `]]></article_id></PublishEventInfo></xml>`)
	}
	at := time.Unix(1394524295, 0)
	send := func(msg []byte, times int) {
		t.Helper()
		p, err := h.acct.Seal(msg, wechatsim.Safe, at)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < times; i++ {
			if r, err := h.acct.Send(http.DefaultClient, h.url(), p); err != nil || !r.Success {
				t.Fatalf("job report: %+v %v", r, err)
			}
		}
	}
	send(mass("1000001"), 2) // the second is WeChat's retry
	send(mass("1000002"), 1)
	send(publish("2247503051"), 2)
	send(publish("2247503052"), 1)

	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	var massIDs, pubIDs []string
	for _, ev := range h.rec.mass {
		massIDs = append(massIDs, strconv.FormatInt(ev.MsgID, 10))
	}
	for _, ev := range h.rec.publish {
		pubIDs = append(pubIDs, ev.PublishID)
	}
	if got := strings.Join(massIDs, ","); got != "1000001,1000002" {
		t.Errorf("mass reports reaching the publisher: %s, want 1000001,1000002", got)
	}
	if got := strings.Join(pubIDs, ","); got != "2247503051,2247503052" {
		t.Errorf("publish reports reaching the publisher: %s, want 2247503051,2247503052", got)
	}
	if hits := testutil.ToFloat64(h.m.DedupeHits); hits != 2 {
		t.Errorf("dedupe hits = %v, want 2 (the two retries)", hits)
	}
}

func TestSessionValue(t *testing.T) {
	for _, s := range []session{{Query: "GDPR", Page: 1}, {Query: "数据安全法", Page: 12}, {Query: "a:b: c", Page: 2}} {
		v := string(appendSession(nil, &s))
		if got := parseSession(v); got == nil || *got != s {
			t.Fatalf("%+v stored as %q reads back as %v", s, v, got)
		}
	}
	// What "more" reads as no search: nothing, or a value it cannot read.
	for _, v := range []string{"", "GDPR", ":GDPR", "1:", "x:GDPR"} {
		if got := parseSession(v); got != nil {
			t.Fatalf("%q reads as %v, want no session", v, got)
		}
	}
}

func TestUnreadableSessionIsNoSession(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	u := "oSessionJunk"
	contains(t, h.ask(u, "GDPR", wechatsim.Safe).Content, "No.")
	waitUntil(t, func() bool {
		v, err := h.rdb.Get(context.Background(), h.keys.Session(u)).Result()
		return err == nil && v == "1:GDPR"
	})
	if err := h.rdb.Set(context.Background(), h.keys.Session(u), "junk", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	contains(t, h.ask(u, "more", wechatsim.Safe).Content, "no search to continue")
}
