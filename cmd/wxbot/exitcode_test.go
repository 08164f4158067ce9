package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// Usage errors exit 2 from every command, cobra's own (unknown command or
// flag, wrong number of arguments) as well as the commands' flag checks,
// with a pointer to --help; bare group commands show their help.
func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"nosuch"},
		{"--bogus"},
		{"parse"},
		{"parse", "a.md", "b.md"},
		{"status", "1", "2", "3"},
		{"qrcode", "nosuch"},
		{"qrcode", "list", "--bogus"},
		{"menu", "nosuch"},
	} {
		var stderr bytes.Buffer
		root := newRootCmd()
		root.SetArgs(args)
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		code := execute(context.Background(), root, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "--help") {
			t.Errorf("wxbot %s: exit %d, stderr %q; want 2 and a pointer to --help", strings.Join(args, " "), code, stderr.String())
		}
	}
	// The commands' own flag checks exit 2 as well.
	var stderr bytes.Buffer
	root := newRootCmd()
	root.SetArgs([]string{"publish", "x.md", "--now", "--at", "+1m"})
	if code := execute(context.Background(), root, &stderr); code != 2 {
		t.Errorf("publish --now --at: exit %d (%s), want 2", code, stderr.String())
	}
	for _, args := range [][]string{{}, {"qrcode"}, {"help"}, {"version"}} {
		root := newRootCmd()
		root.SetArgs(args)
		var out bytes.Buffer
		root.SetOut(&out)
		if code := execute(context.Background(), root, &bytes.Buffer{}); code != 0 || out.Len() == 0 {
			t.Errorf("wxbot %s: exit %d with %d bytes of output, want 0 and some output", strings.Join(args, " "), code, out.Len())
		}
	}
}

// A command that cannot reach Redis says so once, in its own words: no
// go-redis pool lines ("redis: … pool.go: …") on the terminal.
func TestNoLibraryLogLinesWhenRedisIsDown(t *testing.T) {
	bin := buildWxbot(t)
	out, code := runPubCLI(t, bin, map[string]string{"WXBOT_REDIS_ADDR": "127.0.0.1:" + itoaTest(redistest.FreePort(t))}, "status")
	if code != 1 || strings.Contains(out, "pool.go") || strings.Count(out, "\n") != 1 || !strings.Contains(out, "wxbot status:") {
		t.Fatalf("status with Redis down: exit %d, want 1 and one line of our own:\n%s", code, out)
	}
}

// publish --now that does not send exits non-zero and says why: refused by
// WeChat for now (45028, no mass quota left: rescheduled) exits 1 with the
// reason; deferred because publish.max_per_day broadcasts already went out
// today exits 3 with the time it goes out instead.
func TestPublishNowNotSentExitStatus(t *testing.T) {
	bin := buildWxbot(t)
	dir := t.TempDir()
	no54 := writeIssueIn(t, dir, "no54.md", exampleIssue(t, "newsletter-no54.md"))
	no55 := writeIssueIn(t, dir, "no55.md", exampleIssue(t, "newsletter-no55.md"))
	// No.55 has a picture beside it.
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile("../../examples/images/miit-batch4.png")
	if err != nil {
		t.Fatal(err)
	}
	writeIssueIn(t, filepath.Join(dir, "images"), "miit-batch4.png", png)

	t.Run("refused", func(t *testing.T) {
		rs := redistest.Start(t)
		sb := sandboxtest.Start(t, sandbox.Options{Faults: []sandbox.Fault{
			{Kind: sandbox.FaultFail, Endpoint: "message/mass/sendall", Code: 45028},
		}})
		out, code := runPubCLI(t, bin, pipelineEnv(sb, rs.Addr), "publish", no54, "--now")
		if code != 1 || !strings.Contains(out, "NOT sent") || !strings.Contains(out, "WeChat refused") {
			t.Fatalf("publish --now refused with 45028: exit %d, want 1 saying it was not sent and why:\n%s", code, out)
		}
		if n := len(sb.MassSends()); n != 0 {
			t.Fatalf("%d mass sends recorded by the sandbox, want 0", n)
		}
	})
	t.Run("deferred", func(t *testing.T) {
		rs := redistest.Start(t)
		sb := sandboxtest.Start(t, sandbox.Options{})
		env := pipelineEnv(sb, rs.Addr)
		env["WXBOT_PUBLISH_MAX_PER_DAY"] = "1"
		if out, code := runPubCLI(t, bin, env, "publish", no54, "--now"); code != 0 {
			t.Fatalf("first publish --now: exit %d\n%s", code, out)
		}
		out, code := runPubCLI(t, bin, env, "publish", no55, "--now")
		if code != 3 || !strings.Contains(out, "NOT sent now") || !strings.Contains(out, "deferred to the next slot") {
			t.Fatalf("publish --now over the day's quota: exit %d, want 3 with the new time:\n%s", code, out)
		}
		if n := len(sb.MassSends()); n != 1 {
			t.Fatalf("%d mass sends, want 1", n)
		}
	})
}
