package bot

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/store"
)

// TestMessageModes: what each configured wechat.message_mode accepts of
// each kind of push. Safe and compat accept only the signed ciphertext;
// plain takes plaintext, and ciphertext too when it has a key.
func TestMessageModes(t *testing.T) {
	noKey := map[string]string{"WXBOT_WECHAT_ENCODING_AES_KEY": "", "WXBOT_WECHAT_PREVIOUS_ENCODING_AES_KEY": ""}
	cases := []struct {
		name string
		env  map[string]string
		want map[wechatsim.Mode]int // push mode → status
	}{
		{"default with a key is safe", nil, map[wechatsim.Mode]int{wechatsim.Plain: 403, wechatsim.Compat: 200, wechatsim.Safe: 200}},
		{"safe", map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "safe"}, map[wechatsim.Mode]int{wechatsim.Plain: 403, wechatsim.Compat: 200, wechatsim.Safe: 200}},
		{"compat", map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "compat"}, map[wechatsim.Mode]int{wechatsim.Plain: 403, wechatsim.Compat: 200, wechatsim.Safe: 200}},
		{"plain with a key", map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "plain"}, map[wechatsim.Mode]int{wechatsim.Plain: 200, wechatsim.Compat: 200, wechatsim.Safe: 200}},
		// Without a key a compat push is read from its plaintext copy; a
		// safe one cannot be read at all.
		{"default without a key is plain", noKey, map[wechatsim.Mode]int{wechatsim.Plain: 200, wechatsim.Compat: 200, wechatsim.Safe: 400}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, harnessOpt{env: c.env})
			refused := 0
			for _, mode := range []wechatsim.Mode{wechatsim.Plain, wechatsim.Compat, wechatsim.Safe} {
				p, err := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "最新", nextMsgID(), time.Now().Unix()), mode, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				status, body := h.post(p.Query, p.Body)
				if status != c.want[mode] {
					t.Errorf("%s push: %d %q, want %d", mode, status, body, c.want[mode])
				}
				if status == 200 && !strings.Contains(body, "Encrypt") && mode != wechatsim.Plain && c.env == nil {
					t.Errorf("%s push answered in plaintext: %q", mode, body)
				}
				if status == 403 {
					refused++
				}
			}
			if got := testutil.ToFloat64(h.m.WebhookRefused.WithLabelValues(refusedPlaintext)); got != float64(refused) {
				t.Errorf("wxbot_webhook_refused_total{reason=plaintext} = %v, want %d", got, refused)
			}
		})
	}
}

