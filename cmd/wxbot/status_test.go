package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// Every action is recorded with who and when: `wxbot status N` prints the
// history with who did what, --json carries by and action; a refused
// cancel says why in the command's words.
func TestStatusAuditHistory(t *testing.T) {
	bin := buildWxbot(t)
	rs := redistest.Start(t)
	sb := sandboxtest.Start(t, sandbox.Options{})
	env := pipelineEnv(sb, rs.Addr)
	file := writeIssueIn(t, t.TempDir(), "no54.md", exampleIssue(t, "newsletter-no54.md"))

	if out, code := runPubCLI(t, bin, env, "publish", file, "--at", "+1h"); code != 0 || !strings.Contains(out, "is scheduled for") {
		t.Fatalf("publish: exit %d\n%s", code, out)
	}
	if out, code := runPubCLI(t, bin, env, "cancel", "54", "--by", "Zhang Wei"); code != 0 || !strings.Contains(out, "No.54 cancelled (was scheduled") {
		t.Fatalf("cancel: exit %d\n%s", code, out)
	}
	out, code := runPubCLI(t, bin, env, "cancel", "54", "--by", "Zhang Wei")
	if code != 1 || !strings.Contains(out, "wxbot cancel: No.54 is already cancelled.") {
		t.Fatalf("cancel twice: exit %d, want 1 saying it is already cancelled\n%s", code, out)
	}
	out, code = runPubCLI(t, bin, env, "cancel", "77")
	if code != 1 || !strings.Contains(out, "No.77 is not in the pipeline") {
		t.Fatalf("cancel unknown: exit %d\n%s", code, out)
	}

	out, code = runPubCLI(t, bin, env, "status", "54")
	if code != 0 {
		t.Fatalf("status 54: exit %d\n%s", code, out)
	}
	var hist []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  ") && strings.Contains(line, " CST ") {
			hist = append(hist, line)
		}
	}
	joined := strings.Join(hist, "\n")
	if !strings.Contains(joined, "uploaded by cli:") || !strings.Contains(joined, "scheduled by cli:") || !strings.Contains(joined, "cancelled by Zhang Wei") {
		t.Fatalf("status history does not say who uploaded, scheduled and cancelled:\n%s", out)
	}

	out, code = runPubCLI(t, bin, env, "status", "54", "--json")
	if code != 0 {
		t.Fatalf("status --json: exit %d\n%s", code, out)
	}
	var rec struct {
		History []struct {
			State  string `json:"state"`
			At     string `json:"at"`
			By     string `json:"by"`
			Action string `json:"action"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	var cancelled bool
	for _, h := range rec.History {
		if h.Action == "cancelled" && h.By == "Zhang Wei" && h.State == "cancelled" && h.At != "" {
			cancelled = true
		}
	}
	if !cancelled {
		t.Fatalf("--json history has no cancelled entry by Zhang Wei: %+v", rec.History)
	}
}
