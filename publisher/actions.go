package publisher

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lifang/wxbot/wechat"
)

// What an issue's history records as asked, with who asked (Transition.By).
const (
	ActionUploaded  = "uploaded"  // an issue file (new, edited or again) entered the pipeline
	ActionApproved  = "approved"  // an approver approved this content
	ActionRejected  = "rejected"  // an approver rejected it, with a reason
	ActionScheduled = "scheduled" // scheduled or rescheduled (Schedule, or a run reaching the schedule)
	ActionSendNow   = "send_now"  // asked to be sent at once (SendNow)
	ActionCancelled = "cancelled" // taken out of the schedule
	ActionSent      = "sent"      // WeChat accepted the broadcast
	ActionRetracted = "retracted" // withdrawn from WeChat after the send
	ActionPreview   = "preview"   // the draft was sent to reviewers' phones
)

// audit is the action and actor a mutation records in the history entry
// its write adds.
type audit struct {
	Action string
	By     string
}

// Reviewer is someone to send a preview to: a follower's OpenID, or a
// WeChatID (微信号, sent as message/mass/preview's towxname). OpenID wins
// when both are given.
type Reviewer struct {
	OpenID   string
	WeChatID string
}

// String is the reviewer as the history shows it.
func (r Reviewer) String() string {
	if r.OpenID != "" {
		return r.OpenID
	}
	return "wxname:" + r.WeChatID
}

// PreviewOutcome is what WeChat answered for one reviewer's preview.
type PreviewOutcome struct {
	To    Reviewer
	MsgID int64
	// Err is WeChat's refusal or the transport error; nil when sent.
	// ErrCode is WeChat's errcode (0 when none).
	Err     error
	ErrCode int
}

// MaxPreviewReviewers bounds the reviewers of one SendPreview.
const MaxPreviewReviewers = 20

var (
	openIDPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{6,64}$`)
	weChatIDPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{5,19}$`)
)

// Schedule schedules issue n, or reschedules it, for at (zero: the next
// publish.schedule slot) for by. It takes the issue's stored source, so
// no file is needed; an issue cancelled, rejected or failed (with nothing
// sent) is taken up again, and under publish.approval: required one not
// approved waits for approval with that due time. An issue sent, being
// sent or whose send has an unknown outcome is refused (*Refusal).
func (p *Publisher) Schedule(ctx context.Context, n int, at time.Time, by string) (*Result, error) {
	now := p.now()
	if !at.IsZero() && at.Before(now.Add(-time.Minute)) {
		return nil, p.at(&Refusal{Reason: TimeInPast, Number: n}, at)
	}
	if at.IsZero() {
		at = p.NextSlot(now)
	}
	return p.again(ctx, n, Request{Goal: GoalSchedule, At: at, By: by, action: ActionScheduled})
}

// SendNow sends issue n at once for by, from its stored source, as
// `wxbot publish FILE --now` does: within publish.max_per_day (else it is
// deferred to the next day's slot: the Result's steps say so). Under
// publish.approval: required content not approved is refused (NotApproved).
func (p *Publisher) SendNow(ctx context.Context, n int, by string) (*Result, error) {
	rec, err := p.load(ctx, n)
	if err != nil {
		return nil, err
	}
	if rec != nil && rec.State != "" && p.needsApproval(rec) && !rec.sendStarted() {
		return nil, p.refusal(NotApproved, n, rec)
	}
	return p.again(ctx, n, Request{Goal: GoalNow, By: by, action: ActionSendNow})
}

// again runs issue n's stored source through Publish with req's goal.
func (p *Publisher) again(ctx context.Context, n int, req Request) (*Result, error) {
	if p.api == nil {
		return nil, errors.New("publisher: no WeChat API client configured")
	}
	rec, err := p.load(ctx, n)
	if err != nil {
		return nil, err
	}
	if rf := p.checkAgain(n, rec); rf != nil {
		return nil, rf
	}
	req.File, req.Data, req.Origin = rec.File, rec.Source, "admin"
	res, err := p.Publish(ctx, req)
	if err != nil {
		return res, err
	}
	// Sent meanwhile (between the check and the lock).
	switch res.Outcome {
	case OutcomeAlreadySent:
		return res, p.at(p.refusal(AlreadyBroadcast, n, res.Record), firstNonZero(res.Record.SentAt, res.Record.SendStarted))
	case OutcomeSendUnknown:
		return res, p.at(p.refusal(SendUnknown, n, res.Record), res.Record.SendStarted)
	}
	return res, nil
}

// checkAgain refuses a workbench action on an issue not in the pipeline
// or whose send started.
func (p *Publisher) checkAgain(n int, rec *Record) *Refusal {
	switch {
	case rec == nil || rec.State == "":
		return p.refusal(NotInPipeline, n, nil)
	case rec.State == StateFailed && rec.Broadcast == BroadcastMaybe:
		return p.at(p.refusal(SendUnknown, n, rec), rec.SendStarted)
	case rec.sendStarted() || rec.State == StateRetracted:
		return p.at(p.refusal(AlreadyBroadcast, n, rec), firstNonZero(rec.SentAt, rec.SendStarted))
	case len(rec.Source) == 0:
		return p.refusal(NoDraft, n, rec)
	}
	return nil
}

