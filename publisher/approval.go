package publisher

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lifang/wxbot/notify"
)

// approvalRequired reports whether publish.approval is required.
func (p *Publisher) approvalRequired() bool { return p.cfg.Approval == "required" }

// needsApproval reports whether rec may not be scheduled or sent yet: the
// approval is required and this exact content was not approved.
func (p *Publisher) needsApproval(rec *Record) bool {
	return p.approvalRequired() && (rec.ApprovedHash == "" || rec.ApprovedHash != rec.ContentHash)
}

// IsApprover reports whether openid may approve from the phone
// (publish.approvers).
func (p *Publisher) IsApprover(openid string) bool {
	return openid != "" && slices.Contains(p.cfg.Approvers, openid)
}

// Approval is what Approve or Reject did.
type Approval struct {
	Record *Record
	// Scheduled: the approval released the issue to the schedule (Record.Due;
	// at once when its time has passed).
	Scheduled bool
}

// Approve approves issue n's current content for by. An issue waiting
// for approval is scheduled (at its due time, or at once when that has
// passed, within publish.max_delay); an issue not there yet is approved
// ahead, and goes on when its run reaches the schedule. An edit after the
// approval needs a new one: the approval is of the content's hash.
func (p *Publisher) Approve(ctx context.Context, n int, by string) (*Approval, error) {
	lk, lctx, err := p.lockIssue(ctx, n, p.lockWait)
	if err != nil {
		return nil, err
	}
	defer lk.release()
	out := &Approval{}
	var refusal *Refusal
	now := p.now()
	rec, err := p.update(lctx, guard{lockToken: lk.token}, n, func(x *Record) (string, []op, error) {
		refusal, out.Scheduled = nil, false
		switch {
		case x.State == "":
			refusal = p.refusal(NotInPipeline, n, nil)
		case x.sendStarted() || x.State == StateRetracted:
			refusal = p.at(p.refusal(AlreadyBroadcast, n, x), firstNonZero(x.SentAt, x.SendStarted))
		case x.State == StateFailed || x.State == StateCancelled || x.State == StateRejected:
			refusal = p.refusal(NotWaiting, n, x)
		case x.ApprovedHash == x.ContentHash && x.ApprovedHash != "" && x.State != StateAwaiting:
			refusal = p.at(p.refusal(AlreadyApproved, n, x), x.ApprovedAt)
			refusal.By = x.ApprovedBy
		}
		if refusal != nil {
			return "", nil, errNoChange
		}
		x.ApprovedHash, x.ApprovedBy, x.ApprovedAt = x.ContentHash, by, now
		x.RejectedBy, x.RejectReason = "", ""
		x.act = audit{Action: ActionApproved, By: by}
		note := fmt.Sprintf("approved by %s (content %s)", by, short(x.ContentHash))
		if x.State != StateAwaiting {
			return note + ", ahead of the schedule", nil, nil
		}
		due := x.Due
		if x.Goal == GoalNow || due.IsZero() || due.Before(now) {
			due = now
		}
		x.State, x.Due = StateScheduled, due
		out.Scheduled = true
		return note + "; scheduled for " + p.fmtTime(due), []op{opZAdd(due)}, nil
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	out.Record = rec
	if out.Scheduled {
		p.notify(ctx, Notice{Kind: notify.Approved, Number: n, By: by, When: rec.Due})
	} else {
		p.notify(ctx, Notice{Kind: notify.Approved, Number: n, By: by})
	}
	return out, nil
}

// Reject rejects issue n's current content for by with a reason: it is
// taken out of the schedule and nothing is sent; running wxbot publish
// again (an edited file, say) asks for approval again.
func (p *Publisher) Reject(ctx context.Context, n int, by, reason string) (*Approval, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, &Refusal{Reason: ReasonRequired, Number: n}
	}
	lk, lctx, err := p.lockIssue(ctx, n, p.lockWait)
	if err != nil {
		return nil, err
	}
	defer lk.release()
	var refusal *Refusal
	rec, err := p.update(lctx, guard{lockToken: lk.token}, n, func(x *Record) (string, []op, error) {
		refusal = nil
		switch {
		case x.State == "":
			refusal = p.refusal(NotInPipeline, n, nil)
		case x.sendStarted() || x.State == StateRetracted:
			refusal = p.at(p.refusal(AlreadyBroadcast, n, x), firstNonZero(x.SentAt, x.SendStarted))
		case x.State == StateRejected:
			refusal = p.refusal(AlreadyRejected, n, x)
			refusal.By, refusal.Detail = x.RejectedBy, x.RejectReason
		}
		if refusal != nil {
			return "", nil, errNoChange
		}
		x.State, x.RejectedBy, x.RejectReason = StateRejected, by, reason
		x.ApprovedHash, x.ApprovedBy = "", ""
		x.act = audit{Action: ActionRejected, By: by}
		return fmt.Sprintf("rejected by %s: %s", by, reason), []op{opZRem()}, nil
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	p.notify(ctx, Notice{Kind: notify.Rejected, Number: n, By: by, Reason: reason})
	return &Approval{Record: rec}, nil
}
