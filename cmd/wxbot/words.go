package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lifang/wxbot/publisher"
)

// The publisher returns facts (refusals, steps, outcomes); these are the
// command line's words for them, with its commands and flags. The admin
// pages and the notices have their own.

// whenText shows a time as the pipeline commands do, in publish.timezone.
func whenText(loc *time.Location, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if loc != nil {
		t = t.In(loc)
	}
	return t.Format("Mon 2006-01-02 15:04:05 MST")
}

// refusalText says why the pipeline declined, for the editor at a terminal.
func refusalText(rf *publisher.Refusal) string {
	n, st := rf.Number, rf.State
	when := whenText(nil, rf.When)
	switch rf.Reason {
	case publisher.NotInPipeline:
		return fmt.Sprintf("No.%d is not in the pipeline (publish it with 'wxbot publish FILE').", n)
	case publisher.AlreadyBroadcast:
		return fmt.Sprintf("No.%d was already broadcast (%s, state %s): a sent broadcast cannot be taken back or sent again "+
			"(wxbot retract %d withdraws it; WeChat's admin page can delete the articles).", n, when, st, n)
	case publisher.EditAfterSend:
		return fmt.Sprintf("No.%d was already broadcast (%s, state %s): the edited file (content %s) is not sent. "+
			"Corrections go out as a new issue with a new number.", n, when, st, rf.Detail)
	case publisher.EditMaybeSent:
		return fmt.Sprintf("No.%d may have been broadcast (%s; outcome unknown): the edited file (content %s) is not sent. "+
			"Check WeChat's admin page; corrections go out as a new issue.", n, when, rf.Detail)
	case publisher.SendUnknown:
		return fmt.Sprintf("No.%d: a send was asked on %s and its outcome is unknown. Check WeChat's admin page (群发记录); "+
			"if it did not go out, run 'wxbot publish FILE --force'.", n, when)
	case publisher.AlreadyCancelled:
		return fmt.Sprintf("No.%d is already cancelled.", n)
	case publisher.NotScheduled:
		code := ""
		if rf.Detail != "" {
			code = ", errcode " + rf.Detail
		}
		return fmt.Sprintf("No.%d is not scheduled (it failed%s; wxbot status %d says why): nothing to cancel.", n, code, n)
	case publisher.NotWaiting:
		return fmt.Sprintf("No.%d is %s: nothing waits for approval. Run wxbot publish again to take it up.", n, st)
	case publisher.AlreadyApproved:
		return fmt.Sprintf("No.%d (this content) was already approved by %s on %s.", n, rf.By, when)
	case publisher.AlreadyRejected:
		return fmt.Sprintf("No.%d was already rejected by %s: %s", n, rf.By, rf.Detail)
	case publisher.ReasonRequired:
		return "a rejection needs a reason (--reason), so the editors know what to change"
	case publisher.NotApproved:
		return fmt.Sprintf("No.%d is not approved (publish.approval: required): nothing is sent until wxbot approve %d.", n, n)
	case publisher.AlreadyRetracted:
		if rf.Article > 0 {
			return fmt.Sprintf("No.%d: article %d was already withdrawn on %s by %s.", n, rf.Article, when, rf.By)
		}
		return fmt.Sprintf("No.%d was already withdrawn on %s by %s.", n, when, rf.By)
	case publisher.NotSent:
		return fmt.Sprintf("No.%d was not sent (state %s): nothing to withdraw. To stop a scheduled send, use wxbot cancel %d.", n, st, n)
	case publisher.OutcomeUnknown:
		return fmt.Sprintf("No.%d: whether WeChat sent it is not known yet (state %s): nothing to withdraw yet. Check WeChat's admin page (群发记录).", n, st)
	case publisher.NoSuchArticle:
		return fmt.Sprintf("No.%d has %d articles: there is no article %d to withdraw (--article is 1-based).", n, rf.Articles, rf.Article)
	case publisher.TagUnknown:
		has := "no tags"
		if len(rf.Tags) > 0 {
			has = "tags " + strings.Join(rf.Tags, ", ")
		}
		return fmt.Sprintf("there is no WeChat tag named %q (the account has %s): check --to-tag or publish.to_tag", rf.Detail, has)
	case publisher.TagNeedsMass:
		return fmt.Sprintf("--to-tag %s: publish.mode is publish (freepublish), which reaches no one directly: targets apply to mass sends", rf.Detail)
	case publisher.TimeInPast:
		return fmt.Sprintf("No.%d: %s is in the past: give a later --at", n, when)
	case publisher.NoDraft:
		return fmt.Sprintf("No.%d has no current draft yet (state %s): run wxbot publish FILE --draft-only first.", n, st)
	case publisher.NoReviewers:
		return "no reviewer to preview to: give openids or WeChat IDs"
	case publisher.TooManyReviewers:
		return fmt.Sprintf("at most %d reviewers per preview", rf.Articles)
	case publisher.BadReviewer:
		return fmt.Sprintf("%q is neither an openid nor a WeChat ID", rf.Detail)
	}
	return rf.Error()
}

