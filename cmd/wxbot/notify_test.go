package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// wxbot publish with a WeCom robot configured and the admin outside
// WeChat's 48 h window: WeChat's quota defers the send, the robot hears of
// it, the admin's 45015 is recorded and shown by wxbot status, and no
// customer-service message gets through the closed window.
func TestPublishNoticesReachTheRobot(t *testing.T) {
	bin := buildWxbot(t)
	var mu sync.Mutex
	var got []string
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var b struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Content string `json:"content"`
			} `json:"markdown"`
		}
		if json.Unmarshal(raw, &b) != nil || b.MsgType != "markdown" || r.URL.Query().Get("key") != "k1" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, b.Markdown.Content)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	defer robot.Close()
	told := func(part string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range got {
			if strings.Contains(c, part) {
				return true
			}
		}
		return false
	}

	sb := sandboxtest.Start(t, sandbox.Options{CustomWindow: true, Faults: []sandbox.Fault{
		{Kind: sandbox.FaultFail, Endpoint: "message/mass/sendall", Code: 45028, Count: 1},
	}})
	rs := redistest.Start(t)
	env := pipelineEnv(sb, rs.Addr)
	env["WXBOT_NOTIFY_WECOM_WEBHOOK"] = robot.URL + "/cgi-bin/webhook/send?key=k1"
	env["WXBOT_PUBLISH_ADMINS"] = "oAdmin"
	file := writeIssueIn(t, t.TempDir(), "no54.md", exampleIssue(t, "newsletter-no54.md"))
	out, _ := runPubCLI(t, bin, env, "publish", file, "--now")
	if strings.Contains(out, "k1") {
		t.Fatalf("the robot's key is in the output:\n%s", out)
	}
	waitPub(t, 5*time.Second, "the deferred notice at the robot", func() bool { return told("No.54 was not sent") })
	st, code := runPubCLI(t, bin, env, "status")
	if code != 0 || !strings.Contains(st, "Admin oAdmin: WeChat refused customer-service notices (errcode 45015)") ||
		!strings.Contains(st, "Notices not delivered by wechat") {
		t.Fatalf("status (%d):\n%s", code, st)
	}
	if n := len(sb.Snapshot().Customs); n != 0 {
		t.Fatalf("%d customer-service messages got through a closed window", n)
	}

	// Asked again once WeChat has quota, it goes out: its "sent" notice
	// reaches the robot too, the admin's window still closed.
	if out, code := runPubCLI(t, bin, env, "publish", file, "--now"); code != 0 {
		t.Fatalf("publish --now again: exit %d\n%s", code, out)
	}
	waitPub(t, 5*time.Second, "the sent notice at the robot", func() bool { return told("No.54 was sent") })
	if n := len(sb.Snapshot().Customs); n != 0 {
		t.Fatalf("%d customer-service messages got through a closed window", n)
	}
}
