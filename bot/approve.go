package bot

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
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
type ApprovalOutcome struct {
	// Refused says, in the publisher's words, why nothing was done.
	Refused string
	// Scheduled: the issue goes out at Due (at once when that has passed).
	Scheduled bool
	Due       time.Time
	Number    int
}

// approveRE matches 批准 55 / approve No.55 / 驳回 55 理由 / reject 55 reason.
var approveRE = regexp.MustCompile(`^(?i)(批准|通过|approve|驳回|拒绝|reject)\s*(?:第|no\.?\s*)?(\d{1,6})(?:期)?(?:\s+([\s\S]*))?$`)

// approval answers an approver's 批准/驳回; ok is false for anything else
// and for anyone who is not an approver (their words are ordinary chat).
func (b *Bot) approval(openid, raw string, lang string) (plan, bool) {
	// The approver check (a short list) comes first: every subscriber's
	// text passes here, and only approvers' need the expression.
	if b.approvals == nil || !b.approvals.IsApprover(openid) {
		return plan{}, false
	}
	m := approveRE.FindStringSubmatch(strings.TrimSpace(raw))
	if m == nil {
		return plan{}, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n <= 0 {
		return plan{}, false
	}
	verb := strings.ToLower(m[1])
	reject := verb == "驳回" || verb == "拒绝" || verb == "reject"
	reason := strings.TrimSpace(m[3])
	if reject && reason == "" {
		return textPlan("reject", tr(lang,
			fmt.Sprintf("请写明驳回理由，例如：驳回 %d 第二条标题有误", n),
			fmt.Sprintf("Please give a reason, e.g.: reject %d the second title is wrong", n))), true
	}
	if !reject && reason != "" {
		// "批准 55 …" with more words is not a command.
		return plan{}, false
	}
	p := textPlan("approve", "")
	if reject {
		p.rule = "reject"
	}
	reply := p.reply
	loc := b.loc
	p.effects = []effect{{name: p.rule, run: func(ctx context.Context) error {
		var out ApprovalOutcome
		var err error
		by := "wechat:" + openid
		if reject {
			out, err = b.approvals.Reject(ctx, n, by, reason)
		} else {
			out, err = b.approvals.Approve(ctx, n, by)
		}
		var text string
		switch {
		case err != nil:
			text = tr(lang, fmt.Sprintf("第%d期未能处理，请稍后再试。", n), fmt.Sprintf("No.%d could not be handled now; please try again shortly.", n))
		case out.Refused != "":
			text = out.Refused
		case reject:
			text = tr(lang, fmt.Sprintf("已驳回第%d期：%s。不会发送；编辑会收到通知。", n, reason),
				fmt.Sprintf("No.%d rejected: %s. It will not be sent; the editors are told.", n, reason))
		case out.Scheduled:
			when := out.Due.In(loc).Format("01-02 15:04 MST")
			text = tr(lang, fmt.Sprintf("已批准第%d期，将于 %s 发送。", n, when), fmt.Sprintf("No.%d approved; it goes out %s.", n, when))
		default:
			text = tr(lang, fmt.Sprintf("已批准第%d期（本版内容）。", n), fmt.Sprintf("No.%d approved (this version).", n))
		}
		reply.MsgData = message.NewText(cutText(text, maxTextBytes))
		return err
	}}}
	p.changesState = true
	return p, true
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