// stepText is one line of what a run did, padded into columns.
func stepText(loc *time.Location, rec *publisher.Record, s publisher.Step) string {
	id := func(i int) string {
		if i < len(s.IDs) {
			return s.IDs[i]
		}
		return ""
	}
	line := func(kind, format string, args ...any) string {
		return fmt.Sprintf("%-10s %s", kind, fmt.Sprintf(format, args...))
	}
	switch s.Kind {
	case publisher.StepEdited:
		return line("edited", "content %s → %s: the draft will be updated, previews sent again", id(0), id(1))
	case publisher.StepRendered:
		return line("rendered", "%d %s", s.Count, plural(s.Count, "article", "articles"))
	case publisher.StepUploaded:
		cover := "cover uploaded"
		if s.Detail == "cached" {
			cover = "cover (already uploaded)"
		}
		return line("uploaded", "%s, %d %s (%d new)", cover, s.Count, plural(s.Count, "image", "images"), s.Fresh)
	case publisher.StepDrafted:
		switch s.Detail {
		case publisher.DraftUnchanged:
			return line("drafted", "draft %s unchanged", id(0))
		case publisher.DraftUpdated:
			return line("drafted", "draft %s updated (%d %s)", id(0), s.Count, plural(s.Count, "article", "articles"))
		case publisher.DraftReplaced:
			return line("drafted", "new draft %s (replaces %s)", id(0), id(1))
		case publisher.DraftPublishCopy:
			return line("drafted", "publication copy %s (freepublish consumes its draft)", id(0))
		}
		return line("drafted", "draft %s (%d %s)", id(0), s.Count, plural(s.Count, "article", "articles"))
	case publisher.StepPreviewed:
		return line("previewed", "to %s", strings.Join(s.IDs, ", "))
	case publisher.StepPreviewFailed:
		code := ""
		if s.Detail != "" {
			code = " (errcode " + s.Detail + ")"
		}
		return line("preview", "failed for %s%s", strings.Join(s.IDs, ", "), code)
	case publisher.StepAwaiting:
		return line("awaiting", "approval of this content (publish.approval: required); due %s", whenText(loc, s.At))
	case publisher.StepScheduled:
		return line("scheduled", "%s, %s, mode %s", whenText(loc, s.At), targetText(rec), modeOf(rec))
	case publisher.StepDeferred:
		return line("deferred", "publish.max_per_day (%d) broadcasts already went out on %s: deferred to the next slot, %s", s.Count, s.Detail, whenText(loc, s.At))
	case publisher.StepSent:
		if s.Detail == "duplicate" {
			return line("sent", "WeChat already had clientmsgid %s (45065): msg_id %s, not sent again", id(1), id(0))
		}
		return line("sent", "msg_id %s, %s, clientmsgid %s", id(0), targetText(rec), id(1))
	case publisher.StepPublished:
		return line("published", "publish_id %s (URLs follow when WeChat finishes)", id(0))
	}
	return line(string(s.Kind), "%s %s", strings.Join(s.IDs, ", "), s.Detail)
}

func modeOf(rec *publisher.Record) string {
	if rec == nil {
		return "-"
	}
	return rec.Mode
}

