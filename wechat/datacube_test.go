package wechat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

func TestSplitRange(t *testing.T) {
	now := time.Date(2026, 3, 11, 1, 0, 0, 0, wechat.Beijing) // yesterday is 03-10
	cases := []struct {
		from, to string
		span     int
		want     string
	}{
		{"2026-03-01", "2026-03-10", 3, "[{2026-03-01 2026-03-03} {2026-03-04 2026-03-06} {2026-03-07 2026-03-09} {2026-03-10 2026-03-10}]"},
		{"2026-03-01", "2026-03-20", 7, "[{2026-03-01 2026-03-07} {2026-03-08 2026-03-10}]"}, // clamped to yesterday
		{"2026-03-09", "2026-03-10", 1, "[{2026-03-09 2026-03-09} {2026-03-10 2026-03-10}]"},
		{"2026-03-11", "2026-03-11", 1, "[]"}, // today: nothing yet
		{"2026-03-05", "2026-03-01", 7, "[]"},
		{"2026-02-27", "2026-03-02", 7, "[{2026-02-27 2026-03-02}]"},
	}
	for _, c := range cases {
		got, err := wechat.SplitRange(c.from, c.to, c.span, now)
		if err != nil {
			t.Fatalf("%s..%s: %v", c.from, c.to, err)
		}
		if s := fmt.Sprint(got); s != c.want && !(c.want == "[]" && len(got) == 0) {
			t.Errorf("%s..%s span %d = %s, want %s", c.from, c.to, c.span, s, c.want)
		}
	}
	// 23:30 UTC is the next morning in Beijing: yesterday moves with it.
	late := time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC)
	if y := wechat.DatacubeYesterday(late); y != "2026-03-10" {
		t.Errorf("yesterday at %v = %s, want 2026-03-10", late, y)
	}
	for _, bad := range [][2]string{{"2026-3-1", "2026-03-02"}, {"2026-03-01", "x"}, {"", ""}} {
		if _, err := wechat.SplitRange(bad[0], bad[1], 1, now); err == nil {
			t.Errorf("%q..%q: no error", bad[0], bad[1])
		}
	}
	if _, err := wechat.SplitRange("2020-01-01", "2026-03-10", 7, now); err == nil {
		t.Error("six years: no error")
	}
	if _, err := wechat.SplitRange("2026-03-01", "2026-03-02", 0, now); err == nil {
		t.Error("span 0: no error")
	}
}

