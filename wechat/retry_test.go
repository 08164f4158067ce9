package wechat_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// -1 (system busy) is retried with backoff up to wechat.max_retries times,
// every attempt counted by errcode.
func TestRetryOnBusy(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	th := thumb(t, e.api)
	mustFault(t, e.sb, sandbox.Fault{Kind: sandbox.FaultFail, Endpoint: "draft/add", Count: 2})
	id, err := e.api.AddDraft(ctx, []wechat.Article{article(th)})
	if err != nil || id == "" {
		t.Fatalf("add draft after two -1: %q, %v", id, err)
	}
	if got := callsOf(e.sb, "draft/add"); !equalInts(got, []int{-1, -1, 0}) {
		t.Fatalf("draft/add answers %v, want [-1 -1 0]", got)
	}
	if n := testutil.ToFloat64(e.m.APICalls.WithLabelValues("draft/add", "-1")); n != 2 {
		t.Fatalf("metrics: %v calls with errcode -1, want 2", n)
	}
	if n := testutil.ToFloat64(e.m.APICalls.WithLabelValues("draft/add", "0")); n != 1 {
		t.Fatalf("metrics: %v successful calls, want 1", n)
	}
	if len(e.sb.Snapshot().Drafts) != 1 {
		t.Fatalf("drafts: %d, want 1", len(e.sb.Snapshot().Drafts))
	}
}

// Retries are bounded: after max_retries the -1 is returned, typed.
func TestRetryBounded(t *testing.T) {
	e := setup(t, sandbox.Options{}, func(c *config.WeChatConfig) { c.MaxRetries = 2 })
	mustFault(t, e.sb, sandbox.Fault{Kind: sandbox.FaultFail, Endpoint: "tags/get", Count: 10})
	_, err := e.api.Tags(ctxT(t))
	var ae *wechat.APIError
	if !errors.As(err, &ae) || ae.Code != -1 || !ae.Retryable() || !wechat.Retryable(err) {
		t.Fatalf("err = %v, want a retryable *APIError -1", err)
	}
	if ae.Endpoint != "tags/get" {
		t.Fatalf("endpoint %q", ae.Endpoint)
	}
	if got := callsOf(e.sb, "tags/get"); len(got) != 3 {
		t.Fatalf("tags/get called %d times, want 1 + 2 retries", len(got))
	}
}

// WeChat errors other than -1 are not retried.
func TestNoRetryOnRefusal(t *testing.T) {
	e := setup(t, sandbox.Options{})
	_, err := e.api.AddDraft(ctxT(t), []wechat.Article{article("no-such-thumb")})
	if !wechat.IsCode(err, wechat.CodeInvalidMediaID) || wechat.Retryable(err) {
		t.Fatalf("err = %v, want a final 40007", err)
	}
	if got := callsOf(e.sb, "draft/add"); len(got) != 1 {
		t.Fatalf("draft/add called %d times, want 1", len(got))
	}
}

// A timeout is retried on a read; the error never carries the token.
func TestTimeoutRetriedOnRead(t *testing.T) {
	e := setup(t, sandbox.Options{}, func(c *config.WeChatConfig) { c.Timeout = 300 * time.Millisecond })
	ctx := ctxT(t)
	if _, err := e.api.Tags(ctx); err != nil {
		t.Fatal(err)
	}
	mustFault(t, e.sb, sandbox.Fault{Kind: sandbox.FaultLatency, Endpoint: "tags/get", Count: 1, Delay: sandbox.Duration(2 * time.Second)})
	if _, err := e.api.Tags(ctx); err != nil {
		t.Fatalf("tags after one slow answer: %v", err)
	}
	if n := testutil.ToFloat64(e.m.APICalls.WithLabelValues("tags/get", "http")); n != 1 {
		t.Fatalf("metrics: %v transport failures on tags/get, want 1", n)
	}
	// Every attempt times out: a typed, token-free error.
	mustFault(t, e.sb, sandbox.Fault{Kind: sandbox.FaultLatency, Endpoint: "tags/get", Count: 4, Delay: sandbox.Duration(time.Second)})
	_, err := e.api.Tags(ctx)
	var te *wechat.TransportError
	if !errors.As(err, &te) || !te.Timeout {
		t.Fatalf("err = %v, want a timeout *TransportError", err)
	}
	tok, _ := e.api.AccessToken(ctx)
	if strings.Contains(err.Error(), tok) {
		t.Fatalf("error leaks the access token: %v", err)
	}
}

