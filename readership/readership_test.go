package readership_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/readership"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type env struct {
	sb  *sandboxtest.Sandbox
	st  *store.Store
	api *wechat.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	rs := redistest.Start(t)
	st, err := store.Open(context.Background(), config.RedisConfig{Addr: rs.Addr, Prefix: "wxtest:"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sb := sandboxtest.Start(t, sandbox.Options{Followers: []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"}})
	api, err := wechat.New(wechat.Options{Config: sb.WeChatConfig(), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, st: st, api: api}
}

// records is the publisher's list as the collector reads it: the records
// of the issues sent through the sandbox.
type records []*publisher.Record

func (r records) List(context.Context) ([]*publisher.Record, error) { return r, nil }

type leader struct{ on atomic.Bool }

func (l *leader) Leading() bool { return l.on.Load() }

// sendInPast mass-sends issue number's two articles through the sandbox as
// if daysAgo days ago, and returns the publisher's record of it.
func (e *env) sendInPast(t *testing.T, number, daysAgo int) *publisher.Record {
	t.Helper()
	ctx := ctxT(t)
	var img bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 64, 64))
	m.Set(1, 1, color.RGBA{200, 10, 10, 255})
	_ = jpeg.Encode(&img, m, nil)
	th, err := e.api.AddMaterial(ctx, wechat.MaterialThumb, "cover.jpg", img.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	art := func(title string) wechat.Article {
		return wechat.Article{Title: title, Author: "a", Content: "<p>x</p>", ThumbMediaID: th.MediaID}
	}
	draft, err := e.api.AddDraft(ctx, []wechat.Article{art("No." + itoa(number)), art("second")})
	if err != nil {
		t.Fatal(err)
	}
	back := time.Duration(daysAgo) * 24 * time.Hour
	e.sb.Advance(-back)
	res, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: draft, ToAll: true, ClientMsgID: "issue-" + itoa(number)})
	e.sb.Advance(back)
	if err != nil {
		t.Fatal(err)
	}
	sends := e.sb.MassSends()
	sent := sends[len(sends)-1]
	return &publisher.Record{Number: number, MsgID: res.MsgID, MsgDataID: res.MsgDataID, DraftCount: 2,
		SentCount: sent.Recipients, SentAt: sent.Time}
}

func itoa(n int) string { return strconv.Itoa(n) }

func countCalls(sb *sandboxtest.Sandbox) map[string]int {
	out := map[string]int{}
	for _, c := range sb.Calls() {
		out[c.Endpoint]++
	}
	return out
}

func TestCollectSplitsRangesAndJoinsIssues(t *testing.T) {
	e := setup(t)
	rec := e.sendInPast(t, 55, 10)
	col, err := readership.New(readership.Options{Source: e.api, Store: e.st, Records: records{rec}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := col.Collect(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Collected) != 30 {
		t.Fatalf("collected %d days, want 30", len(res.Collected))
	}
	calls := countCalls(e.sb)
	want := map[string]int{
		"datacube/getarticlesummary": 30, "datacube/getarticletotal": 30, // 1 day a call
		"datacube/getuserread":  10,                                                             // 3 days a call
		"datacube/getusershare": 5, "datacube/getusersummary": 5, "datacube/getusercumulate": 5, // 7 days a call
	}
	for ep, n := range want {
		if calls[ep] != n {
			t.Errorf("%s: %d calls, want %d", ep, calls[ep], n)
		}
	}
	for _, c := range e.sb.Calls() {
		if c.ErrCode != 0 {
			t.Errorf("%s answered %d: the collector must stay within each span", c.Endpoint, c.ErrCode)
		}
	}

	rep, err := col.Report(ctxT(t), 0, 30)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Issues) != 1 {
		t.Fatalf("issues = %+v", rep.Issues)
	}
	is := rep.Issues[0]
	var day1, day3, day7, shares int
	for idx := 1; idx <= 2; idx++ {
		sumR, sumS := 0, 0
		for d := 0; d < 7; d++ {
			f := sandbox.ArticleFigures(rec.MsgDataID, idx, d, rec.SentCount)
			sumR += f.ReadUser
			sumS += f.Share
			switch d {
			case 0:
				day1 += sumR
			case 2:
				day3 += sumR
			}
		}
		day7 += sumR
		shares += sumS
	}
	if is.Number != 55 || is.Day1 != day1 || is.Day3 != day3 || is.Day7 != day7 || is.Total != day7 || is.Shares != shares {
		t.Errorf("issue figures = %+v, want day1 %d day3 %d day7/total %d shares %d", is, day1, day3, day7, shares)
	}
	if len(is.Articles) != 2 || is.Articles[0].MsgID != readership.MsgID(rec.MsgDataID, 1) || is.Articles[0].Title != "No.55" {
		t.Errorf("articles = %+v", is.Articles)
	}
	if want := float64(day7) / float64(rec.SentCount); is.PerFollower != want {
		t.Errorf("reads per follower = %v, want %v", is.PerFollower, want)
	}
	if len(rep.Followers) != 30 || len(rep.Missing) != 0 {
		t.Fatalf("followers: %d days, missing %v", len(rep.Followers), rep.Missing)
	}
	last := rep.Followers[29]
	f := sandbox.FollowerFigures(last.Date)
	if last.Date != rep.Yesterday || last.Total != f.Cumulate || last.New != f.NewSearch+f.NewQR || last.Lost != f.Cancel || last.BySource["qr_code"] != f.NewQR {
		t.Errorf("yesterday's followers = %+v, want %+v", last, f)
	}
	reads, rok, followers, fok, err := col.Latest(ctxT(t))
	if err != nil || !rok || !fok || reads != day7 || followers != f.Cumulate {
		t.Errorf("Latest = %d %v %d %v %v, want %d and %d", reads, rok, followers, fok, err, day7, f.Cumulate)
	}
}

func TestBackfillAfterGap(t *testing.T) {
	e := setup(t)
	rec := e.sendInPast(t, 56, 3)
	col, err := readership.New(readership.Options{Source: e.api, Store: e.st, Records: records{rec}})
	if err != nil {
		t.Fatal(err)
	}
	// The last run was five days ago; then the service was down.
	col.Now = func() time.Time { return time.Now().AddDate(0, 0, -5) }
	if _, err := col.Collect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	col.Now = time.Now
	before := countCalls(e.sb)
	res, err := col.Collect(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Collected) != 5 || res.Collected[4] != wechat.DatacubeYesterday(time.Now()) {
		t.Errorf("backfilled %v, want the five days of the gap", res.Collected)
	}
	if len(res.Refreshed) != 2 {
		t.Errorf("refreshed %v, want the two older days of the last seven", res.Refreshed)
	}
	after := countCalls(e.sb)
	if n := after["datacube/getarticlesummary"] - before["datacube/getarticlesummary"]; n != 5 {
		t.Errorf("getarticlesummary calls for the gap = %d, want 5", n)
	}
	if n := after["datacube/getusersummary"] - before["datacube/getusersummary"]; n != 1 {
		t.Errorf("getusersummary calls for the gap = %d, want 1", n)
	}
	// A third run the same day has nothing to backfill.
	res, err = col.Collect(ctxT(t))
	if err != nil || len(res.Collected) != 0 {
		t.Errorf("third run collected %v (%v)", res.Collected, err)
	}
	rep, err := col.Report(ctxT(t), 1, 30)
	if err != nil {
		t.Fatal(err)
	}
	// Sent three days ago: the send day and two more are in.
	if is := rep.Issues[0]; len(is.ReadsByDay) != 3 || is.Day3 == 0 || is.Day7 != 0 || is.Total != is.Day3 {
		t.Errorf("issue figures = %+v, want three days", is)
	}
}

func TestOneCollectorAcrossLeaderChange(t *testing.T) {
	e := setup(t)
	l1, l2 := &leader{}, &leader{}
	l1.on.Store(true)
	c1, _ := readership.New(readership.Options{Source: e.api, Store: e.st, Leader: l1})
	c2, _ := readership.New(readership.Options{Source: e.api, Store: e.st, Leader: l2})
	for _, c := range []*readership.Collector{c1, c2} {
		c.CollectAt = 0
		c.Backfill = 3
		c.Every = 10 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan struct{}, 2)
	for _, c := range []*readership.Collector{c1, c2} {
		go func() { _ = c.Run(ctx); done <- struct{}{} }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for countCalls(e.sb)["datacube/getusercumulate"] == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// The leadership moves: the new leader finds the day's run done.
	l1.on.Store(false)
	l2.on.Store(true)
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	<-done
	if n := countCalls(e.sb)["datacube/getusercumulate"]; n != 1 {
		t.Errorf("getusercumulate called %d times, want once (one collection a day)", n)
	}
}

func TestParseMsgID(t *testing.T) {
	if id, idx, ok := readership.ParseMsgID(readership.MsgID(1000000003, 2)); !ok || id != 1000000003 || idx != 2 {
		t.Errorf("round trip = %d %d %v", id, idx, ok)
	}
	for _, bad := range []string{"", "_", "12", "12_", "_1", "x_1", "12_0", "-3_1", "12_1_2", "99999999999999999999_1"} {
		if _, _, ok := readership.ParseMsgID(bad); ok {
			t.Errorf("ParseMsgID(%q) accepted", bad)
		}
	}
}

func TestDisabledCollectorDoesNotCollect(t *testing.T) {
	e := setup(t)
	l := &leader{}
	l.on.Store(true)
	c, _ := readership.New(readership.Options{Source: e.api, Store: e.st, Leader: l})
	c.Disabled, c.CollectAt, c.Backfill, c.Every = true, 0, 3, 10*time.Millisecond
	if c.Enabled() {
		t.Fatal("a disabled collector says it is enabled")
	}
	done := make(chan struct{})
	go func() { _ = c.Run(ctxT(t)); close(done) }()
	select {
	case <-done: // Run returns at once
	case <-time.After(5 * time.Second):
		t.Fatal("Run of a disabled collector did not return")
	}
	if _, err := c.Collect(ctxT(t)); err != readership.ErrDisabled {
		t.Errorf("Collect = %v, want ErrDisabled", err)
	}
	for ep, n := range countCalls(e.sb) {
		if len(ep) > 9 && ep[:9] == "datacube/" {
			t.Errorf("%s called %d times by a disabled collector", ep, n)
		}
	}
	// The stored figures can still be reported.
	if _, err := c.Report(ctxT(t), 1, 3); err != nil {
		t.Errorf("Report of a disabled collector: %v", err)
	}
	// Enabled again, the same collector collects.
	c.Disabled = false
	if _, err := c.Collect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if countCalls(e.sb)["datacube/getusercumulate"] == 0 {
		t.Error("the enabled collector did not call getusercumulate")
	}
}

func TestIssueFiguresMatchTheReport(t *testing.T) {
	e := setup(t)
	r55, r56 := e.sendInPast(t, 55, 10), e.sendInPast(t, 56, 4)
	col, _ := readership.New(readership.Options{Source: e.api, Store: e.st, Records: records{r56, r55, {Number: 57}}})
	col.Backfill = 12
	if _, err := col.Collect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	rep, err := col.Report(ctxT(t), 0, 12)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range rep.Issues {
		got, until, err := col.Issue(ctxT(t), want.Number)
		if err != nil || got == nil {
			t.Fatalf("Issue(%d) = %v, %v", want.Number, got, err)
		}
		if until != rep.Yesterday || got.Total != want.Total || got.Day1 != want.Day1 || got.Shares != want.Shares || got.SentCount != want.SentCount || got.Total == 0 {
			t.Errorf("Issue(%d) = %+v until %s; the report has %+v until %s", want.Number, got, until, want, rep.Yesterday)
		}
	}
	// Not broadcast (no msg_data_id), or unknown: no figures, no error.
	for _, n := range []int{57, 99} {
		if got, _, err := col.Issue(ctxT(t), n); got != nil || err != nil {
			t.Errorf("Issue(%d) = %+v, %v; want nil", n, got, err)
		}
	}
}

// The topic subscriptions per section are the topic tags' counts as WeChat
// gives them (tags/get), kept at each collection; other tags are not topics.
func TestTopicSubscriptionsFromTheTags(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	tag := func(name string, openids ...string) {
		tg, err := e.api.CreateTag(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.api.TagUsers(ctx, tg.ID, openids); err != nil {
			t.Fatal(err)
		}
	}
	tag("topic:国内要闻", "o1", "o2", "o3")
	tag("topic:海外动态", "o4")
	tag("lang:en", "o1", "o5", "o6", "o7", "o8")
	col, err := readership.New(readership.Options{Source: e.api, Store: e.st, Tags: e.api, TopicPrefix: "topic:"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := col.Report(ctx, 0, 7)
	if err != nil || rep.Topics != nil {
		t.Fatalf("before any collection: topics %v, %v", rep.Topics, err)
	}
	if _, err := col.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err = col.Report(ctx, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := []readership.TopicCount{{Section: "国内要闻", Followers: 3}, {Section: "海外动态", Followers: 1}}
	if len(rep.Topics) != len(want) || rep.Topics[0] != want[0] || rep.Topics[1] != want[1] || rep.TopicsAt == nil {
		t.Fatalf("topics %+v at %v, want %+v", rep.Topics, rep.TopicsAt, want)
	}
}
