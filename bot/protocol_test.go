package bot

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/lifang/wxbot/bot/wechatsim"
)

// The official test vectors of WECHAT.md §1.
const (
	vecSafeEncrypt = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
	vecSafeKey     = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	vecSafeAppID   = "wxba5fad812f8e6fb9"
)

func TestOfficialVectors(t *testing.T) {
	t.Run("url signature", func(t *testing.T) {
		k := keyring{token: "AAAAA"}
		if !k.verify("f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492") {
			t.Fatal("official URL-check signature refused")
		}
		if k.verify("f464b24fc39322e44b38aa78f5edd27bd1441697", "1714036504", "1514711492") {
			t.Fatal("a signature one digit off was accepted")
		}
	})
	t.Run("encrypt", func(t *testing.T) {
		const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
		const want = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
		got, err := util.EncryptMsg([]byte("aaaabbbbccccdddd"), []byte("我是中文abcd123"), "wxb11529c136998cb6", key)
		if err != nil || string(got) != want {
			t.Fatalf("encrypt = %s, %v; want %s", got, err, want)
		}
		k, _ := newKeyring("t", "wxb11529c136998cb6", key)
		plain, idx, err := k.decrypt([]byte(want))
		if err != nil || string(plain) != "我是中文abcd123" || idx != 0 {
			t.Fatalf("decrypt = %q, %d, %v", plain, idx, err)
		}
		k.appID = "wxb11529c136998cb7"
		if _, _, err := k.decrypt([]byte(want)); err == nil {
			t.Fatal("decrypt accepted a payload for another AppID")
		}
	})
	t.Run("safe-mode push", func(t *testing.T) {
		k, _ := newKeyring("AAAAA", vecSafeAppID, vecSafeKey)
		if !k.verify("046e02f8204d34f8ba5fa3b1db94908f3df2e9b3", "1714112445", "415670741", vecSafeEncrypt) ||
			!k.verifyEnc("046e02f8204d34f8ba5fa3b1db94908f3df2e9b3", "1714112445", "415670741", []byte(vecSafeEncrypt)) {
			t.Fatal("official msg_signature refused")
		}
		plain, _, err := k.decrypt([]byte(vecSafeEncrypt))
		if err != nil || len(plain) != 167 {
			t.Fatalf("decrypt: %d bytes, %v", len(plain), err)
		}
		m, err := parseMessage(plain)
		if err != nil {
			t.Fatal(err)
		}
		if m.FromUserName != "o9AgO5Kd5ggOC-bXrbNODIiE3bGY" || m.Event != "debug_demo" || m.CreateTime != 1714112445 {
			t.Fatalf("parsed %+v", m.CommonToken)
		}
	})
	t.Run("safe-mode push over HTTP", func(t *testing.T) {
		// The vector's own clock, account and JSON body, through the handler.
		h := newHarness(t, harnessOpt{env: map[string]string{
			"WXBOT_WECHAT_TOKEN": "AAAAA", "WXBOT_WECHAT_APP_ID": vecSafeAppID,
			"WXBOT_WECHAT_ENCODING_AES_KEY": vecSafeKey, "WXBOT_WECHAT_PREVIOUS_ENCODING_AES_KEY": "",
		}})
		h.bot.now = func() time.Time { return time.Unix(1714112445, 0) }
		q := "signature=" + util.Signature("AAAAA", "1714112445", "415670741") +
			"&timestamp=1714112445&nonce=415670741&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
		body := `{"ToUserName":"gh_97417a04a28d","Encrypt":"` + vecSafeEncrypt + `"}`
		status, got := h.post(q, []byte(body))
		if status != 200 || got != "success" {
			t.Fatalf("got %d %q; want 200 success (an unknown event)", status, got)
		}
		if n := len(h.userKeys()); n != 1 {
			t.Fatalf("want the event's dedupe key only, got %d keys", n)
		}
	})
}

func TestSignatureMatchesSDK(t *testing.T) {
	cases := [][]string{
		{"AAAAA", "1714036504", "1514711492"},
		{"tok", "1", "2", "cipher+/=="},
		{"b", "a", "", "ab"},
		{"", "", ""},
		{"z", "y", "x", "w"},
		{"a", "c", "e", "b"},
		{"a", "c", "e", "d"},
		{"a", "c", "e", "f"},
		{"b", "b", "b", "b"},
		{"tok", "1714112445", "415670741", vecSafeEncrypt},
	}
	for _, c := range cases {
		var got [40]byte
		signature(&got, c[0], c[1:]...)
		want := util.Signature(c...)
		if string(got[:]) != want {
			t.Errorf("signature(%q) = %s, SDK says %s", c, got, want)
		}
		if len(c) == 4 {
			// The same with the Encrypt text as bytes, wherever it sorts.
			signatureEnc(&got, c[0], c[1], c[2], []byte(c[3]))
			if string(got[:]) != want {
				t.Errorf("signatureEnc(%q) = %s, SDK says %s", c, got, want)
			}
		}
	}
}

