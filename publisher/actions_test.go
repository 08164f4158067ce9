package publisher

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
)

// lastBy finds the latest history entry with action a and returns who.
func lastBy(r *Record, action string) (string, bool) {
	for i := len(r.History) - 1; i >= 0; i-- {
		if r.History[i].Action == action {
			return r.History[i].By, true
		}
	}
	return "", false
}

func wantRefusal(t *testing.T, what string, err error, reason RefusalReason) *Refusal {
	t.Helper()
	var rf *Refusal
	if !errors.As(err, &rf) {
		t.Fatalf("%s: %v, want a *Refusal %s", what, err, reason)
	}
	if rf.Reason != reason {
		t.Fatalf("%s: refused %s (%v), want %s", what, rf.Reason, rf, reason)
	}
	if strings.Contains(rf.Error(), "--") || strings.Contains(rf.Error(), "wxbot ") {
		t.Fatalf("%s: the refusal's text names a command or flag: %q", what, rf.Error())
	}
	return rf
}

// The workbench's actions on an issue already in the pipeline, from its
// stored source: schedule at the next slot, reschedule, cancel, schedule
// again, send now; each recorded with who asked; after the send each is
// refused, and nothing is sent twice.
func TestScheduleRescheduleCancelSendNow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.publisher("serve")
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	req := e.request(path, GoalDraft)
	req.By, req.Origin = "alice", "admin"
	if _, err := p.Publish(ctx, req); err != nil {
		t.Fatal(err)
	}
	if by, ok := lastBy(e.record(p, 54), ActionUploaded); !ok || by != "alice" {
		t.Fatalf("upload recorded by %q (%v), want alice", by, ok)
	}

	res, err := p.Schedule(ctx, 54, time.Time{}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	want := p.NextSlot(e.clock.Now())
	if res.Outcome != OutcomeScheduled || res.Record.State != StateScheduled || !res.Record.Due.Equal(want) {
		t.Fatalf("schedule: outcome %s state %s due %s, want scheduled at the next slot %s", res.Outcome, res.Record.State, res.Record.Due, want)
	}
	if next, _ := p.NextAction(ctx, 54); next != want.UnixMilli() {
		t.Fatalf("next action %d, want %d", next, want.UnixMilli())
	}
	if by, _ := lastBy(res.Record, ActionScheduled); by != "bob" {
		t.Fatalf("scheduled by %q, want bob", by)
	}

	later := e.clock.Now().Add(3 * time.Hour).Truncate(time.Minute)
	res, err = p.Schedule(ctx, 54, later, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Record.Due.Equal(later) {
		t.Fatalf("rescheduled due %s, want %s", res.Record.Due, later)
	}
	if next, _ := p.NextAction(ctx, 54); next != later.UnixMilli() {
		t.Fatalf("next action after reschedule %d, want %d", next, later.UnixMilli())
	}
	if by, _ := lastBy(res.Record, ActionScheduled); by != "carol" {
		t.Fatalf("rescheduled by %q, want carol", by)
	}
	_, err = p.Schedule(ctx, 54, e.clock.Now().Add(-time.Hour), "carol")
	if rf := wantRefusal(t, "a time in the past", err, TimeInPast); rf.When.IsZero() {
		t.Fatal("the refusal does not say which time")
	}

	rec, err := p.Cancel(ctx, 54, "dave")
	if err != nil || rec.State != StateCancelled {
		t.Fatalf("cancel: %v %+v", err, rec)
	}
	if by, _ := lastBy(rec, ActionCancelled); by != "dave" {
		t.Fatalf("cancelled by %q, want dave", by)
	}
	res, err = p.Schedule(ctx, 54, later, "erin")
	if err != nil || res.Record.State != StateScheduled {
		t.Fatalf("schedule a cancelled issue again: %v, %+v", err, res)
	}
	if len(e.sb.MassSends()) != 0 || len(e.sb.Snapshot().Drafts) != 1 {
		t.Fatalf("%d sends, %d drafts before send-now: want 0 and the one draft", len(e.sb.MassSends()), len(e.sb.Snapshot().Drafts))
	}

	res, err = p.SendNow(ctx, 54, "frank")
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.State != StateSent && res.Record.State != StateFinished {
		t.Fatalf("send now: state %s, outcome %s", res.Record.State, res.Outcome)
	}
	sends := e.sb.MassSends()
	if len(sends) != 1 || strconv.FormatInt(sends[0].MsgID, 10) == "" {
		t.Fatalf("%d sends, want 1", len(sends))
	}
	var sent *Step
	for i, s := range res.Steps {
		if s.Kind == StepSent {
			sent = &res.Steps[i]
		}
	}
	if sent == nil || len(sent.IDs) != 2 || sent.IDs[0] != strconv.FormatInt(sends[0].MsgID, 10) || sent.IDs[1] != res.Record.ClientMsgID {
		t.Fatalf("steps %+v: want a sent step with msg_id %d and the clientmsgid", res.Steps, sends[0].MsgID)
	}
	if by, _ := lastBy(res.Record, ActionSendNow); by != "frank" {
		t.Fatalf("send-now asked by %q, want frank", by)
	}
	if by, _ := lastBy(res.Record, ActionSent); by != "frank" {
		t.Fatalf("sent by %q, want frank", by)
	}

	_, err = p.Schedule(ctx, 54, time.Time{}, "x")
	if rf := wantRefusal(t, "schedule after the send", err, AlreadyBroadcast); rf.When.IsZero() || rf.Number != 54 {
		t.Fatalf("refusal %+v: want the send's time and the number", rf)
	}
	_, err = p.SendNow(ctx, 54, "x")
	wantRefusal(t, "send now after the send", err, AlreadyBroadcast)
	_, err = p.Cancel(ctx, 54, "x")
	wantRefusal(t, "cancel after the send", err, AlreadyBroadcast)
	_, err = p.SendPreview(ctx, 54, []Reviewer{{OpenID: "oReviewer1"}}, "x")
	wantRefusal(t, "preview after the send", err, AlreadyBroadcast)
	if n := len(e.sb.MassSends()); n != 1 {
		t.Fatalf("%d sends after the refused actions, want 1", n)
	}
	_, err = p.Schedule(ctx, 99, time.Time{}, "x")
	wantRefusal(t, "schedule an unknown issue", err, NotInPipeline)
	_, err = p.SendNow(ctx, 99, "x")
	wantRefusal(t, "send an unknown issue", err, NotInPipeline)
}

// SendNow under publish.approval: required refuses content not approved
// and sends once it is; approve, reject and the history carry who.
func TestSendNowNeedsApprovalAndAuditBy(t *testing.T) {
	e := approvalEnv(t)
	ctx := context.Background()
	p := e.publisher("cli")
	path := e.write("no55.md", example(t, "newsletter-no55.md"))
	if _, err := p.Publish(ctx, e.request(path, GoalDraft)); err != nil {
		t.Fatal(err)
	}
	_, err := p.SendNow(ctx, 55, "alice")
	rf := wantRefusal(t, "send now unapproved", err, NotApproved)
	if rf.State != StatePreviewed {
		t.Fatalf("refused in state %s, want previewed", rf.State)
	}
	if len(e.sb.MassSends()) != 0 {
		t.Fatal("sent without approval")
	}
	_, err = p.Reject(ctx, 55, "partner-li", "  ")
	wantRefusal(t, "reject without a reason", err, ReasonRequired)
	if _, err := p.Reject(ctx, 55, "partner-li", "the second title is wrong"); err != nil {
		t.Fatal(err)
	}
	_, err = p.Reject(ctx, 55, "partner-wang", "again")
	if rf := wantRefusal(t, "reject twice", err, AlreadyRejected); rf.By != "partner-li" || rf.Detail != "the second title is wrong" {
		t.Fatalf("refusal %+v: want who rejected and the reason", rf)
	}
	_, err = p.Approve(ctx, 55, "partner-wang")
	wantRefusal(t, "approve a rejected issue", err, NotWaiting)

	// Scheduled again from the workbench: it waits for approval.
	res, err := p.Schedule(ctx, 55, time.Time{}, "alice")
	if err != nil || res.Outcome != OutcomeAwaiting {
		t.Fatalf("schedule under approval: %v, outcome %v", err, res)
	}
	if _, err := p.Approve(ctx, 55, "partner-wang"); err != nil {
		t.Fatal(err)
	}
	_, err = p.Approve(ctx, 55, "partner-zhao")
	if rf := wantRefusal(t, "approve twice", err, AlreadyApproved); rf.By != "partner-wang" || rf.When.IsZero() {
		t.Fatalf("refusal %+v: want who approved and when", rf)
	}
	res, err = p.SendNow(ctx, 55, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.sb.MassSends()); n != 1 {
		t.Fatalf("%d sends after approval and send-now, want 1", n)
	}
	if _, err := p.Retract(ctx, 55, 0, "partner-li"); err != nil {
		t.Fatal(err)
	}
	rec := e.record(p, 55)
	for action, want := range map[string]string{
		ActionRejected: "partner-li", ActionApproved: "partner-wang", ActionScheduled: "alice",
		ActionSendNow: "alice", ActionSent: "alice", ActionRetracted: "partner-li",
	} {
		if by, ok := lastBy(rec, action); !ok || by != want {
			t.Errorf("history %s by %q (%v), want %s", action, by, ok, want)
		}
	}
	for _, h := range rec.History {
		if h.At.IsZero() {
			t.Errorf("history entry %+v without a time", h)
		}
	}
}

// SendPreview sends the current draft now: to an openid as touser, to a
// WeChat ID as towxname; a reviewer WeChat refuses has its errcode; the
// history says who asked. Malformed requests are refused before WeChat.
func TestSendPreviewOpenIDAndWxName(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.sandbox.Followers = []string{"oReviewer1", admin}
		o.publish = func(c *config.PublishConfig) { c.PreviewTo = []string{"oReviewer1"} }
	})
	ctx := context.Background()
	p := e.publisher("cli")

	_, err := p.SendPreview(ctx, 55, []Reviewer{{OpenID: "oReviewer1"}}, "alice")
	wantRefusal(t, "preview an unknown issue", err, NotInPipeline)
	path := e.write("no55.md", example(t, "newsletter-no55.md"))
	if _, err := p.Publish(ctx, e.request(path, GoalDraft)); err != nil {
		t.Fatal(err)
	}
	rec := e.record(p, 55)
	before := len(e.sb.Snapshot().Previews)

	outs, err := p.SendPreview(ctx, 55, []Reviewer{{OpenID: "oReviewer1"}, {WeChatID: "lawyer_zhang"}, {OpenID: "oStranger99"}, {}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 3 {
		t.Fatalf("%d outcomes, want 3 (the empty reviewer skipped): %+v", len(outs), outs)
	}
	if outs[0].Err != nil || outs[0].MsgID == 0 || outs[1].Err != nil || outs[1].MsgID == 0 {
		t.Fatalf("outcomes %+v: want the openid and the WeChat ID sent", outs)
	}
	if outs[2].Err == nil || outs[2].ErrCode != 43004 {
		t.Fatalf("non-follower: %+v, want errcode 43004", outs[2])
	}
	prev := e.sb.Snapshot().Previews[before:]
	got := map[string]string{}
	for _, m := range prev {
		got[m.ToUser] = m.MediaID
	}
	if len(prev) != 2 || got["oReviewer1"] != rec.DraftMediaID || got["lawyer_zhang"] != rec.DraftMediaID {
		t.Fatalf("previews reaching the sandbox %+v, want oReviewer1 and lawyer_zhang with draft %s", prev, rec.DraftMediaID)
	}
	wx := false
	for _, c := range e.sb.Calls() {
		wx = wx || (c.Endpoint == "message/mass/preview" && strings.Contains(c.Body, `"towxname":"lawyer_zhang"`))
	}
	if !wx {
		t.Fatal("no preview call carried towxname")
	}
	rec = e.record(p, 55)
	last := rec.History[len(rec.History)-1]
	if last.Action != ActionPreview || last.By != "alice" || !strings.Contains(last.Note, "wxname:lawyer_zhang") || !strings.Contains(last.Note, "oStranger99") {
		t.Fatalf("last history entry %+v: want the preview by alice, with its reviewers", last)
	}

	calls := e.calls("message/mass/preview")
	for _, tc := range []struct {
		name string
		to   []Reviewer
		want RefusalReason
	}{
		{"nobody", nil, NoReviewers},
		{"only blanks", []Reviewer{{OpenID: "  "}, {}}, NoReviewers},
		{"bad openid", []Reviewer{{OpenID: "o<script>"}}, BadReviewer},
		{"bad WeChat ID", []Reviewer{{WeChatID: "1abc"}}, BadReviewer},
		{"too many", func() []Reviewer {
			var rs []Reviewer
			for i := range MaxPreviewReviewers + 1 {
				rs = append(rs, Reviewer{OpenID: "oReviewer" + strconv.Itoa(100+i)})
			}
			return rs
		}(), TooManyReviewers},
	} {
		_, err := p.SendPreview(ctx, 55, tc.to, "alice")
		wantRefusal(t, tc.name, err, tc.want)
	}
	if n := e.calls("message/mass/preview"); n != calls {
		t.Fatalf("refused previews called WeChat (%d calls, was %d)", n, calls)
	}
}

// A preview before the draft exists is refused: nothing to send.
func TestSendPreviewNeedsADraft(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.publisher("cli")
	// Recorded as parsed without a draft: the render fails later (a
	// missing image) — a record exists but holds no draft.
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	lk, lctx, err := p.lockIssue(ctx, 54, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	req := e.request(path, GoalDraft)
	_, err = p.update(lctx, guard{lockToken: lk.token}, 54, func(x *Record) (string, []op, error) {
		note, ops, _, err := p.admit(x, Request{File: req.File, Data: req.Data, Goal: GoalDraft, Origin: "cli", action: ActionUploaded}, contentHash(req.Data))
		return note, ops, err
	})
	lk.release()
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.SendPreview(ctx, 54, []Reviewer{{OpenID: "oReviewer1"}}, "alice")
	if rf := wantRefusal(t, "preview without a draft", err, NoDraft); rf.State != StateParsed {
		t.Fatalf("refused in state %s, want parsed", rf.State)
	}
	if e.calls("message/mass/preview") != 0 {
		t.Fatal("WeChat was asked")
	}
}