// sendInPast mass-sends a two-article draft as if daysAgo days ago (the
// sandbox's clock is moved back for the send, then restored).
func sendInPast(t *testing.T, e *env, daysAgo int) wechat.MassResult {
	t.Helper()
	ctx := ctxT(t)
	th := thumb(t, e.api)
	a2 := article(th)
	a2.Title = "second"
	draft, err := e.api.AddDraft(ctx, []wechat.Article{article(th), a2})
	if err != nil {
		t.Fatal(err)
	}
	back := time.Duration(daysAgo) * 24 * time.Hour
	e.sb.Advance(-back)
	res, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: draft, ToAll: true, ClientMsgID: "dc1"})
	e.sb.Advance(back)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDatacubeOverSandbox(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	res := sendInPast(t, e, 10)
	sent := wechat.BeijingDate(time.Now().AddDate(0, 0, -10))
	today := wechat.BeijingDate(time.Now())
	yesterday := wechat.DatacubeYesterday(time.Now())

	days, err := e.api.ArticleSummary(ctx, sent, today)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 14 { // two articles, seven days each
		t.Fatalf("getarticlesummary rows = %d, want 14: %+v", len(days), days)
	}
	recipients := e.sb.MassSends()[0].Recipients
	want := sandbox.ArticleFigures(res.MsgDataID, 1, 0, recipients)
	if d := days[0]; d.MsgID != fmt.Sprintf("%d_1", res.MsgDataID) || d.RefDate != sent || d.IntPageReadUser != want.ReadUser || d.ShareCount != want.Share {
		t.Errorf("first row = %+v, want msgid %d_1 on %s with %+v", d, res.MsgDataID, sent, want)
	}
	if n := len(callsOf(e.sb, "datacube/getarticlesummary")); n != 10 {
		t.Errorf("getarticlesummary calls = %d, want 10 (one a day, up to yesterday)", n)
	}

	totals, err := e.api.ArticleTotal(ctx, sent, sent)
	if err != nil {
		t.Fatal(err)
	}
	if len(totals) != 2 || len(totals[0].Details) != 7 {
		t.Fatalf("getarticletotal = %+v, want two articles with seven days", totals)
	}
	sum := 0
	for d := 0; d < 7; d++ {
		sum += sandbox.ArticleFigures(res.MsgDataID, 1, d, recipients).ReadUser
	}
	if got := totals[0].Details[6].IntPageReadUser; got != sum {
		t.Errorf("7-day reads = %d, want %d", got, sum)
	}

	from := wechat.BeijingDate(time.Now().AddDate(0, 0, -12))
	sums, err := e.api.UserSummary(ctx, from, today)
	if err != nil {
		t.Fatal(err)
	}
	cums, err := e.api.UserCumulate(ctx, from, today)
	if err != nil {
		t.Fatal(err)
	}
	if len(cums) != 12 || cums[11].RefDate != yesterday || cums[11].CumulateUser != sandbox.FollowerFigures(yesterday).Cumulate {
		t.Errorf("getusercumulate = %+v", cums)
	}
	if len(sums) != 24 {
		t.Errorf("getusersummary rows = %d, want 24", len(sums))
	}
	if n := len(callsOf(e.sb, "datacube/getusercumulate")); n != 2 {
		t.Errorf("getusercumulate calls = %d, want 2 (7 + 5 days)", n)
	}
	reads, err := e.api.UserRead(ctx, from, today)
	if err != nil || len(reads) != 12 {
		t.Errorf("getuserread: %d rows, %v", len(reads), err)
	}
	shares, err := e.api.UserShare(ctx, from, today)
	if err != nil || len(shares) != 7 {
		t.Errorf("getusershare: %d rows, %v (want the seven days with shares): %+v", len(shares), err, shares)
	}
	for _, c := range e.sb.Calls() {
		if c.ErrCode != 0 {
			t.Errorf("%s answered %d: the client must stay within the spans", c.Endpoint, c.ErrCode)
		}
	}
}

func TestDatacubeSandboxRefusesBadRanges(t *testing.T) {
	e := setup(t, sandbox.Options{})
	tok, err := e.api.AccessToken(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	post := func(endpoint, begin, end string) int {
		b, _ := json.Marshal(map[string]string{"begin_date": begin, "end_date": end})
		resp, err := http.Post(e.sb.URL+"/"+endpoint+"?access_token="+url.QueryEscape(tok), "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ans struct {
			ErrCode int `json:"errcode"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&ans)
		return ans.ErrCode
	}
	day := func(n int) string { return wechat.BeijingDate(time.Now().AddDate(0, 0, n)) }
	cases := []struct {
		endpoint, begin, end string
		want                 int
	}{
		{"datacube/getusersummary", day(-8), day(-1), 61501}, // 8 days
		{"datacube/getusersummary", day(-7), day(-1), 0},
		{"datacube/getuserread", day(-4), day(-1), 61501},
		{"datacube/getuserread", day(-3), day(-1), 0},
		{"datacube/getarticlesummary", day(-2), day(-1), 61501},
		{"datacube/getarticletotal", day(0), day(0), 61501}, // today
		{"datacube/getusercumulate", day(-1), day(-3), 61501},
		{"datacube/getusershare", "2026/01/01", day(-1), 61500},
	}
	for _, c := range cases {
		if got := post(c.endpoint, c.begin, c.end); got != c.want {
			t.Errorf("%s %s..%s = %d, want %d", c.endpoint, c.begin, c.end, got, c.want)
		}
	}
}