// TestSafeModeRefusesDowngrade replays the query of a real safe-mode push —
// as read from a proxy's access log — with a plaintext body of the
// attacker's choosing. The query's signature covers no part of the body:
// none of it may be accepted.
func TestSafeModeRefusesDowngrade(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	now := time.Now()
	captured, err := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "help", nextMsgID(), now.Unix()), wechatsim.Safe, now)
	if err != nil {
		t.Fatal(err)
	}
	forged := []byte(`<xml><ToUserName><![CDATA[` + testAccount + `]]></ToUserName><FromUserName><![CDATA[oAttacker]]></FromUserName>` +
		`<CreateTime>` + strconv.FormatInt(now.Unix(), 10) + `</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[MASSSENDJOBFINISH]]></Event>` +
		`<MsgID>1988</MsgID><Status><![CDATA[err(10001)]]></Status><TotalCount>1</TotalCount><ErrorCount>1</ErrorCount>` +
		`<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx><ArticleUrl><![CDATA[https://phish.example/x]]></ArticleUrl></item></ResultList></ArticleUrlResult></xml>`)
	q, _ := url.ParseQuery(captured.Query)
	plainQuery := url.Values{"signature": q["signature"], "timestamp": q["timestamp"], "nonce": q["nonce"]}.Encode()
	jsonBody := []byte(`{"ToUserName":"` + testAccount + `","FromUserName":"oAttacker","CreateTime":` + strconv.FormatInt(now.Unix(), 10) +
		`,"MsgType":"text","Content":"最新","MsgId":77}`)

	for _, c := range []struct {
		name, query string
		body        []byte
	}{
		{"plaintext body, plaintext query", plainQuery, forged},
		{"plaintext body, the captured aes query", captured.Query, forged},
		{"JSON body, plaintext query", plainQuery, jsonBody},
		{"encrypt_type other than aes", plainQuery + "&encrypt_type=none", forged},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := h.post(c.query, c.body)
			if status != http.StatusForbidden {
				t.Fatalf("status %d %q, want 403", status, body)
			}
		})
	}
	if got := testutil.ToFloat64(h.m.WebhookRefused.WithLabelValues(refusedPlaintext)); got != 4 {
		t.Errorf("wxbot_webhook_refused_total{reason=plaintext} = %v, want 4", got)
	}
	// A compat body carries both: the forged plaintext fields beside the
	// captured, genuine Encrypt. Only the ciphertext is read: the reply
	// goes to the real sender and no job event is reported.
	compat := append([]byte(nil), forged[:len(forged)-len("</xml>")]...)
	i := strings.Index(string(captured.Body), "<Encrypt>")
	compat = append(compat, captured.Body[i:]...)
	status, body := h.post(captured.Query, compat)
	if status != 200 {
		t.Fatalf("compat body with a genuine Encrypt: %d %q", status, body)
	}
	r, err := h.acct.Open(status, []byte(body))
	if err != nil || !r.Encrypted || !strings.Contains(string(r.Plain), "<ToUserName><![CDATA["+testOpenID+"]]>") {
		t.Fatalf("compat answer %+v %v: want an encrypted reply to %s", r, err, testOpenID)
	}
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if len(h.rec.mass) != 0 {
		t.Fatalf("a forged job report reached the publisher: %+v", h.rec.mass)
	}
	for _, k := range h.userKeys() {
		if strings.Contains(k, "oAttacker") {
			t.Fatalf("the forged sender left state: %s", k)
		}
	}
}

// TestAuthenticatedBeforeRead: a request whose query does not authenticate
// is answered without its body being read. The client declares a body and
// never sends it; the answer must come anyway.
func TestAuthenticatedBeforeRead(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	now := time.Now()
	good, _ := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "help", nextMsgID(), now.Unix()), wechatsim.Safe, now)
	stale, _ := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "help", nextMsgID(), now.Add(-time.Hour).Unix()), wechatsim.Safe, now.Add(-time.Hour))
	q, _ := url.ParseQuery(good.Query)
	noSig := url.Values{"timestamp": q["timestamp"], "nonce": q["nonce"], "encrypt_type": {"aes"}, "msg_signature": q["msg_signature"]}
	badSig := url.Values{"signature": {strings.Repeat("0", 40)}, "timestamp": q["timestamp"], "nonce": q["nonce"],
		"encrypt_type": {"aes"}, "msg_signature": q["msg_signature"]}
	plainQ := url.Values{"signature": q["signature"], "timestamp": q["timestamp"], "nonce": q["nonce"]}
	for _, c := range []struct{ name, query string }{
		{"aes without signature", noSig.Encode()},
		{"aes with a wrong signature", badSig.Encode()},
		{"stale timestamp", stale.Query},
		{"plaintext in safe mode", plainQ.Encode()},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", h.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
			if _, err := conn.Write([]byte("POST /wechat?" + c.query + " HTTP/1.1\r\nHost: wx\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n<xml>")); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer while the body is outstanding: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
		})
	}
}

// TestNewRefusesModeWithoutKey: a configuration that was not validated
// still cannot start safe or compat mode without a key to read them.
func TestNewRefusesModeWithoutKey(t *testing.T) {
	rdb := redistest.Start(t).Client()
	for _, mode := range []string{"safe", "compat", "aes"} {
		cfg := testConfig(t, map[string]string{"WXBOT_WECHAT_ENCODING_AES_KEY": "", "WXBOT_WECHAT_PREVIOUS_ENCODING_AES_KEY": ""})
		cfg.WeChat.MessageMode = mode
		_, err := New(Options{Config: cfg, Redis: rdb, Archive: archive.New(archive.Options{Redis: rdb, Keys: store.Keys{}})})
		if err == nil || !strings.Contains(err.Error(), "wechat.message_mode") {
			t.Errorf("mode %s without a key: %v, want an error naming wechat.message_mode", mode, err)
		}
	}
}
