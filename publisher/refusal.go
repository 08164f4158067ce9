package publisher

import (
	"fmt"
	"strings"
	"time"
)

// RefusalReason names why the pipeline declined a request. The words for
// an editor are the caller's (cmd/wxbot words.go, the admin pages).
type RefusalReason string

// Why a request is refused.
const (
	// NotInPipeline: the pipeline never saw the issue.
	NotInPipeline RefusalReason = "not_in_pipeline"
	// AlreadyBroadcast: the send started or happened (State says which):
	// nothing to cancel, approve, reject, schedule, send or preview.
	AlreadyBroadcast RefusalReason = "already_broadcast"
	// EditAfterSend: an edited file (Detail: its short content hash) for an
	// issue already broadcast; corrections go out as a new issue.
	EditAfterSend RefusalReason = "edit_after_send"
	// EditMaybeSent: an edited file for an issue whose send has an unknown
	// outcome (Detail: its short content hash).
	EditMaybeSent RefusalReason = "edit_maybe_sent"
	// SendUnknown: an earlier send's outcome is unknown; only a run with
	// Request.Force (after checking WeChat's admin page) sends it again.
	SendUnknown RefusalReason = "send_unknown"
	// AlreadyCancelled: the issue is cancelled already.
	AlreadyCancelled RefusalReason = "already_cancelled"
	// NotScheduled: the issue failed (State failed, Detail: its errcode
	// when WeChat gave one): there is no schedule to cancel.
	NotScheduled RefusalReason = "not_scheduled"
	// NotWaiting: the issue is failed, cancelled or rejected (State):
	// nothing waits for approval.
	NotWaiting RefusalReason = "not_waiting"
	// AlreadyApproved: this content was approved already (By, When).
	AlreadyApproved RefusalReason = "already_approved"
	// AlreadyRejected: this content was rejected already (By; Detail: the
	// rejecter's reason).
	AlreadyRejected RefusalReason = "already_rejected"
	// ReasonRequired: a rejection without a reason.
	ReasonRequired RefusalReason = "reason_required"
	// NotApproved: publish.approval is required and this content is not
	// approved: it cannot be sent now.
	NotApproved RefusalReason = "not_approved"
	// AlreadyRetracted: the issue (Article 0) or one article was withdrawn
	// already (By, When).
	AlreadyRetracted RefusalReason = "already_retracted"
	// NotSent: the issue was not broadcast (State): nothing to withdraw.
	NotSent RefusalReason = "not_sent"
	// OutcomeUnknown: whether WeChat sent it is not known yet (State):
	// nothing to withdraw yet.
	OutcomeUnknown RefusalReason = "outcome_unknown"
	// NoSuchArticle: Article is outside 1..Articles.
	NoSuchArticle RefusalReason = "no_such_article"
	// TagUnknown: the account has no WeChat tag named Detail (Tags lists
	// the names it has).
	TagUnknown RefusalReason = "tag_unknown"
	// TagNeedsMass: a target tag (Detail) asked for in publish.mode
	// publish, whose freepublish reaches no one directly.
	TagNeedsMass RefusalReason = "tag_needs_mass"
	// TimeInPast: a broadcast time (When) already past.
	TimeInPast RefusalReason = "time_in_past"
	// NoDraft: the issue has no current WeChat draft yet (State): there
	// is nothing to preview.
	NoDraft RefusalReason = "no_draft"
	// NoReviewers: a preview asked for nobody.
	NoReviewers RefusalReason = "no_reviewers"
	// TooManyReviewers: a preview asked for more than Articles (the
	// bound, MaxPreviewReviewers) reviewers at once.
	TooManyReviewers RefusalReason = "too_many_reviewers"
	// BadReviewer: a reviewer (Detail) that is neither an openid nor a
	// WeChat ID.
	BadReviewer RefusalReason = "bad_reviewer"
)

// RefusalReasons lists every reason, for callers that word each one.
var RefusalReasons = []RefusalReason{NotInPipeline, AlreadyBroadcast, EditAfterSend, EditMaybeSent, SendUnknown,
	AlreadyCancelled, NotScheduled, NotWaiting, AlreadyApproved, AlreadyRejected, ReasonRequired, NotApproved,
	AlreadyRetracted, NotSent, OutcomeUnknown, NoSuchArticle, TagUnknown, TagNeedsMass, TimeInPast, NoDraft,
	NoReviewers, TooManyReviewers, BadReviewer}

// Refusal is a request the pipeline declines: a fact with its reason, for
// the caller to put into words. It never names a command or a flag.
type Refusal struct {
	Reason RefusalReason
	Number int
	// State is the state when it was refused ("" when not in the pipeline).
	State State
	// When is the time the reason is about (the send, the approval, the
	// withdrawal, a time in the past), in publish.timezone; zero when none.
	When time.Time
	// By is who did what the reason is about (approved, rejected, retracted).
	By string
	// Detail is a fact such as a tag name, a short content hash, an
	// errcode or a rejection's reason — never a sentence of ours.
	Detail string
	// Article and Articles: the article asked for and the count
	// (retract); for TooManyReviewers, Articles is the bound.
	Article, Articles int
	// Tags are the account's tag names (TagUnknown).
	Tags []string
}

// Error is a neutral sentence for logs and tests; editors get the
// caller's words.
func (r *Refusal) Error() string {
	var b strings.Builder
	if r.Number > 0 {
		fmt.Fprintf(&b, "publisher: No.%d refused: ", r.Number)
	} else {
		b.WriteString("publisher: refused: ")
	}
	b.WriteString(strings.ReplaceAll(string(r.Reason), "_", " "))
	var facts []string
	if r.State != "" {
		facts = append(facts, "state "+string(r.State))
	}
	if !r.When.IsZero() {
		facts = append(facts, "at "+r.When.Format(time.RFC3339))
	}
	if r.By != "" {
		facts = append(facts, "by "+r.By)
	}
	if r.Article != 0 || r.Articles != 0 {
		facts = append(facts, fmt.Sprintf("article %d of %d", r.Article, r.Articles))
	}
	if r.Detail != "" {
		facts = append(facts, fmt.Sprintf("%q", r.Detail))
	}
	if len(r.Tags) > 0 {
		facts = append(facts, "tags "+strings.Join(r.Tags, ", "))
	}
	if len(facts) > 0 {
		b.WriteString(" (" + strings.Join(facts, "; ") + ")")
	}
	return b.String()
}

// refusal builds a refusal for issue x (which may be nil).
func (p *Publisher) refusal(why RefusalReason, n int, x *Record) *Refusal {
	rf := &Refusal{Reason: why, Number: n}
	if x != nil {
		rf.State = x.State
	}
	return rf
}

// at sets the refusal's time, in publish.timezone.
func (p *Publisher) at(rf *Refusal, t time.Time) *Refusal {
	if !t.IsZero() {
		rf.When = t.In(p.loc)
	}
	return rf
}
