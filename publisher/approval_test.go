package publisher

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
)

func approvalEnv(t *testing.T) *env {
	return newEnv(t, func(o *envOpts) {
		o.publish = func(c *config.PublishConfig) {
			c.Approval, c.Approvers = "required", []string{"oApprover1"}
		}
	})
}

// With publish.approval: required nothing is sent — not by --now, not at
// the slot — until the exact content is approved; the approvers get the
// preview; an edit after the approval needs a new one; a rejection stops it.
func TestApprovalRequiredForTheExactContent(t *testing.T) {
	e := approvalEnv(t)
	ctx := context.Background()
	p := e.publisher("serve")
	e.serve(p)
	path := e.write("no55.md", example(t, "newsletter-no55.md"))

	res, err := p.Publish(ctx, e.request(path, GoalNow))
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.State != StateAwaiting || res.Outcome != OutcomeAwaiting {
		t.Fatalf("--now under approval: state %s, outcome %q", res.Record.State, res.Outcome)
	}
	if !slices.Contains(res.Record.Previewed, "oApprover1") {
		t.Fatalf("the approver got no preview: previewed %v", res.Record.Previewed)
	}
	e.waitNotice("No.55 waits for approval")
	time.Sleep(500 * time.Millisecond) // several scheduler polls
	if n := len(e.sb.MassSends()); n != 0 {
		t.Fatalf("%d mass sends before approval", n)
	}

	// An edit before the approval: still waiting, for the new content.
	edited := e.write("no55.md", bytes.Replace(example(t, "newsletter-no55.md"), []byte("本批通报中"), []byte("本批通报（修订）中"), 1))
	res, err = p.Publish(ctx, e.request(edited, GoalNow))
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.State != StateAwaiting {
		t.Fatalf("after an edit: state %s", res.Record.State)
	}

	ap, err := p.Approve(ctx, 55, "partner")
	if err != nil {
		t.Fatal(err)
	}
	if !ap.Scheduled || ap.Record.ApprovedHash != ap.Record.ContentHash {
		t.Fatalf("approval: %+v", ap)
	}
	waitFor(t, 10*time.Second, "the approved send", func() bool { return len(e.sb.MassSends()) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(e.sb.MassSends()); n != 1 {
		t.Fatalf("%d sends after approval, want 1", n)
	}
	var rf *Refusal
	if _, err := p.Approve(ctx, 55, "partner"); !errors.As(err, &rf) || rf.Reason != AlreadyBroadcast || rf.State != StateFinished && rf.State != StateSent {
		t.Fatalf("approving a sent issue: %v", err)
	}
}

// An approval is of one content: an edit after it goes back to waiting;
// a rejection takes the issue out with its reason; a scheduled issue
// found without approval (the setting turned on later) is not sent.
func TestApprovalEditRejectAndOldSchedule(t *testing.T) {
	e := approvalEnv(t)
	ctx := context.Background()
	p := e.publisher("cli")
	path := e.write("no55.md", example(t, "newsletter-no55.md"))
	req := e.request(path, GoalSchedule)
	req.At = e.clock.Now().Add(time.Hour)
	if _, err := p.Publish(ctx, req); err != nil {
		t.Fatal(err)
	}
	ap, err := p.Approve(ctx, 55, "partner")
	if err != nil || !ap.Scheduled || ap.Record.State != StateScheduled {
		t.Fatalf("approve: %+v %v", ap, err)
	}
	edited := e.write("no55.md", bytes.Replace(example(t, "newsletter-no55.md"), []byte("本批通报中"), []byte("本批通报（修订）中"), 1))
	res, err := p.Publish(ctx, e.request(edited, GoalSchedule))
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.State != StateAwaiting || res.Record.ApprovedHash == res.Record.ContentHash {
		t.Fatalf("an edit after the approval: state %s, approved %q content %q", res.Record.State, res.Record.ApprovedHash, res.Record.ContentHash)
	}
	if _, err := p.Reject(ctx, 55, "partner", ""); err == nil {
		t.Fatal("a rejection without a reason was taken")
	}
	rj, err := p.Reject(ctx, 55, "partner", "the second title is wrong")
	if err != nil || rj.Record.State != StateRejected || rj.Record.RejectReason != "the second title is wrong" {
		t.Fatalf("reject: %+v %v", rj, err)
	}
	e.waitNotice("No.55 was rejected by partner")
	if next, _ := p.NextAction(ctx, 55); next != 0 {
		t.Fatal("a rejected issue is still in the schedule")
	}

	// Approval turned on after an issue was scheduled without it.
	open := newEnv(t)
	po := open.publisher("cli")
	path54 := open.write("no54.md", example(t, "newsletter-no54.md"))
	req = open.request(path54, GoalSchedule)
	req.At = open.clock.Now().Add(2 * time.Second)
	if _, err := po.Publish(ctx, req); err != nil {
		t.Fatal(err)
	}
	cfg := open.cfg.Publish
	cfg.Approval = "required"
	strict := open.publisher("serve", func(o *Options) { o.Publish = cfg })
	open.serve(strict)
	waitFor(t, 10*time.Second, "the scheduled issue held for approval", func() bool {
		return open.record(strict, 54).State == StateAwaiting
	})
	if n := len(open.sb.MassSends()); n != 0 {
		t.Fatalf("%d sends of an issue scheduled before approval was required", n)
	}
}