// A lost mass-send answer is retried with the same clientmsgid: WeChat
// answers 45065 with the original msg_id, and there is one broadcast.
func TestLostSendAllRetriedWithSameClientMsgID(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	draft, err := e.api.AddDraft(ctx, []wechat.Article{article(thumb(t, e.api))})
	if err != nil {
		t.Fatal(err)
	}
	mustFault(t, e.sb, sandbox.Fault{Kind: sandbox.FaultLose, Endpoint: "message/mass/sendall"})
	res, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: draft, ToAll: true, ClientMsgID: "issue-53-abc123"})
	if err != nil {
		t.Fatalf("send after a lost answer: %v", err)
	}
	sends := e.sb.MassSends()
	if len(sends) != 1 {
		t.Fatalf("sandbox accepted %d mass sends, want exactly 1", len(sends))
	}
	if !res.Duplicate || res.MsgID != sends[0].MsgID || res.MsgID == 0 {
		t.Fatalf("result %+v, want Duplicate with the original msg_id %d", res, sends[0].MsgID)
	}
	if got := callsOf(e.sb, "message/mass/sendall"); !equalInts(got, []int{0, 45065}) {
		t.Fatalf("sendall answers %v, want [0 (lost) 45065]", got)
	}
	if sends[0].ClientMsgID != "issue-53-abc123" {
		t.Fatalf("clientmsgid %q not sent", sends[0].ClientMsgID)
	}
	// A later retry (a restarted publisher) is answered the same way.
	again, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: draft, ToAll: true, ClientMsgID: "issue-53-abc123"})
	if err != nil || !again.Duplicate || again.MsgID != sends[0].MsgID {
		t.Fatalf("second retry: %+v, %v", again, err)
	}
}

// Without a clientmsgid, and for calls subscribers would see twice, a lost
// answer is not retried: the caller gets an unknown outcome.
func TestLostAnswerNotRetriedWhenNotIdempotent(t *testing.T) {
	cases := []struct {
		endpoint string
		call     func(e *env, media string) error
		effects  func(e *env) int
	}{
		{"message/mass/sendall", func(e *env, media string) error {
			_, err := e.api.SendAll(ctxT(t), wechat.MassSend{MediaID: media, ToAll: true})
			return err
		}, func(e *env) int { return len(e.sb.MassSends()) }},
		{"freepublish/submit", func(e *env, media string) error {
			_, err := e.api.SubmitPublish(ctxT(t), media)
			return err
		}, func(e *env) int { return len(e.sb.Snapshot().Publications) }},
		{"message/custom/send", func(e *env, _ string) error {
			return e.api.SendText(ctxT(t), "oUser1", "您的订阅已更新")
		}, func(e *env) int { return len(e.sb.Snapshot().Customs) }},
		{"message/mass/preview", func(e *env, media string) error {
			_, err := e.api.Preview(ctxT(t), "oReviewer", media)
			return err
		}, func(e *env) int { return len(e.sb.Snapshot().Previews) }},
	}
	for _, tc := range cases {
		t.Run(tc.endpoint, func(t *testing.T) {
			e := setup(t, sandbox.Options{})
			media, err := e.api.AddDraft(ctxT(t), []wechat.Article{article(thumb(t, e.api))})
			if err != nil {
				t.Fatal(err)
			}
			mustFault(t, e.sb, sandbox.Fault{Kind: sandbox.FaultLose, Endpoint: tc.endpoint})
			err = tc.call(e, media)
			var te *wechat.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a *TransportError (outcome unknown)", err)
			}
			if n := tc.effects(e); n != 1 {
				t.Fatalf("effects: %d, want the 1 from the lost call and no repeat", n)
			}
			if got := callsOf(e.sb, tc.endpoint); len(got) != 1 {
				t.Fatalf("%s called %d times, want 1", tc.endpoint, len(got))
			}
		})
	}
}

// -1 on a call that is not idempotent is still retried: WeChat answered,
// so nothing was done.
func TestBusyRetriedEvenWhenNotIdempotent(t *testing.T) {
	e := setup(t, sandbox.Options{})
	mustFault(t, e.sb, sandbox.Fault{Kind: sandbox.FaultFail, Endpoint: "message/custom/send"})
	if err := e.api.SendText(ctxT(t), "oUser1", "hello"); err != nil {
		t.Fatal(err)
	}
	if got := callsOf(e.sb, "message/custom/send"); !equalInts(got, []int{-1, 0}) {
		t.Fatalf("custom/send answers %v", got)
	}
	if n := len(e.sb.Snapshot().Customs); n != 1 {
		t.Fatalf("%d messages delivered, want 1", n)
	}
}
