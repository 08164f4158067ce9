package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/readership"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// An issue broadcast through the sandbox three days ago: `wxbot stats
// --refresh --json` carries the sandbox's figures for it and the
// follower figures, and no datacube call went over its span.
func TestStatsJSONAfterBroadcast(t *testing.T) {
	sb := wechatEnv(t)
	file := writeIssueIn(t, t.TempDir(), "newsletter-no54.md", exampleIssue(t, "newsletter-no54.md"))

	sb.Advance(-3 * 24 * time.Hour)
	out, errOut, code := runWxbot(t, "publish", file, "--now")
	sb.Advance(3 * 24 * time.Hour)
	if code != 0 {
		t.Fatalf("publish: exit %d: %s%s", code, out, errOut)
	}
	sends := sb.MassSends()
	if len(sends) != 1 {
		t.Fatalf("mass sends = %d, want 1", len(sends))
	}
	sent := sends[0]

	out, errOut, code = runWxbot(t, "stats", "5", "--days", "10", "--refresh", "--json")
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, errOut)
	}
	var rep readership.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	if len(rep.Issues) != 1 || rep.Issues[0].Number != 54 || rep.Issues[0].MsgDataID != sent.MsgDataID {
		t.Fatalf("issues = %+v", rep.Issues)
	}
	is := rep.Issues[0]
	wantReads, wantShares := 0, 0
	for idx := 1; idx <= len(sent.Titles); idx++ {
		for d := 0; d < 3; d++ { // the send day and two more are in
			f := sandbox.ArticleFigures(sent.MsgDataID, idx, d, sent.Recipients)
			wantReads += f.ReadUser
			wantShares += f.Share
		}
	}
	if is.Total != wantReads || is.Shares != wantShares || len(is.ReadsByDay) != 3 || len(is.Articles) != len(sent.Titles) {
		t.Errorf("issue 54 = %+v, want reads %d, shares %d over 3 days", is, wantReads, wantShares)
	}
	if len(rep.Followers) != 10 {
		t.Fatalf("followers: %d days, want 10", len(rep.Followers))
	}
	last := rep.Followers[9]
	if f := sandbox.FollowerFigures(last.Date); last.Total != f.Cumulate || last.New != f.NewSearch+f.NewQR {
		t.Errorf("followers on %s = %+v, want %+v", last.Date, last, f)
	}
	for _, c := range sb.Calls() {
		// (The token issued while the sandbox's clock was moved back is
		// refused once with 42001 and fetched again: not a span matter.)
		if strings.HasPrefix(c.Endpoint, "datacube/") && (c.ErrCode == 61500 || c.ErrCode == 61501) {
			t.Errorf("%s answered %d", c.Endpoint, c.ErrCode)
		}
	}

	// Without --refresh the table reads what was stored.
	out, errOut, code = runWxbot(t, "stats", "--days", "10")
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"No.54", "READS/FOLLOWER", "FOLLOWERS", last.Date} {
		if !strings.Contains(out, want) {
			t.Errorf("stats table lacks %q:\n%s", want, out)
		}
	}
	if _, errOut, code = runWxbot(t, "stats", "x"); code != 2 {
		t.Errorf("stats x: exit %d (%s), want 2", code, errOut)
	}
}

// readership.enabled: false: `wxbot stats --refresh` refuses and calls no
// datacube endpoint; the stored figures still print.
func TestStatsRefreshRefusedWhenDisabled(t *testing.T) {
	sb := wechatEnv(t)
	t.Setenv("WXBOT_READERSHIP_ENABLED", "false")
	_, errOut, code := runWxbot(t, "stats", "--refresh")
	if code != 2 || !strings.Contains(errOut, "readership.enabled: false") {
		t.Fatalf("stats --refresh with collection off: exit %d: %s", code, errOut)
	}
	if out, errOut, code := runWxbot(t, "stats", "--json"); code != 0 || !strings.Contains(out, `"issues"`) {
		t.Fatalf("stats with collection off: exit %d: %s%s", code, out, errOut)
	}
	for _, c := range sb.Calls() {
		if strings.HasPrefix(c.Endpoint, "datacube/") {
			t.Errorf("%s called with collection off", c.Endpoint)
		}
	}
}

// serve wires readership.enabled and readership.collect_at into the
// collector: enabled, it collects (here on demand, the daily run being a
// minute's tick away); disabled, it refuses, serve says so and no
// datacube endpoint is called.
func TestServeReadershipConfig(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, enabled := range []bool{true, false} {
		sb := sandboxtest.Start(t, sandbox.Options{})
		r := redistest.Start(t)
		m, logs := startServe(t, map[string]string{
			"WXBOT_WECHAT_API_BASE": sb.URL, "WXBOT_WECHAT_APP_ID": sb.Options().AppID, "WXBOT_WECHAT_APP_SECRET": sb.Options().AppSecret,
			"WXBOT_REDIS_ADDR": r.Addr, "WXBOT_READERSHIP_ENABLED": strconv.FormatBool(enabled), "WXBOT_READERSHIP_COLLECT_AT": "07:30",
		})
		if m.Readership == nil || m.Readership.Enabled() != enabled || m.Readership.CollectAt != 7*time.Hour+30*time.Minute {
			t.Fatalf("enabled %v: collector %+v", enabled, m.Readership)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := m.Readership.Collect(ctx)
		cancel()
		if enabled && err != nil {
			t.Fatalf("enabled: collect: %v", err)
		}
		if !enabled && !errors.Is(err, readership.ErrDisabled) {
			t.Fatalf("disabled: collect = %v, want ErrDisabled", err)
		}
		n := 0
		for _, c := range sb.Calls() {
			if strings.HasPrefix(c.Endpoint, "datacube/") {
				n++
			}
		}
		if (n > 0) != enabled {
			t.Errorf("enabled %v: %d datacube calls", enabled, n)
		}
		if !enabled && !strings.Contains(logs.String(), "readership: not collecting (readership.enabled: false)") {
			t.Errorf("disabled: the log does not say so:\n%s", logs.String())
		}
		_ = m.Close()
	}
}
