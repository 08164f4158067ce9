package wechat_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

type received struct {
	query url.Values
	body  []byte
}

// webhook records what the sandbox pushes and answers status.
func webhook(t *testing.T, status int) (string, <-chan received) {
	t.Helper()
	ch := make(chan received, 10)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- received{query: r.URL.Query(), body: b}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("success"))
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/wechat", ch
}

func wait(t *testing.T, ch <-chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no push within 10s")
	}
	return received{}
}

const aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

// openPush checks the signatures of a push and returns the event XML,
// decrypting it with the SDK's crypto in safe mode.
func openPush(t *testing.T, r received, token, appID, key string) []byte {
	t.Helper()
	q := r.query
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if q.Get("signature") != util.Signature(token, ts, nonce) {
		t.Fatalf("signature %q does not sign [token, timestamp, nonce]", q.Get("signature"))
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Fatalf("timestamp %q is not now", ts)
	}
	if key == "" {
		if q.Get("encrypt_type") != "" {
			t.Fatalf("plaintext push says encrypt_type=%s", q.Get("encrypt_type"))
		}
		return r.body
	}
	var env struct {
		ToUserName string `xml:"ToUserName"`
		Encrypt    string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("encrypted envelope: %v\n%s", err, r.body)
	}
	if q.Get("encrypt_type") != "aes" {
		t.Fatalf("encrypt_type = %q", q.Get("encrypt_type"))
	}
	if q.Get("msg_signature") != util.Signature(token, ts, nonce, env.Encrypt) {
		t.Fatal("msg_signature does not sign [token, timestamp, nonce, Encrypt]")
	}
	_, plain, err := util.DecryptMsg(appID, env.Encrypt, key)
	if err != nil {
		t.Fatalf("decrypt with the SDK: %v", err)
	}
	return plain
}

func TestPushMassSendJobFinish(t *testing.T) {
	for _, key := range []string{aesKey, ""} {
		name := map[bool]string{true: "safe mode", false: "plaintext"}[key != ""]
		t.Run(name, func(t *testing.T) {
			hook, pushes := webhook(t, http.StatusOK)
			e := setup(t, sandbox.Options{Webhook: hook, Token: "AAAAA", EncodingAESKey: key, PushDelay: 20 * time.Millisecond,
				Followers: []string{"o1", "o2", "o3"}})
			ctx := ctxT(t)
			th := thumb(t, e.api)
			a1, a2 := article(th), article(th)
			a2.Title = "国内要闻"
			draft, err := e.api.AddDraft(ctx, []wechat.Article{a1, a2})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: draft, ToAll: true, ClientMsgID: "no53"})
			if err != nil {
				t.Fatal(err)
			}
			plain := openPush(t, wait(t, pushes), "AAAAA", e.sb.Options().AppID, key)
			var ev message.MixMessage
			if err := xml.Unmarshal(plain, &ev); err != nil {
				t.Fatalf("SDK cannot read the event: %v\n%s", err, plain)
			}
			if ev.MsgType != "event" || ev.Event != "MASSSENDJOBFINISH" || ev.TemplateMsgID != res.MsgID {
				t.Fatalf("event %s/%s msg %d, want MASSSENDJOBFINISH of %d", ev.MsgType, ev.Event, ev.TemplateMsgID, res.MsgID)
			}
			if ev.Status != "send success" || ev.TotalCount != 3 || ev.SentCount != 3 || ev.ErrorCount != 0 || ev.ToUserName != sandbox.AccountID {
				t.Fatalf("event %+v", ev)
			}
			var urls struct {
				Items []struct {
					Idx int    `xml:"ArticleIdx"`
					URL string `xml:"ArticleUrl"`
				} `xml:"ArticleUrlResult>ResultList>item"`
			}
			if err := xml.Unmarshal(plain, &urls); err != nil || len(urls.Items) != 2 || urls.Items[1].Idx != 2 {
				t.Fatalf("ArticleUrlResult %+v (%v)", urls, err)
			}
			if u, err := url.Parse(urls.Items[0].URL); err != nil || u.Host != "mp.weixin.qq.com" {
				t.Fatalf("article URL %q", urls.Items[0].URL)
			}
		})
	}
}

func TestPushPublishJobFinish(t *testing.T) {
	hook, pushes := webhook(t, http.StatusOK)
	e := setup(t, sandbox.Options{Webhook: hook, EncodingAESKey: aesKey, PushDelay: 20 * time.Millisecond})
	ctx := ctxT(t)
	draft, err := e.api.AddDraft(ctx, []wechat.Article{article(thumb(t, e.api))})
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.api.SubmitPublish(ctx, draft)
	if err != nil || id == "" {
		t.Fatalf("submit: %q, %v", id, err)
	}
	plain := openPush(t, wait(t, pushes), sandbox.DefaultToken, e.sb.Options().AppID, aesKey)
	var ev message.MixMessage
	if err := xml.Unmarshal(plain, &ev); err != nil {
		t.Fatal(err)
	}
	info := ev.PublishEventInfo
	if ev.Event != "PUBLISHJOBFINISH" || strconv.FormatInt(info.PublishID, 10) != id || info.PublishStatus != 0 ||
		info.ArticleDetail.Count != 1 || len(info.ArticleDetail.Item) != 1 {
		t.Fatalf("event %s %+v", ev.Event, info)
	}
	got, err := e.api.GetPublish(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != 0 || got.PublishID != id || len(got.ArticleURLs) != 1 || got.ArticleURLs[0] != info.ArticleDetail.Item[0].ArticleURL {
		t.Fatalf("freepublish/get %+v, push %+v", got, info)
	}
}

// A webhook that keeps failing is tried three times, as WeChat does.
func TestPushRetriedThreeTimes(t *testing.T) {
	hook, pushes := webhook(t, http.StatusInternalServerError)
	e := setup(t, sandbox.Options{Webhook: hook, PushDelay: 10 * time.Millisecond})
	ctx := ctxT(t)
	draft, err := e.api.AddDraft(ctx, []wechat.Article{article(thumb(t, e.api))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: draft, ToAll: true, ClientMsgID: "x"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		wait(t, pushes)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.sb.Snapshot().Pushes) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p := e.sb.Snapshot().Pushes
	if len(p) != 1 || p[0].Attempts != 3 || p[0].Status != 500 {
		t.Fatalf("pushes %+v, want one push tried 3 times", p)
	}
	select {
	case <-pushes:
		t.Fatal("a fourth try")
	case <-time.After(300 * time.Millisecond):
	}
}