// SendPreview sends issue n's current draft to the reviewers' phones now
// (message/mass/preview: touser for an OpenID, towxname for a WeChat ID)
// and records who asked. Each reviewer's answer is in the outcomes; the
// error is a *Refusal (no draft yet, nobody, too many, a malformed ID, an
// issue already broadcast) or a failure to record the previews.
func (p *Publisher) SendPreview(ctx context.Context, n int, to []Reviewer, by string) ([]PreviewOutcome, error) {
	if p.api == nil {
		return nil, errors.New("publisher: no WeChat API client configured")
	}
	list, err := reviewerList(n, to)
	if err != nil {
		return nil, err
	}
	lk, lctx, err := p.lockIssue(ctx, n, p.lockWait)
	if err != nil {
		return nil, err
	}
	defer lk.release()
	rec, err := p.load(lctx, n)
	if err != nil {
		return nil, err
	}
	switch {
	case rec == nil || rec.State == "":
		return nil, p.refusal(NotInPipeline, n, nil)
	case rec.sendStarted() || rec.State == StateRetracted:
		return nil, p.at(p.refusal(AlreadyBroadcast, n, rec), firstNonZero(rec.SentAt, rec.SendStarted))
	case rec.DraftMediaID == "" || !hasCurrentDraft(rec):
		return nil, p.refusal(NoDraft, n, rec)
	}
	outs, sent, failed := p.sendPreviews(lctx, list, rec.DraftMediaID)
	draft := rec.DraftHash
	_, err = p.update(lctx, guard{lockToken: lk.token}, n, func(x *Record) (string, []op, error) {
		x.act = audit{Action: ActionPreview, By: by}
		if x.PreviewedHash == draft {
			for _, s := range sent {
				if slices.Contains(x.PreviewTo, s) {
					x.Previewed = appendUnique(x.Previewed, s)
				}
			}
		}
		note := fmt.Sprintf("preview of draft %s sent to %d of %d", x.DraftMediaID, len(sent), len(outs))
		if len(sent) > 0 {
			note += ": " + strings.Join(sent, ", ")
		}
		if len(failed) > 0 {
			note += "; failed: " + strings.Join(failed, "; ")
		}
		return note, nil, nil
	})
	return outs, err
}

// reviewerList is to cleaned for issue n: blanks dropped, an OpenID
// preferred over a WeChat ID, duplicates removed. It refuses a malformed ID,
// nobody and too many.
func reviewerList(n int, to []Reviewer) ([]Reviewer, error) {
	var list []Reviewer
	for _, r := range to {
		r.OpenID, r.WeChatID = strings.TrimSpace(r.OpenID), strings.TrimSpace(r.WeChatID)
		switch {
		case r.OpenID == "" && r.WeChatID == "":
			continue
		case r.OpenID != "" && !openIDPattern.MatchString(r.OpenID):
			return nil, &Refusal{Reason: BadReviewer, Number: n, Detail: r.OpenID}
		case r.OpenID == "" && !weChatIDPattern.MatchString(r.WeChatID):
			return nil, &Refusal{Reason: BadReviewer, Number: n, Detail: r.WeChatID}
		}
		if r.OpenID != "" {
			r.WeChatID = ""
		}
		dup := false
		for _, x := range list {
			dup = dup || x == r
		}
		if !dup {
			list = append(list, r)
		}
	}
	switch {
	case len(list) == 0:
		return nil, &Refusal{Reason: NoReviewers, Number: n}
	case len(list) > MaxPreviewReviewers:
		return nil, &Refusal{Reason: TooManyReviewers, Number: n, Articles: MaxPreviewReviewers}
	}
	return list, nil
}

// sendPreviews sends draft mediaID to each reviewer until ctx ends. It
// returns each answer, and the reviewers it reached and those it did not
// (with WeChat's reason) for the record's history.
func (p *Publisher) sendPreviews(ctx context.Context, list []Reviewer, mediaID string) (outs []PreviewOutcome, sent, failed []string) {
	outs = make([]PreviewOutcome, 0, len(list))
	for _, r := range list {
		if ctx.Err() != nil {
			break
		}
		var id int64
		var perr error
		if r.OpenID != "" {
			id, perr = p.api.Preview(ctx, r.OpenID, mediaID)
		} else {
			id, perr = p.api.PreviewToWxName(ctx, r.WeChatID, mediaID)
		}
		code, _ := wechat.CodeOf(perr)
		outs = append(outs, PreviewOutcome{To: r, MsgID: id, Err: perr, ErrCode: code})
		if perr != nil {
			failed = append(failed, r.String()+": "+explain(code, perr))
		} else {
			sent = append(sent, r.String())
		}
	}
	return outs, sent, failed
}

// hasCurrentDraft reports whether the WeChat draft holds the record's
// current content: an edit not drafted yet is parsed, rendered or uploaded.
func hasCurrentDraft(r *Record) bool {
	switch r.State {
	case StateParsed, StateRendered, StateUploaded:
		return false
	}
	return r.DraftHash != ""
}
