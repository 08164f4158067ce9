package bot

import (
	"context"
	"log/slog"

	"github.com/lifang/wxbot/chat"
)

// Approvals is the publisher's approval step as the chat uses it: the
// approvers (publish.approvers) approve or reject an issue from their
// phones by replying to its preview. Implemented over *publisher.Publisher
// in cmd/wxbot.
type Approvals interface {
	IsApprover(openid string) bool
	Approve(ctx context.Context, n int, by string) (ApprovalOutcome, error)
	Reject(ctx context.Context, n int, by, reason string) (ApprovalOutcome, error)
}

// ApprovalOutcome is what an approval or rejection did.
type ApprovalOutcome = chat.ApprovalOutcome

// decide runs an approver's 批准/驳回 (the chat's Approve or Reject effect)
// and puts the outcome, in words, into the reply.
func (b *Bot) decide(ctx context.Context, openid string, e chat.Effect, reply *chat.Reply) error {
	var out ApprovalOutcome
	var err error
	by := "wechat:" + openid
	if e.Kind == chat.Reject {
		out, err = b.approvals.Reject(ctx, e.Issue, by, e.Reason)
	} else {
		out, err = b.approvals.Approve(ctx, e.Issue, by)
	}
	reply.Kind, reply.Text = chat.TextReply, chat.ApprovalText(e, out, err != nil, b.loc)
	return err
}

// Contacts is told when one of its people writes to the account (any
// message or event opens WeChat's 48 h customer-service window for them).
// IsContact is asked for every push, so it must be an in-memory check.
type Contacts interface {
	IsContact(openid string) bool
	Wrote(ctx context.Context, openid string) error
}

// heardFrom tells the contacts, off the request's path: the answer never
// waits for it, and a failure only costs a notice its window.
func (b *Bot) heardFrom(ctx context.Context, openid string) {
	if b.contacts == nil || openid == "" || !b.contacts.IsContact(openid) {
		return
	}
	b.late.Add(1)
	go func() {
		defer b.late.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.lateTO)
		defer cancel()
		if err := b.contacts.Wrote(ctx, openid); err != nil {
			b.log.Warn("webhook: could not reopen an admin's customer-service window", slog.Any("error", err))
		}
	}()
}
