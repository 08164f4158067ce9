package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// publish.approval: required, as the firm runs it: an issue due in a few
// seconds is not sent at its time; the same words from someone who is not
// an approver are ordinary chat; the approver's "批准 N" to the serve
// replica releases it and it goes out once. The drafted issue is not in
// the chat meanwhile (the review gate).
func TestApprovalFromThePhone(t *testing.T) {
	bin := buildWxbot(t)
	rs := redistest.Start(t)
	sb := sandboxtest.Start(t, sandbox.Options{})
	env := pipelineEnv(sb, rs.Addr)
	env["WXBOT_PUBLISH_APPROVAL"] = "required"
	env["WXBOT_PUBLISH_APPROVERS"] = "oApprover1"
	serveEnv := map[string]string{}
	for k, v := range env {
		serveEnv[k] = v
	}
	m, logs := startServe(t, serveEnv)
	acct := wechatsim.Account{Token: sb.Options().Token, AppID: sb.Options().AppID}
	say := func(from, text string) *wechatsim.Reply {
		t.Helper()
		p, err := acct.Seal(wechatsim.Text(from, "gh_firm", text, time.Now().UnixNano(), time.Now().Unix()), wechatsim.Plain, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r, err := acct.Send(http.DefaultClient, "http://"+m.Addr()+"/wechat", p)
		if err != nil {
			t.Fatalf("%s says %q: %v\n%s", from, text, err, logs.String())
		}
		return r
	}

	dir := t.TempDir()
	file := writeIssueIn(t, dir, "no54.md", renumberTest(exampleIssue(t, "newsletter-no54.md"), 54, 61))
	out, code := runPubCLI(t, bin, env, "publish", file, "--at", "+2s")
	if code != 0 || !strings.Contains(out, "waits for approval") {
		t.Fatalf("publish --at +2s: exit %d, want 0 saying it waits for approval:\n%s", code, out)
	}
	if r := say("oReader", "61"); strings.Contains(r.Content, "No.61") || len(r.Articles) > 0 {
		t.Fatalf("the unapproved, unsent No.61 is shown in chat: %+v", r)
	}
	time.Sleep(3 * time.Second) // past its time
	if n := len(sb.MassSends()); n != 0 {
		t.Fatalf("%d mass sends before the approval", n)
	}
	if r := say("oReader", "批准 61"); strings.Contains(r.Content, "已批准") || strings.Contains(r.Content, "approved") {
		t.Fatalf("a non-approver's 批准 was taken: %q", r.Content)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(sb.MassSends()); n != 0 {
		t.Fatalf("%d mass sends after a non-approver's 批准", n)
	}
	out, _ = runPubCLI(t, bin, env, "status", "61")
	if !strings.Contains(out, "awaiting_approval") {
		t.Fatalf("status 61 does not show it waiting for approval:\n%s", out)
	}

	r := say("oApprover1", "批准 61")
	if !strings.Contains(r.Content, "已批准第61期") {
		t.Fatalf("the approver's 批准 61 got %q", r.Content)
	}
	waitPub(t, 15*time.Second, "the approved broadcast", func() bool { return len(sb.MassSends()) > 0 })
	time.Sleep(1500 * time.Millisecond)
	if n := len(sb.MassSends()); n != 1 {
		t.Fatalf("%d mass sends after the approval, want 1", n)
	}
	out, _ = runPubCLI(t, bin, env, "status", "61")
	if !strings.Contains(out, "oApprover1") {
		t.Fatalf("status 61 does not say who approved it:\n%s", out)
	}
	// A second 批准 is refused in words, nothing more is sent.
	if r := say("oApprover1", "批准 61"); !strings.Contains(r.Content, "already") {
		t.Fatalf("a second 批准: %q", r.Content)
	}
}

// The operator's commands: approve/reject need a number, reject a reason;
// both answer --help.
func TestApproveRejectUsage(t *testing.T) {
	for _, args := range [][]string{{"approve"}, {"reject", "55"}, {"approve", "x"}} {
		root := newRootCmd()
		root.SetArgs(args)
		var stderr strings.Builder
		if code := execute(t.Context(), root, &stderr); code != 2 {
			t.Errorf("wxbot %v: exit %d (%s), want 2", args, code, stderr.String())
		}
	}
	for _, c := range []string{"approve", "reject", "retract"} {
		if out := runCLI(t, "", c, "--help"); !strings.Contains(out, "Usage:") {
			t.Errorf("wxbot %s --help: %s", c, out)
		}
	}
}

// renumberTest makes another issue of an example by changing its number.
func renumberTest(data []byte, from, to int) []byte {
	return []byte(strings.Replace(string(data), "\nNo."+itoaTest(from)+"\n", "\nNo."+itoaTest(to)+"\n", 1))
}