// targetText says who a broadcast reaches.
func targetText(rec *publisher.Record) string {
	switch {
	case rec == nil:
		return "-"
	case rec.Mode == "publish":
		return "published on the account (no notification)"
	case rec.ToAll || rec.Tag == "":
		return "to all followers"
	}
	return fmt.Sprintf("to tag %q", rec.Tag)
}

// outcomeText says where an issue stands at the end of a command.
func outcomeText(loc *time.Location, res *publisher.Result) string {
	r := res.Record
	if r == nil {
		return fmt.Sprintf("No.%d: %s.", res.Number, res.Outcome)
	}
	n := r.Number
	switch res.Outcome {
	case publisher.OutcomeAlreadySent:
		msg := fmt.Sprintf("No.%d was already broadcast on %s", n, whenText(loc, firstSet(r.SentAt, r.SendStarted)))
		if r.MsgID != 0 {
			msg += fmt.Sprintf(" (msg_id %d)", r.MsgID)
		}
		if r.PublishID != "" {
			msg += fmt.Sprintf(" (publish_id %s)", r.PublishID)
		}
		return msg + ", state " + string(r.State) + ": nothing sent."
	case publisher.OutcomeSendUnknown:
		return fmt.Sprintf("No.%d: a send was asked on %s and its outcome is unknown (%s). Nothing was sent now. "+
			"Check WeChat's admin page (群发记录); if it did not go out, run this again with --force.", n, whenText(loc, r.SendStarted), r.Explanation)
	case publisher.OutcomeScheduled:
		return fmt.Sprintf("No.%d is scheduled for %s; wxbot serve sends it then (wxbot status %d).", n, whenText(loc, r.Due), n)
	case publisher.OutcomePending:
		return fmt.Sprintf("No.%d: the send is not confirmed yet (%s); it is asked again with the same clientmsgid, which WeChat never sends twice (wxbot status %d).", n, r.Explanation, n)
	case publisher.OutcomeSent:
		if r.PollsStopped {
			return fmt.Sprintf("No.%d was broadcast: %s; %s", n, sentText(r), r.Explanation)
		}
		return fmt.Sprintf("No.%d was broadcast: %s; WeChat reports the outcome shortly (wxbot status %d).", n, sentText(r), n)
	case publisher.OutcomeFinished:
		return fmt.Sprintf("No.%d was broadcast and WeChat reported: %s.", n, r.MassStatus)
	case publisher.OutcomeDrafted:
		return fmt.Sprintf("No.%d is drafted (draft %s); nothing was scheduled.", n, r.DraftMediaID)
	case publisher.OutcomeAwaiting:
		return fmt.Sprintf("No.%d waits for approval; due %s. Nothing is sent until an approver approves it (wxbot approve %d).", n, whenText(loc, r.Due), n)
	case publisher.OutcomeRejected:
		return fmt.Sprintf("No.%d was rejected by %s: %s. Nothing was sent; an edited file asks for approval again.", n, r.RejectedBy, r.RejectReason)
	case publisher.OutcomeFailed:
		return fmt.Sprintf("No.%d failed: %s", n, r.Explanation)
	}
	return fmt.Sprintf("No.%d is %s.", n, r.State)
}

func sentText(r *publisher.Record) string {
	var parts []string
	if r.MsgID != 0 {
		parts = append(parts, "msg_id "+strconv.FormatInt(r.MsgID, 10))
	}
	if r.Duplicate {
		parts = append(parts, "WeChat had already accepted this clientmsgid (45065)")
	}
	if r.PublishID != "" {
		parts = append(parts, "publish_id "+r.PublishID)
	}
	if len(parts) == 0 {
		return "accepted"
	}
	return strings.Join(parts, ", ")
}

func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// historyText is one line of an issue's history: when, state, who did
// what, and the pipeline's note.
func historyText(h publisher.Transition) string {
	who := ""
	switch {
	case h.Action != "" && h.By != "":
		who = h.Action + " by " + h.By
	case h.Action != "":
		who = h.Action
	case h.By != "":
		who = "by " + h.By
	}
	return joinNonEmptyStrings(" — ", who, h.Note)
}
