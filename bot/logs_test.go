package bot

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/lifang/wxbot/bot/wechatsim"
)

// TestNoMessageContentInLogs sends messages carrying a unique marker —
// valid ones, ones that are malformed once decrypted, unknown types and
// events — with the logger at debug level, and scans everything logged for
// the marker. Decoders quote what they could not read (an element name, a
// value that is not a number, an entity): none of it may reach the log.
func TestNoMessageContentInLogs(t *testing.T) {
	const marker = "Mk7qZx" // letters only: it must fit an element or entity name
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	from := "<FromUserName><![CDATA[oLogScan]]></FromUserName><ToUserName><![CDATA[" + testAccount + "]]></ToUserName>"
	messages := []struct {
		name    string
		msg     string
		refused bool // answered 400, and logged as such
	}{
		{"text", string(wechatsim.Text("oLogScan", testAccount, "问 "+marker+" GDPR", nextMsgID(), now.Unix())), false},
		{"unknown message type", "<xml>" + from + "<CreateTime>" + ts + "</CreateTime><MsgType>" + marker + "</MsgType><Content>" + marker + "</Content><MsgId>" + strconv.FormatInt(nextMsgID(), 10) + "</MsgId></xml>", false},
		{"unknown event", "<xml>" + from + "<CreateTime>" + ts + "</CreateTime><MsgType>event</MsgType><Event>" + marker + "</Event><EventKey>" + marker + "</EventKey></xml>", false},
		{"click with an unknown key", "<xml>" + from + "<CreateTime>" + ts + "</CreateTime><MsgType>event</MsgType><Event>CLICK</Event><EventKey>" + marker + "</EventKey></xml>", false},
		{"job report", "<xml>" + from + "<CreateTime>" + ts + "</CreateTime><MsgType>event</MsgType><Event>MASSSENDJOBFINISH</Event><MsgID>5</MsgID><Status>" + marker + "</Status></xml>", false},
		{"a number that is not", "<xml>" + from + "<CreateTime>" + marker + "</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>", true},
		{"unclosed element", "<xml>" + from + "<" + marker + ">x</xml>", true},
		{"wrong root", "<" + marker + ">" + from + "</" + marker + ">", true},
		{"unknown entity", "<xml>" + from + "<MsgType>text</MsgType><Content>a &" + marker + "; b</Content></xml>", true},
		{"bad attribute", "<xml " + marker + "=" + marker + ">" + from + "</xml>", true},
		{"JSON of the wrong type", `{"FromUserName":"oLogScan","MsgType":"text","CreateTime":"` + marker + `"}`, true},
		{"JSON syntax", `{"FromUserName":"oLogScan","MsgType":` + marker + `}`, true},
	}
	for _, mode := range []string{"safe", "plain"} {
		t.Run(mode, func(t *testing.T) {
			// No publisher: job reports are logged by the bot itself.
			h := newHarness(t, harnessOpt{noDeps: true, env: map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": mode}})
			push := wechatsim.Safe
			if mode == "plain" {
				push = wechatsim.Plain
			}
			refused := 0
			for _, m := range messages {
				p, err := h.acct.Seal([]byte(m.msg), push, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				status, body := h.post(p.Query, p.Body)
				want := 200
				if m.refused {
					want = 400
					refused++
				}
				if status != want {
					t.Errorf("%s: status %d %q, want %d", m.name, status, body, want)
				}
			}
			if mode == "safe" {
				// An envelope that does not parse, under a signed query.
				env := "<xml><" + marker + "><Encrypt>x</Encrypt></xml>"
				nonce := "1234"
				q := "signature=" + util.Signature(testToken, ts, nonce) + "&timestamp=" + ts + "&nonce=" + nonce +
					"&encrypt_type=aes&msg_signature=" + util.Signature(testToken, ts, nonce, "x")
				if status, _ := h.post(q, []byte(env)); status != 400 {
					t.Errorf("malformed envelope: %d, want 400", status)
				}
				refused++
			}
			logs := h.logsString()
			if n := strings.Count(logs, "webhook: bad request"); n != refused {
				t.Errorf("%d refusals logged, want %d:\n%s", n, refused, logs)
			}
			if !strings.Contains(logs, "mass send finished") {
				t.Errorf("the job report was not logged:\n%s", logs)
			}
			if strings.Contains(logs, marker) {
				t.Fatalf("the log holds message content:\n%s", logs)
			}
		})
	}
}
