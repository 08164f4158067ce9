package bot

import (
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/bot/wechatsim"
)

// A replica whose clock runs 7 minutes behind WeChat's refuses every push
// (403) for its timestamp; it says so in the log once a minute, in the
// gauge and in ClockSkew, so the operator reads "clock 7 min behind".
func TestClockSkewRefusedPushes(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	var offset atomic.Int64 // moves the bot's clock forward, in seconds
	h.bot.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load()) * time.Second) }

	wechatNow := func() time.Time { return h.bot.now().Add(7 * time.Minute) }
	push := func(at time.Time) int {
		t.Helper()
		p, err := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "最新", nextMsgID(), at.Unix()), wechatsim.Safe, at)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(h.url()+"?"+p.Query, "text/xml", strings.NewReader(string(p.Body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := h.bot.ClockSkew().String(); got != "no signed push yet" {
		t.Fatalf("before any push: %q", got)
	}
	for i := 0; i < 3; i++ {
		if code := push(wechatNow()); code != http.StatusForbidden {
			t.Fatalf("push %d with WeChat 7 min ahead: %d, want 403", i, code)
		}
	}
	logs := h.logsString()
	if n := strings.Count(logs, "refused for its timestamp"); n != 1 {
		t.Fatalf("%d log lines about the skew in a minute, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, "clock 7 min behind") || !strings.Contains(logs, "skew_seconds=-4") {
		t.Fatalf("log does not say the skew:\n%s", logs)
	}
	if g := testutil.ToFloat64(h.m.WebhookClockSkew); math.Abs(g+420) > 5 {
		t.Fatalf("gauge %v, want about -420", g)
	}
	cs := h.bot.ClockSkew()
	if !cs.Refused || !strings.Contains(cs.String(), "clock 7 min behind: pushes refused") {
		t.Fatalf("ClockSkew %+v %q", cs, cs.String())
	}

	// A minute later the next refusal is logged again.
	offset.Store(61)
	if code := push(wechatNow()); code != http.StatusForbidden {
		t.Fatalf("push a minute later: %d", code)
	}
	if n := strings.Count(h.logsString(), "refused for its timestamp"); n != 2 {
		t.Fatalf("%d log lines after a minute, want 2", n)
	}

	// A forged request with an old timestamp measures nothing.
	before := h.bot.ClockSkew()
	if code, _ := h.post("signature=0000&timestamp=1&nonce=1", []byte("<xml/>")); code != http.StatusForbidden {
		t.Fatalf("forged: %d", code)
	}
	if after := h.bot.ClockSkew(); after != before {
		t.Fatalf("a forged request changed the skew: %+v → %+v", before, after)
	}

	// Clock fixed: the push goes through and the skew reads small.
	offset.Store(0)
	r, err := h.send(wechatsim.Text(testOpenID, testAccount, "最新", nextMsgID(), time.Now().Unix()), wechatsim.Safe)
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("in-step push: %+v %v", r, err)
	}
	cs = h.bot.ClockSkew()
	if cs.Refused || cs.LastRefused.IsZero() || !strings.HasPrefix(cs.String(), "clock in step") {
		t.Fatalf("after the fix: %+v %q", cs, cs.String())
	}
	if g := testutil.ToFloat64(h.m.WebhookClockSkew); math.Abs(g) > 2 {
		t.Fatalf("gauge after the fix %v", g)
	}
}

func TestDescribeSkew(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                  "clock in step with WeChat's",
		-1 * time.Second:   "clock in step with WeChat's",
		42 * time.Second:   "clock 42 s ahead",
		-7 * time.Minute:   "clock 7 min behind",
		-421 * time.Second: "clock 7 min behind",
		3 * time.Hour:      "clock 3.0 h ahead",
	} {
		if got := describeSkew(d); got != want {
			t.Errorf("describeSkew(%v) = %q, want %q", d, got, want)
		}
	}
}