func TestURLVerification(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	status, body, err := h.acct.VerifyURL(http.DefaultClient, h.url(), "echo-7312", time.Now())
	if err != nil || status != 200 || body != "echo-7312" {
		t.Fatalf("verify = %d %q %v", status, body, err)
	}
	forged := wechatsim.Account{Token: "notTheToken", AppID: testAppID}
	status, _, _ = forged.VerifyURL(http.DefaultClient, h.url(), "echo", time.Now())
	if status != http.StatusForbidden {
		t.Fatalf("forged URL check: %d, want 403", status)
	}
	status, _, _ = h.acct.VerifyURL(http.DefaultClient, h.url(), "echo", time.Now().Add(-10*time.Minute))
	if status != http.StatusForbidden {
		t.Fatalf("stale URL check: %d, want 403", status)
	}
}

func TestModes(t *testing.T) {
	// Plain mode with a key configured reads both kinds of push.
	h := newHarness(t, harnessOpt{env: map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "plain"}})
	for _, mode := range []wechatsim.Mode{wechatsim.Plain, wechatsim.Compat, wechatsim.Safe} {
		t.Run(string(mode), func(t *testing.T) {
			r := h.ask(testOpenID, "最新", mode)
			if r.MsgType != "text" {
				t.Fatalf("reply type %q", r.MsgType)
			}
			contains(t, r.Content, "No.54")
			contains(t, r.Content, "个人信息保护法草案二审稿公布")
			if wantEnc := mode != wechatsim.Plain; r.Encrypted != wantEnc {
				t.Fatalf("encrypted = %v, want %v", r.Encrypted, wantEnc)
			}
			if !bytes.Contains(r.Plain, []byte("<ToUserName><![CDATA["+testOpenID+"]]></ToUserName>")) ||
				!bytes.Contains(r.Plain, []byte("<FromUserName><![CDATA["+testAccount+"]]></FromUserName>")) {
				t.Fatalf("reply not addressed back: %s", r.Plain)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	old := h.acct
	old.AESKey = prevAESKey // WeChat still encrypts with the previous key
	p, err := old.Seal(wechatsim.Text(testOpenID, testAccount, "help", nextMsgID(), time.Now().Unix()), wechatsim.Safe, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r, err := old.Send(http.DefaultClient, h.url(), p)
	if err != nil {
		t.Fatalf("reply to a message under the previous key: %v", err)
	}
	contains(t, r.Content, "latest")
	// The reply was sealed with the previous key: the current one cannot open it.
	if _, err := h.acct.Send(http.DefaultClient, h.url(), p); err == nil {
		t.Fatal("reply opened with the current key; it must use the key that worked")
	}
}

func TestBadInput(t *testing.T) {
	// Plain mode, so that bad plaintext bodies get as far as being read;
	// safe mode refuses them before (TestMessageModes).
	h := newHarness(t, harnessOpt{env: map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "plain"}})
	now := time.Now()
	text := wechatsim.Text(testOpenID, testAccount, "最新", 1, now.Unix())
	safe := func(msg []byte, at time.Time) wechatsim.Push {
		p, err := h.acct.Seal(msg, wechatsim.Safe, at)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := func(msg []byte, at time.Time) wechatsim.Push {
		p, _ := h.acct.Seal(msg, wechatsim.Plain, at)
		return p
	}
	// resign replaces Encrypt and signs it properly, so only the payload is bad.
	resign := func(p wechatsim.Push, encrypt string) wechatsim.Push {
		q, _ := url.ParseQuery(p.Query)
		q.Set("msg_signature", util.Signature(testToken, q.Get("timestamp"), q.Get("nonce"), encrypt))
		p.Query = q.Encode()
		p.Body = []byte("<xml><ToUserName><![CDATA[" + testAccount + "]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>")
		return p
	}
	setQuery := func(p wechatsim.Push, k, v string) wechatsim.Push {
		q, _ := url.ParseQuery(p.Query)
		q.Set(k, v)
		p.Query = q.Encode()
		return p
	}
	foreign, _ := util.EncryptMsg([]byte("0123456789abcdef"), text, foreignAppID, testAESKey)
	unknownKey, _ := util.EncryptMsg([]byte("0123456789abcdef"), text, testAppID, "zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUT")
	garbageXML, _ := util.EncryptMsg([]byte("0123456789abcdef"), []byte("<xml><FromUserName>"), testAppID, testAESKey)
	huge := append([]byte("<xml><Content><![CDATA["), bytes.Repeat([]byte("a"), 2<<20)...)

	cases := []struct {
		name   string
		push   wechatsim.Push
		status int
	}{
		{"forged signature", setQuery(plain(text, now), "signature", strings.Repeat("0", 40)), 403},
		{"no signature", setQuery(plain(text, now), "signature", ""), 403},
		{"forged msg_signature", setQuery(safe(text, now), "msg_signature", strings.Repeat("1", 40)), 403},
		{"stale timestamp", plain(text, now.Add(-6*time.Minute)), 403},
		{"future timestamp", plain(text, now.Add(6*time.Minute)), 403},
		{"stale timestamp, safe", safe(text, now.Add(-6*time.Minute)), 403},
		{"timestamp not a number", setQuery(plain(text, now), "timestamp", "soon"), 403},
		{"oversized", plain(huge, now), 413},
		{"garbage plaintext", plain([]byte("\x00\x01 not xml at all"), now), 400},
		{"wrong root element", plain([]byte("<html><FromUserName>x</FromUserName></html>"), now), 400},
		{"no sender", plain([]byte("<xml><MsgType>text</MsgType></xml>"), now), 400},
		{"garbage envelope", setQuery(plain([]byte("}{"), now), "encrypt_type", "aes"), 403},
		{"bad base64", resign(safe(text, now), "!!!not base64!!!"), 400},
		{"bad padding", resign(safe(text, now), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 48))), 400},
		{"truncated ciphertext", resign(safe(text, now), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 10))), 400},
		{"foreign appid", resign(safe(text, now), string(foreign)), 400},
		{"unknown key", resign(safe(text, now), string(unknownKey)), 400},
		{"malformed inner xml", resign(safe(text, now), string(garbageXML)), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := h.post(c.push.Query, c.push.Body)
			if status != c.status {
				t.Fatalf("status %d (%q), want %d", status, body, c.status)
			}
			if keys := h.userKeys(); len(keys) != 0 {
				t.Fatalf("a refused request left state behind: %v", keys)
			}
			if calls := h.rec.Calls(); len(calls) != 0 {
				t.Fatalf("a refused request caused calls: %v", calls)
			}
		})
	}

	t.Run("oversized without length", func(t *testing.T) {
		p := plain(huge, now)
		// A reader of unknown length makes the client send chunked.
		req, _ := http.NewRequest(http.MethodPost, h.url()+"?"+p.Query, io.MultiReader(bytes.NewReader(p.Body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 || resp.Request.ContentLength > 0 {
			t.Fatalf("status %d (content length %d), want 413 on a chunked body", resp.StatusCode, resp.Request.ContentLength)
		}
	})
	t.Run("method", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, h.url(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("PUT: %d", resp.StatusCode)
		}
	})
	t.Run("logs hold no content", func(t *testing.T) {
		// Every refusal above was logged; none may carry the message.
		if strings.Contains(h.logsString(), "最新") || strings.Contains(h.logsString(), testAESKey) {
			t.Fatalf("log leaks content or secrets:\n%s", h.logsString())
		}
	})
}

func TestPanicAnswersSuccess(t *testing.T) {
	h := newHarness(t, harnessOpt{rec: &recorder{panicOn: "boom"}})
	msg := wechatsim.Event(testOpenID, testAccount, "subscribe", "qrscene_boom", time.Now().Unix())
	r, err := h.send(msg, wechatsim.Safe)
	if err != nil || !r.Success {
		t.Fatalf("after a panic: %+v %v; want success", r, err)
	}
	contains(t, h.logsString(), "panic")
	// WeChat's retry is answered success without running the handler again.
	r, err = h.send(msg, wechatsim.Safe)
	if err != nil || !r.Success {
		t.Fatalf("retry after a panic: %+v %v", r, err)
	}
	if n := strings.Count(h.logsString(), "recorder: asked to panic"); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
	// The server is still up.
	contains(t, h.ask(testOpenID, "help", wechatsim.Safe).Content, "latest")
}

func TestQueryParsing(t *testing.T) {
	q := parseQuery("signature=abc&timestamp=" + strconv.Itoa(12) + "&nonce=n%20x&encrypt_type=aes&msg_signature=m&echostr=e%2Bf&x")
	if q.signature != "abc" || q.timestamp != "12" || q.nonce != "n x" || q.encryptType != "aes" || q.msgSignature != "m" || q.echostr != "e+f" {
		t.Fatalf("%+v", q)
	}
}
