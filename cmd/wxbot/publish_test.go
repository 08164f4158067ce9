package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// pubCLI is a `wxbot` command run as a child process.
type pubCLI struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

// startPubCLI starts bin with args in a clean environment plus env.
func startPubCLI(t *testing.T, bin string, env map[string]string, args ...string) *pubCLI {
	t.Helper()
	home := t.TempDir()
	r := &pubCLI{out: &lockedBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(bin, args...)
	r.cmd.Dir = home
	r.cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "PATH=" + os.Getenv("PATH"), "TZ=UTC"}
	for k, v := range env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// status waits for the command and returns its exit status.
func (r *pubCLI) status(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		t.Fatalf("%v still running after %s:\n%s", r.cmd.Args, d, r.out.String())
	}
	if r.err == nil {
		return 0
	}
	if ee, ok := r.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", r.err)
	return -1
}

// runPubCLI runs a command to its end: output and exit status.
func runPubCLI(t *testing.T, bin string, env map[string]string, args ...string) (string, int) {
	t.Helper()
	r := startPubCLI(t, bin, env, args...)
	code := r.status(t, 60*time.Second)
	return r.out.String(), code
}

func waitPub(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pipelineEnv is the environment of wxbot processes talking to the sandbox
// and a real Redis.
func pipelineEnv(sb *sandboxtest.Sandbox, redisAddr string) map[string]string {
	o := sb.Options()
	return map[string]string{
		"WXBOT_REDIS_ADDR":        redisAddr,
		"WXBOT_WECHAT_API_BASE":   sb.URL,
		"WXBOT_WECHAT_APP_ID":     o.AppID,
		"WXBOT_WECHAT_APP_SECRET": o.AppSecret,
		"WXBOT_WECHAT_TOKEN":      o.Token,
		"WXBOT_PUBLISH_LOCK_TTL":  "2s",
		"WXBOT_LOG_LEVEL":         "warn",
	}
}

func writeIssueIn(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func exampleIssue(t *testing.T, name string) []byte {
	t.Helper()
	b, err := examples.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type pubStatusJSON struct {
	State       string `json:"state"`
	Broadcast   string `json:"broadcast"`
	MsgID       int64  `json:"msg_id"`
	Duplicate   bool   `json:"duplicate"`
	ClientMsgID string `json:"clientmsgid"`
	DraftMedia  string `json:"draft_media_id"`
	SentCount   int    `json:"sent_count"`
	TotalCount  int    `json:"total_count"`
}

func readPubStatus(t *testing.T, bin string, env map[string]string, n string) pubStatusJSON {
	t.Helper()
	out, code := runPubCLI(t, bin, env, "status", n, "--json")
	if code != 0 {
		t.Fatalf("status %s: exit %d\n%s", n, code, out)
	}
	var s pubStatusJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return s
}

// A `wxbot publish --now` killed with SIGKILL between steps and run again
// resumes where it stopped: one draft, one preview, one accepted broadcast.
func TestPublishKilledAndRerun(t *testing.T) {
	bin := buildWxbot(t)
	for _, tc := range []struct {
		name   string
		faults []sandbox.Fault
		// killWhen says the process is between the steps to kill it at.
		killWhen func(sb *sandboxtest.Sandbox) bool
		// stateAfterKill is the recorded state the rerun resumes from.
		stateAfterKill string
		wantDuplicate  bool
	}{
		{
			name:   "after draft/add, during the preview",
			faults: []sandbox.Fault{{Kind: sandbox.FaultLatency, Endpoint: "message/mass/preview", Delay: sandbox.Duration(20 * time.Second), Count: 1}},
			killWhen: func(sb *sandboxtest.Sandbox) bool {
				return sb.Count("draft/add") == 1
			},
			stateAfterKill: "drafted",
		},
		{
			name: "sendall in flight after its first answer was lost",
			faults: []sandbox.Fault{
				{Kind: sandbox.FaultLose, Endpoint: "message/mass/sendall"},
				{Kind: sandbox.FaultLatency, Endpoint: "message/mass/sendall", Delay: sandbox.Duration(20 * time.Second), Count: 1, After: 1},
			},
			killWhen: func(sb *sandboxtest.Sandbox) bool {
				for _, c := range sb.Calls() {
					if c.Endpoint == "message/mass/sendall" && c.Lost {
						return true
					}
				}
				return false
			},
			stateAfterKill: "sending",
			wantDuplicate:  true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.Start(t, sandbox.Options{Faults: tc.faults})
			rs := redistest.Start(t)
			env := pipelineEnv(sb, rs.Addr)
			file := writeIssueIn(t, t.TempDir(), "no54.md", exampleIssue(t, "newsletter-no54.md"))
			args := []string{"publish", file, "--now", "--preview-to", "oReviewer"}

			first := startPubCLI(t, bin, env, args...)
			waitPub(t, 20*time.Second, "the step to kill at", func() bool { return tc.killWhen(sb) })
			time.Sleep(200 * time.Millisecond) // let it record what it records
			if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if code := first.status(t, 5*time.Second); code != -1 {
				t.Fatalf("first run exit %d, want killed:\n%s", code, first.out.String())
			}
			if st := readPubStatus(t, bin, env, "54"); st.State != tc.stateAfterKill {
				t.Fatalf("state after the kill %q, want %q", st.State, tc.stateAfterKill)
			}

			out, code := runPubCLI(t, bin, env, args...)
			if code != 0 {
				t.Fatalf("rerun exit %d:\n%s", code, out)
			}
			if !strings.Contains(out, "sent ") {
				t.Fatalf("rerun output:\n%s", out)
			}
			sends := sb.MassSends()
			if len(sends) != 1 {
				t.Fatalf("%d accepted broadcasts, want 1", len(sends))
			}
			snap := sb.Snapshot()
			if n := sb.Count("draft/add"); n != 1 || len(snap.Drafts) != 1 {
				t.Fatalf("%d draft/add, %d drafts: want the draft reused", n, len(snap.Drafts))
			}
			if len(snap.Previews) != 1 {
				t.Fatalf("%d previews delivered, want 1", len(snap.Previews))
			}
			st := readPubStatus(t, bin, env, "54")
			if st.State != "sent" && st.State != "finished" {
				t.Fatalf("final state %q", st.State)
			}
			if st.MsgID != sends[0].MsgID || st.ClientMsgID != sends[0].ClientMsgID || st.Duplicate != tc.wantDuplicate {
				t.Fatalf("status %+v, send %+v", st, sends[0])
			}
			// And once more: nothing is sent.
			out, code = runPubCLI(t, bin, env, args...)
			if code != 0 || !strings.Contains(out, "nothing sent") || len(sb.MassSends()) != 1 {
				t.Fatalf("third run exit %d:\n%s", code, out)
			}
		})
	}
}

// Three `wxbot serve` replicas on one Redis; WeChat fails the first draft
// with -1, loses the first mass-send answer and revokes the token on the
// retry. `wxbot publish --at` a few seconds ahead: one broadcast, on time,
// with a clientmsgid and a cover; status shows WeChat's counts from the
// MASSSENDJOBFINISH push; a second publish sends nothing; an edit after
// the send is refused.
func TestServeReplicasPublishAtOnce(t *testing.T) {
	bin := buildWxbot(t)
	rs := redistest.Start(t)
	webhookAddr := "127.0.0.1:" + itoaTest(redistest.FreePort(t))
	sb := sandboxtest.Start(t, sandbox.Options{
		Webhook:   "http://" + webhookAddr + "/wechat",
		PushDelay: 300 * time.Millisecond,
		Faults: []sandbox.Fault{
			{Kind: sandbox.FaultFail, Endpoint: "draft/add", Code: -1},
			{Kind: sandbox.FaultLose, Endpoint: "message/mass/sendall"},
			{Kind: sandbox.FaultRevoke, Endpoint: "message/mass/sendall", After: 1},
		},
	})
	env := pipelineEnv(sb, rs.Addr)
	serveEnv := func(addr string) map[string]string {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		e["WXBOT_HTTP_ADDR"] = addr
		return e
	}
	replicas := []*proc{startProc(t, bin, serveEnv(webhookAddr), "serve")}
	for i := 0; i < 2; i++ {
		replicas = append(replicas, startProc(t, bin, serveEnv(""), "serve"))
	}

	dir := t.TempDir()
	data := exampleIssue(t, "newsletter-no54.md")
	file := writeIssueIn(t, dir, "no54.md", data)
	at := time.Now().Add(4 * time.Second).Truncate(time.Second)
	out, code := runPubCLI(t, bin, env, "publish", file, "--at", at.Format(time.RFC3339))
	if code != 0 || !strings.Contains(out, "scheduled") {
		t.Fatalf("publish --at: exit %d\n%s", code, out)
	}
	if len(sb.MassSends()) != 0 {
		t.Fatal("sent before its time")
	}
	waitPub(t, 15*time.Second, "the broadcast", func() bool { return len(sb.MassSends()) > 0 })
	time.Sleep(1500 * time.Millisecond) // room for a wrong second send by another replica
	sends := sb.MassSends()
	if len(sends) != 1 {
		t.Fatalf("%d broadcasts from three replicas, want 1", len(sends))
	}
	if off := sends[0].Time.Sub(at); off < -5*time.Second || off > 5*time.Second {
		t.Fatalf("sent %s off its time", off)
	}
	if sends[0].ClientMsgID == "" {
		t.Fatal("no clientmsgid")
	}
	snap := sb.Snapshot()
	if len(snap.Drafts) != 1 || snap.Drafts[0].Articles[0].ThumbMediaID == "" || snap.Materials < 1 {
		t.Fatalf("draft %+v, materials %d", snap.Drafts, snap.Materials)
	}
	waitPub(t, 10*time.Second, "WeChat's counts in status", func() bool {
		st := readPubStatus(t, bin, env, "54")
		return st.SentCount == 100 && st.TotalCount == 100 && st.State == "finished"
	})
	out, code = runPubCLI(t, bin, env, "status", "54")
	if code != 0 || !strings.Contains(out, "sent 100 of 100") || !strings.Contains(out, itoa64(sends[0].MsgID)) {
		t.Fatalf("status 54: exit %d\n%s", code, out)
	}

	out, code = runPubCLI(t, bin, env, "publish", file, "--now")
	if code != 0 || !strings.Contains(out, "nothing sent") {
		t.Fatalf("second publish: exit %d\n%s", code, out)
	}
	edited := writeIssueIn(t, dir, "no54.md", bytes.Replace(data, []byte("2021年5月"), []byte("2021年6月"), 1))
	out, code = runPubCLI(t, bin, env, "publish", edited, "--now")
	if code != 1 || !strings.Contains(out, "already broadcast") || !strings.Contains(out, "new issue") {
		t.Fatalf("edited after the send: exit %d\n%s", code, out)
	}
	if len(sb.MassSends()) != 1 || sb.Count("message/mass/sendall") > 1 {
		t.Fatalf("sends %d", len(sb.MassSends()))
	}
	for _, r := range replicas {
		select {
		case <-r.done:
			t.Fatalf("a replica exited:\n%s", r.logs.String())
		default:
		}
	}
	// A replica stopped with SIGTERM releases the scheduler lock if it held it.
	for _, r := range replicas {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, r := range replicas {
		if code := r.wait(t, 15*time.Second); code != 0 {
			t.Fatalf("replica exit %d:\n%s", code, r.logs.String())
		}
	}
	if n, _ := rs.Client().Exists(context.Background(), "wxbot:{publish}:leader").Result(); n != 0 {
		t.Fatal("the scheduler lock outlived the replicas")
	}
}

func itoaTest(n int) string { return strconv.Itoa(n) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// The pipeline commands say which keys they need.
func TestPipelineCommandsNeedRedisAndCredentials(t *testing.T) {
	file := writeIssueIn(t, t.TempDir(), "no54.md", exampleIssue(t, "newsletter-no54.md"))
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
		code int
	}{
		{[]string{"publish", file}, map[string]string{}, "redis.addr", 1},
		{[]string{"status"}, map[string]string{}, "redis.addr", 1},
		{[]string{"cancel", "54"}, map[string]string{}, "redis.addr", 1},
		{[]string{"publish", file}, map[string]string{"WXBOT_REDIS_ADDR": "127.0.0.1:1"}, "wechat.app_id and wechat.app_secret", 1},
		{[]string{"publish", file, "--now", "--at", "2030-01-01 09:00"}, map[string]string{}, "not both", 2},
		{[]string{"publish", file, "--draft-only", "--now"}, map[string]string{}, "--draft-only", 2},
		{[]string{"publish", file, "--to-all", "--to-tag", "x"}, map[string]string{}, "not both", 2},
		{[]string{"cancel", "fifty"}, map[string]string{}, "not an issue number", 2},
		{[]string{"publish", filepath.Join(t.TempDir(), "missing.md")}, map[string]string{}, "missing.md:1: no such file", 1},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			t.Setenv("WXBOT_REDIS_ADDR", tc.env["WXBOT_REDIS_ADDR"])
			var out, errOut bytes.Buffer
			root := newRootCmd()
			root.SetArgs(tc.args)
			root.SetOut(&out)
			root.SetErr(&errOut)
			err := root.ExecuteContext(context.Background())
			ee, ok := err.(*exitError)
			if !ok || ee.code != tc.code || !strings.Contains(ee.msg, tc.want) {
				t.Fatalf("%v: %v (want exit %d with %q)", tc.args, err, tc.code, tc.want)
			}
		})
	}
}
