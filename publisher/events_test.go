package publisher

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// finishedIssue broadcasts No.54 in mode through the sandbox, whose
// reports arrive over the webhook, and waits until it is finished.
func finishedIssue(t *testing.T, mode string) (*env, *Publisher, *Record) {
	t.Helper()
	e := newEnv(t, func(o *envOpts) { o.publish = func(p *config.PublishConfig) { p.Mode = mode } })
	cli := e.publisher("cli")
	if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the report", func() bool { return e.record(cli, 54).State == StateFinished })
	e.waitNotice("No.54 broadcast finished")
	rec := e.record(cli, 54)
	if len(rec.URLs) == 0 {
		t.Fatalf("no URLs after the report: %+v", rec)
	}
	if err := e.arch.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.arch.URLs(54), rec.URLs) {
		t.Fatalf("archive %v, record %v", e.arch.URLs(54), rec.URLs)
	}
	return e, cli, rec
}

// archiveURLs reads the archive's links of No.54 afresh from Redis.
func (e *env) archiveURLs(n int) []string {
	e.t.Helper()
	if err := e.arch.Refresh(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return e.arch.URLs(n)
}

// A MASSSENDJOBFINISH is a claim: forged ones for a msg_id wxbot sent
// (the msg_id is in logs and `wxbot status`) neither put a link that is
// not WeChat's on the issue's cards, nor replace the links recorded, nor
// change the figures; and one saying the send failed is checked with
// message/mass/get, which says it went out, so the issue stays finished
// and no editor is invited to send it again.
func TestForgedMassReports(t *testing.T) {
	e, cli, want := finishedIssue(t, "mass")
	ctx := context.Background()
	forged := []wechat.MassSendJobEvent{
		{MsgID: want.MsgID, Status: "send success", TotalCount: 9, SentCount: 9, ArticleURLs: []string{"https://phish.example/no54"}},
		{MsgID: want.MsgID, Status: "send success", TotalCount: 9, SentCount: 9, ArticleURLs: []string{"https://mp.weixin.qq.com.phish.example/s/x"}},
		{MsgID: want.MsgID, Status: "send success", TotalCount: 9, SentCount: 9, ArticleURLs: []string{"https://mp.weixin.qq.com@phish.example/s/x"}},
		{MsgID: want.MsgID, Status: "send success", TotalCount: 9, SentCount: 9, ArticleURLs: []string{"javascript:alert(1)//mp.weixin.qq.com"}},
		// WeChat's host, another article: links once recorded stay.
		{MsgID: want.MsgID, Status: "send success", TotalCount: 9, SentCount: 9, ArticleURLs: []string{"https://mp.weixin.qq.com/s/someone-elses-article"}},
	}
	for i, ev := range forged {
		if err := cli.MassSendJobFinished(ctx, ev); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		rec := e.record(cli, 54)
		if !slices.Equal(rec.URLs, want.URLs) || rec.TotalCount != want.TotalCount || rec.SentCount != want.SentCount {
			t.Fatalf("report %d changed the record: urls %v, %d of %d", i, rec.URLs, rec.SentCount, rec.TotalCount)
		}
		if got := e.archiveURLs(54); !slices.Equal(got, want.URLs) {
			t.Fatalf("report %d changed the archive: %v", i, got)
		}
	}

	asked := e.calls("message/mass/get")
	notices := len(e.notices())
	// A stream of them asks WeChat once, not spending its daily quota.
	for _, st := range []string{"send fail", "err(10001)", "err(40001)"} {
		if err := cli.MassSendJobFinished(ctx, wechat.MassSendJobEvent{MsgID: want.MsgID, Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.calls("message/mass/get") - asked; n != 1 {
		t.Fatalf("message/mass/get asked %d times for 3 failure reports, want 1", n)
	}
	rec := e.record(cli, 54)
	if rec.State != StateFinished || rec.MassStatus != want.MassStatus || rec.Error != "" || rec.Explanation != "" {
		t.Fatalf("a forged failure report changed the issue: %s %q %q %q", rec.State, rec.MassStatus, rec.Error, rec.Explanation)
	}
	time.Sleep(200 * time.Millisecond) // a notice would be sent just after the write
	if n := len(e.notices()); n != notices {
		t.Fatalf("editors told of a forged failure: %q", e.notices()[notices:])
	}
}

// The same for PUBLISHJOBFINISH: a forged failure for a finished
// publication is checked with freepublish/get and changes nothing; a
// forged success neither replaces the links nor brings foreign ones.
func TestForgedPublishReports(t *testing.T) {
	e, cli, want := finishedIssue(t, "publish")
	ctx := context.Background()
	asked := e.calls("freepublish/get")
	notices := len(e.notices())
	for _, status := range []int{3, 6} {
		if err := cli.PublishJobFinished(ctx, wechat.PublishJobEvent{PublishID: want.PublishID, Status: status, FailIdx: []int{1}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.calls("freepublish/get") - asked; n != 1 {
		t.Fatalf("freepublish/get asked %d times for 2 failure reports, want 1", n)
	}
	for _, urls := range [][]string{{"https://phish.example/no54"}, {"https://mp.weixin.qq.com/s/someone-elses-article"}} {
		if err := cli.PublishJobFinished(ctx, wechat.PublishJobEvent{PublishID: want.PublishID, Status: 0, ArticleURLs: urls}); err != nil {
			t.Fatal(err)
		}
	}
	rec := e.record(cli, 54)
	if rec.State != StateFinished || rec.PublishStep != PublishDone || rec.PublishError != "" || !slices.Equal(rec.URLs, want.URLs) {
		t.Fatalf("forged reports changed the issue: %s %s %q %v", rec.State, rec.PublishStep, rec.PublishError, rec.URLs)
	}
	if got := e.archiveURLs(54); !slices.Equal(got, want.URLs) {
		t.Fatalf("forged reports changed the archive: %v", got)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.notices()); n != notices {
		t.Fatalf("editors told of forged reports: %q", e.notices()[notices:])
	}
}

// Reports for ids wxbot does not know are kept only in a small bounded
// set that expires: 100 forged ones (each with 8 long links) leave at most
// 32, in two keys of bounded size and an hour's TTL; reports with foreign
// links are not kept at all.
func TestEarlyReportsBounded(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.noWebhook = true })
	cli := e.publisher("cli")
	ctx := context.Background()
	rdb := e.st.UniversalClient
	long := make([]string, 8)
	for i := range long {
		long[i] = "https://mp.weixin.qq.com/s?__biz=" + strings.Repeat("A", 400) + fmt.Sprint(i)
	}
	for i := 0; i < 100; i++ {
		ev := wechat.MassSendJobEvent{MsgID: int64(5_000_000 + i), Status: "send success", TotalCount: 1, ArticleURLs: long}
		if err := cli.MassSendJobFinished(ctx, ev); err != nil {
			t.Fatal(err)
		}
		job := wechat.PublishJobEvent{PublishID: fmt.Sprint(7_000_000 + i), Status: 0, ArticleURLs: []string{"https://phish.example/" + fmt.Sprint(i)}}
		if err := cli.PublishJobFinished(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := rdb.Keys(ctx, "*early*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if want := []string{e.st.Keys.PublishEarly(), e.st.Keys.PublishEarlyAt()}; !slices.Equal(keys, want) {
		t.Fatalf("early report keys %v, want %v", keys, want)
	}
	fields, err := rdb.HKeys(ctx, e.st.Keys.PublishEarly()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != maxEarly || !slices.Contains(fields, "msg:5000099") || slices.Contains(fields, "msg:5000000") {
		t.Fatalf("%d early reports kept (want %d, the newest): %v", len(fields), maxEarly, fields)
	}
	for _, f := range fields {
		if strings.HasPrefix(f, "job:") {
			t.Fatalf("a report with foreign links was kept: %s", f)
		}
	}
	var bytes int64
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > earlyTTL {
			t.Fatalf("%s TTL %s", k, ttl)
		}
		bytes += rdb.MemoryUsage(ctx, k).Val()
	}
	t.Logf("%d early reports in %d KB of Redis", len(fields), bytes>>10)
	if bytes > 256<<10 {
		t.Fatalf("early reports take %d KB in Redis", bytes>>10)
	}

	// An hour later they are gone, whatever comes next.
	e.clock.Advance(earlyTTL + time.Minute)
	if err := cli.MassSendJobFinished(ctx, wechat.MassSendJobEvent{MsgID: 6_000_000, Status: "send success"}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.HLen(ctx, e.st.Keys.PublishEarly()).Val(); n != 1 {
		t.Fatalf("%d early reports after an hour, want 1", n)
	}
	if n := rdb.ZCard(ctx, e.st.Keys.PublishEarlyAt()).Val(); n != 1 {
		t.Fatalf("%d early arrival times after an hour, want 1", n)
	}
}

// An early report still completes its send when the send is recorded
// within the hour, and no longer after it.
func TestEarlyReportApplied(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprintf("late=%v", late), func(t *testing.T) {
			e := newEnv(t, func(o *envOpts) { o.noWebhook = true })
			cli := e.publisher("cli")
			ctx := context.Background()
			res, err := cli.Publish(ctx, e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow))
			if err != nil {
				t.Fatal(err)
			}
			id := itoa(int(res.Record.MsgID))
			// As if the send's answer had not been recorded yet.
			link := e.st.Keys.PublishMsg(id)
			if err := e.st.Del(ctx, link).Err(); err != nil {
				t.Fatal(err)
			}
			ev := wechat.MassSendJobEvent{MsgID: res.Record.MsgID, Status: "send success", TotalCount: 5, SentCount: 5, FilterCount: 5}
			if err := cli.MassSendJobFinished(ctx, ev); err != nil {
				t.Fatal(err)
			}
			if late {
				e.clock.Advance(earlyTTL + time.Minute)
			}
			if err := e.st.Set(ctx, link, 54, 0).Err(); err != nil {
				t.Fatal(err)
			}
			cli.applyEarly(ctx, "msg", id)
			rec := e.record(cli, 54)
			if late {
				if rec.State != StateSent || rec.SentCount != 0 {
					t.Fatalf("an expired early report was applied: %s, %d sent", rec.State, rec.SentCount)
				}
				return
			}
			if rec.State != StateFinished || rec.SentCount != 5 {
				t.Fatalf("the early report was not applied: %s, %d sent", rec.State, rec.SentCount)
			}
			if n := e.st.HLen(ctx, e.st.Keys.PublishEarly()).Val(); n != 0 {
				t.Fatalf("%d early reports left after applying", n)
			}
		})
	}
}

func TestWeChatURLs(t *testing.T) {
	for _, c := range []struct {
		in   []string
		out  []string
		good bool
	}{
		{[]string{"https://mp.weixin.qq.com/s?__biz=X&mid=1"}, []string{"https://mp.weixin.qq.com/s?__biz=X&mid=1"}, true},
		{[]string{"http://mp.weixin.qq.com/s/abc"}, []string{"https://mp.weixin.qq.com/s/abc"}, true},
		{[]string{"https://MP.WEIXIN.QQ.COM/s/abc"}, []string{"https://mp.weixin.qq.com/s/abc"}, true},
		{[]string{"https://mp.weixin.qq.com/s/a", ""}, nil, true},
		{nil, nil, true},
		{[]string{"https://mp.weixin.qq.com:8443/s/a"}, nil, false},
		{[]string{"https://evil.example/s/a"}, nil, false},
		{[]string{"ftp://mp.weixin.qq.com/s/a"}, nil, false},
		{[]string{"https://user@mp.weixin.qq.com/s/a"}, nil, false},
		{[]string{"//mp.weixin.qq.com/s/a"}, nil, false},
		{[]string{"https://mp.weixin.qq.com/s/a", "https://evil.example/"}, nil, false},
		{slices.Repeat([]string{"https://mp.weixin.qq.com/s/a"}, 9), nil, false},
	} {
		out, ok := wechatURLs(c.in)
		if ok != c.good || !slices.Equal(out, c.out) {
			t.Errorf("wechatURLs(%q) = %q, %v; want %q, %v", c.in, out, ok, c.out, c.good)
		}
	}
}

// When WeChat cannot be asked (here message/mass/get answers 45009, the
// daily quota), a failure report changes nothing and the error says so,
// so the report is not taken on trust.
func TestFailureReportUnconfirmable(t *testing.T) {
	e, cli, want := finishedIssue(t, "mass")
	if err := e.sb.AddFault(sandbox.Fault{Kind: sandbox.FaultFail, Endpoint: "message/mass/get", Code: 45009, Count: 10}); err != nil {
		t.Fatal(err)
	}
	err := cli.MassSendJobFinished(context.Background(), wechat.MassSendJobEvent{MsgID: want.MsgID, Status: "send fail"})
	if err == nil || !strings.Contains(err.Error(), "confirm the reported mass send failure") {
		t.Fatalf("error %v", err)
	}
	if rec := e.record(cli, 54); rec.State != StateFinished || rec.MassStatus != want.MassStatus || rec.Error != "" {
		t.Fatalf("an unconfirmed failure report changed the issue: %s %q %q", rec.State, rec.MassStatus, rec.Error)
	}
}
