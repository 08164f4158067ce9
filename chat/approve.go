package chat

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

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
// The reply's text is set by ApprovalText once the Approve or Reject
// effect has run.
func (c *Chat) approval(openid, raw string, lang string) (Plan, bool) {
	// The approver check (a short list) comes first: every subscriber's
	// text passes here, and only approvers' need the expression.
	if c.isApprover == nil || !c.isApprover(openid) {
		return Plan{}, false
	}
	m := approveRE.FindStringSubmatch(strings.TrimSpace(raw))
	if m == nil {
		return Plan{}, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n <= 0 {
		return Plan{}, false
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
		return Plan{}, false
	}
	p := textPlan("approve", "")
	e := Effect{Kind: Approve, Issue: n, Lang: lang}
	if reject {
		p.Rule = "reject"
		e.Kind, e.Reason = Reject, reason
	}
	p.Effects = []Effect{e}
	p.ChangesState = true
	return p, true
}

// ApprovalText is the reply to an Approve or Reject effect e once it has
// run: out is what it did, failed whether it could not be done; times are
// shown in loc (publish.timezone).
func ApprovalText(e Effect, out ApprovalOutcome, failed bool, loc *time.Location) string {
	n, lang := e.Issue, e.Lang
	var text string
	switch {
	case failed:
		text = tr(lang, fmt.Sprintf("第%d期未能处理，请稍后再试。", n), fmt.Sprintf("No.%d could not be handled now; please try again shortly.", n))
	case out.Refused != "":
		text = out.Refused
	case e.Kind == Reject:
		text = tr(lang, fmt.Sprintf("已驳回第%d期：%s。不会发送；编辑会收到通知。", n, e.Reason),
			fmt.Sprintf("No.%d rejected: %s. It will not be sent; the editors are told.", n, e.Reason))
	case out.Scheduled:
		when := out.Due.In(loc).Format("01-02 15:04 MST")
		text = tr(lang, fmt.Sprintf("已批准第%d期，将于 %s 发送。", n, when), fmt.Sprintf("No.%d approved; it goes out %s.", n, when))
	default:
		text = tr(lang, fmt.Sprintf("已批准第%d期（本版内容）。", n), fmt.Sprintf("No.%d approved (this version).", n))
	}
	return CutText(text, MaxTextBytes)
}
