package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/wechat"
)

// Exactly once. The send of an issue is:
//
//  1. claim: one guarded write moves the record from scheduled to sending,
//     sets broadcast "maybe" and counts the send against the day's
//     publish.max_per_day — before WeChat is asked anything;
//  2. sendall with the record's clientmsgid; WeChat sends a clientmsgid at
//     most once in 24 h and answers a repeat with 45065 and the original
//     msg_id, so a lost answer, a crash or a second process is resolved by
//     asking again with the same id;
//  3. a guarded write records the msg_id (sent).
//
// A send still unconfirmed 23 h after its first attempt is never asked
// again: it fails as "outcome unknown" and the editors are told. freepublish
// has no clientmsgid: a submit without an answer is never repeated.

func (r *Record) hasMass() bool    { return r.Mode != "publish" }
func (r *Record) hasPublish() bool { return r.Mode == "publish" || r.Mode == "both" }

// outcomeKnown reports whether WeChat reported every part of the broadcast.
func (r *Record) outcomeKnown() bool {
	massDone := !r.hasMass() || r.MassStatus != ""
	pubDone := !r.hasPublish() || r.PublishStep == PublishDone || r.PublishStep == PublishFailed || r.PublishStep == PublishUnknown
	return massDone && pubDone
}

// send takes a scheduled or sending record through the broadcast.
func (r *run) send() error {
	for i := 0; i < 4; i++ {
		switch r.rec.State {
		case StateScheduled:
			claimed, err := r.claim()
			if err != nil || !claimed {
				return err
			}
		case StateSending:
			return r.deliver()
		default:
			return nil
		}
	}
	return nil
}

// claim moves a due scheduled record to sending. It reports false when the
// issue is not due, was deferred, or missed its slot by more than
// publish.max_delay.
func (r *run) claim() (bool, error) {
	p := r.p
	now := p.now()
	rec := r.rec
	if rec.Due.After(now.Add(time.Second)) {
		return false, nil
	}
	if p.needsApproval(rec) {
		// Scheduled before publish.approval became required, or by an
		// older replica: it waits for an approval of this content.
		err := r.set(func(x *Record) (string, []op, error) {
			if x.State != StateScheduled || !p.needsApproval(x) {
				return "", nil, errNoChange
			}
			x.State = StateAwaiting
			return "not sent: waits for approval of this content (publish.approval: required)", []op{opZRem()}, nil
		})
		return false, err
	}
	lag := now.Sub(rec.Due)
	if lag > p.cfg.MaxDelay {
		return false, r.missedSlot(lag)
	}
	day := p.day(now)
	err := r.set(func(x *Record) (string, []op, error) {
		if x.State != StateScheduled {
			return "", nil, errNoChange
		}
		x.State, x.Broadcast = StateSending, BroadcastMaybe
		x.SendStarted, x.SendAttempts, x.Unanswered, x.AttemptOpen, x.QuotaDay = now, 0, false, false, day
		x.PublishAttempts = 0
		x.ErrCode, x.Error, x.Explanation = 0, "", ""
		note := fmt.Sprintf("claimed for sending, %s after its slot", lag.Round(time.Millisecond))
		if len(x.ClientMsgID) > wechat.MaxClientMsgID {
			// A record from before ids fit 32 bytes. A scheduled record was
			// never sent with its id (or WeChat refused it), so the id may
			// change now; a record already sending keeps its id.
			old := x.ClientMsgID
			x.ClientMsgID = clientMsgID(x.Number, x.ContentHash)
			note += fmt.Sprintf("; clientmsgid %s (%d bytes) replaced by %s", old, len(old), x.ClientMsgID)
		}
		return note, []op{
			{Op: "quota", Max: p.cfg.MaxPerDay, TTL: (48 * time.Hour).Milliseconds(), Day: day},
			// If this process dies mid-send, the scheduler resumes it then.
			opZAdd(now.Add(p.retryDelay)),
		}, nil
	})
	if errors.Is(err, errQuotaUsed) {
		return false, r.deferForQuota(now, day)
	}
	if err != nil {
		return false, err
	}
	if r.rec.State != StateSending {
		return false, nil
	}
	p.m.ScheduleLag.Observe(lag.Seconds())
	return true, nil
}

// missedSlot fails a scheduled record whose slot was missed by lag, more
// than publish.max_delay.
func (r *run) missedSlot(lag time.Duration) error {
	p := r.p
	rec := r.rec
	expl := fmt.Sprintf("its slot %s was missed by %s, more than publish.max_delay (%s), while no wxbot serve was running: "+
		"it was NOT sent: send it now or schedule it again.",
		p.fmtTime(rec.Due), lag.Round(time.Second), p.cfg.MaxDelay)
	err := r.set(func(x *Record) (string, []op, error) {
		if x.State != StateScheduled {
			return "", nil, errNoChange
		}
		x.State, x.ErrCode, x.Error, x.Explanation = StateFailed, 0, "missed slot", expl
		return "missed slot", []op{opZRem()}, nil
	})
	if err == nil {
		p.notify(r.ctx, Notice{Kind: notify.Attention, Number: rec.Number, Reason: expl})
	}
	return err
}

// deferForQuota moves a scheduled record to the next slot of another day:
// publish.max_per_day broadcasts already went out on day.
func (r *run) deferForQuota(now time.Time, day string) error {
	p := r.p
	rec := r.rec
	next := p.nextDaySlot(now)
	expl := fmt.Sprintf("publish.max_per_day (%d) broadcasts already went out on %s: deferred to the next slot, %s", p.cfg.MaxPerDay, day, p.fmtTime(next))
	err := r.set(func(x *Record) (string, []op, error) {
		if x.State != StateScheduled {
			return "", nil, errNoChange
		}
		x.Due, x.Explanation = next, expl
		return "deferred: " + expl, []op{opZAdd(next)}, nil
	})
	if err == nil {
		r.res.Steps = append(r.res.Steps, Step{Kind: StepDeferred, At: next.In(p.loc), Detail: day, Count: p.cfg.MaxPerDay})
		p.notify(r.ctx, Notice{Kind: notify.Failed, Number: rec.Number, Reason: expl})
	}
	return err
}

// deliver asks WeChat for the broadcast parts not yet accepted.
func (r *run) deliver() error {
	if r.rec.hasMass() && r.rec.Broadcast != BroadcastYes {
		done, err := r.massSend()
		if err != nil || !done {
			return err
		}
	}
	if r.rec.State == StateSending && r.rec.hasPublish() {
		done, err := r.publishSubmit()
		if err != nil || !done {
			return err
		}
	}
	if r.rec.State == StateSending {
		return r.markSent()
	}
	return nil
}

// maxPublishAttempts bounds the submits of one publication that WeChat
// refuses for now (-1, 45009, 53501): with the doubling delay from
// RetryDelay (30 s) they span about an hour and a half.
const maxPublishAttempts = 10

// retryDelayFor is the wait before asking again: doubling from
// RetryDelay, at most 15 minutes, at least a minute after 45066.
func (p *Publisher) retryDelayFor(attempts int, err error) time.Duration {
	d := p.retryDelay
	for i := 1; i < attempts && d < 15*time.Minute; i++ {
		d *= 2
	}
	d = min(d, 15*time.Minute)
	if wechat.IsCode(err, wechat.CodeClientMsgIDFast) {
		d = max(d, 61*time.Second)
	}
	return d
}

// massSend asks for the mass send and records WeChat's answer. It
// reports whether the mass part is done (accepted).
func (r *run) massSend() (bool, error) {
	p := r.p
	if p.now().Sub(r.rec.SendStarted) > p.sendWindow {
		return false, r.sendWindowClosed()
	}
	if err := r.ctx.Err(); err != nil {
		return false, err
	}
	if err := r.openAttempt(); err != nil {
		return false, err
	}
	if r.rec.State != StateSending {
		return false, nil
	}
	rec := r.rec
	res, err := p.api.SendAll(r.ctx, wechat.MassSend{
		MediaID: rec.DraftMediaID, ToAll: rec.ToAll || rec.Tag == "", TagID: rec.TagID,
		SendIgnoreReprint: p.cfg.SendIgnoreReprint, ClientMsgID: rec.ClientMsgID,
	})
	if err == nil {
		return true, r.massAccepted(res)
	}
	if r.ctx.Err() != nil {
		// Shutting down or the lock was lost: the state stays sending and
		// whoever resumes asks again with the same clientmsgid.
		return false, err
	}
	return false, r.massRefused(err)
}

// sendWindowClosed ends a send that was not confirmed within the send
// window: failed, with an outcome unknown unless every attempt was refused.
func (r *run) sendWindowClosed() error {
	p := r.p
	rec := r.rec
	// Past the window a repeat could be sent twice if an unanswered
	// attempt did go out. When every attempt was answered with a
	// refusal, nothing went out.
	expl := fmt.Sprintf("the send asked on %s was never confirmed and WeChat's clientmsgid protection (24 h) is running out: "+
		"wxbot will not ask again. The outcome is unknown — check the WeChat admin page (群发记录). "+
		"If it did not go out, it may be sent again (forced).", p.fmtTime(rec.SendStarted))
	broadcast, ops := BroadcastMaybe, []op{opZRem()}
	if !rec.Unanswered && !rec.AttemptOpen {
		expl = fmt.Sprintf("WeChat refused the send from %s on (last: %s): it was NOT sent and is not asked again. "+
			"Send it now to try again.", p.fmtTime(rec.SendStarted), rec.Explanation)
		broadcast = BroadcastNone
		ops = append(ops, op{Op: "unquota", Day: rec.QuotaDay})
	}
	err := r.set(func(x *Record) (string, []op, error) {
		if x.State != StateSending {
			return "", nil, errNoChange
		}
		x.State, x.Broadcast, x.Explanation = StateFailed, broadcast, expl
		x.Error = "outcome unknown"
		if broadcast == BroadcastNone {
			x.Error = "not confirmed within the send window"
		}
		return x.Error, ops, nil
	})
	if err == nil {
		p.notify(r.ctx, Notice{Kind: notify.Attention, Number: rec.Number, Reason: expl})
	}
	return err
}

// openAttempt records that a mass send is about to be asked for, so that a
// crash before its answer is known to leave the attempt unanswered.
func (r *run) openAttempt() error {
	return r.set(func(x *Record) (string, []op, error) {
		if x.State != StateSending {
			return "", nil, errNoChange
		}
		x.SendAttempts++
		if x.AttemptOpen {
			// The previous attempt's answer was never recorded (a crash, a
			// lost lock): it may have been sent.
			x.Unanswered = true
		}
		x.AttemptOpen = true
		return fmt.Sprintf("asking WeChat to send (attempt %d, clientmsgid %s)", x.SendAttempts, x.ClientMsgID), nil, nil
	})
}

// massRefused records a mass send that WeChat did not accept: asked again
// later when it may be transient or unanswered, rescheduled when the day's
// mass quota is used, else failed.
func (r *run) massRefused(err error) error {
	p := r.p
	rec := r.rec
	code, _ := wechat.CodeOf(err)
	expl := explain(code, err)
	var te *wechat.TransportError
	unanswered := errors.As(err, &te)
	switch {
	case unanswered || transient(err) || wechat.IsCode(err, wechat.CodeClientMsgIDFast):
		delay := p.retryDelayFor(rec.SendAttempts, err)
		at := p.now().Add(delay)
		werr := r.set(func(x *Record) (string, []op, error) {
			x.ErrCode, x.Error, x.Explanation = code, err.Error(), expl
			x.Unanswered = x.Unanswered || unanswered
			x.AttemptOpen = false
			return fmt.Sprintf("not confirmed (%s); asking again at %s with the same clientmsgid", expl, p.fmtTime(at)), []op{opZAdd(at)}, nil
		})
		r.res.Pending = true
		return werr
	case wechat.IsCode(err, wechat.CodeNoMassQuota) && !rec.Unanswered:
		next := p.nextDaySlot(p.now())
		werr := r.set(func(x *Record) (string, []op, error) {
			x.State, x.Broadcast, x.Due, x.AttemptOpen = StateScheduled, BroadcastNone, next, false
			x.ErrCode, x.Error, x.Explanation = code, err.Error(), expl+" It goes out at the next slot, "+p.fmtTime(next)+"."
			return "WeChat refused: " + expl + "; rescheduled for " + p.fmtTime(next),
				[]op{{Op: "unquota", Day: x.QuotaDay}, opZAdd(next)}, nil
		})
		if werr == nil {
			p.notify(r.ctx, Notice{Kind: notify.Deferred, Number: rec.Number, Reason: expl, When: next})
		}
		return werr
	}
	// A refusal. Only when no earlier attempt went unanswered does it prove
	// nothing was sent.
	broadcast := BroadcastNone
	if rec.Unanswered {
		broadcast = BroadcastMaybe
		expl += " An earlier attempt got no answer, so WeChat may have sent it: check the admin page (群发记录)."
	}
	werr := r.set(func(x *Record) (string, []op, error) {
		x.State, x.Broadcast, x.AttemptOpen = StateFailed, broadcast, false
		x.ErrCode, x.Error, x.Explanation = code, err.Error(), expl
		ops := []op{opZRem()}
		if broadcast == BroadcastNone {
			ops = append(ops, op{Op: "unquota", Day: x.QuotaDay})
		}
		return "WeChat refused the send: " + expl, ops, nil
	})
	if werr == nil {
		p.notify(r.ctx, Notice{Kind: notify.Failed, Number: rec.Number, Step: "broadcast", Reason: expl, Status: true})
	}
	return errors.Join(fmt.Errorf("publisher: No.%d: mass send: %w", rec.Number, err), werr)
}

// massAccepted records an accepted mass send (or WeChat's 45065: the send
// with this clientmsgid had already happened).
func (r *run) massAccepted(res wechat.MassResult) error {
	p := r.p
	now := p.now()
	var ops []op
	if res.MsgID != 0 {
		ops = append(ops, op{Op: "link", Link: p.keys.PublishMsg(fmt.Sprint(res.MsgID))})
	}
	err := r.set(func(x *Record) (string, []op, error) {
		x.MsgID, x.MsgDataID, x.Duplicate = res.MsgID, res.MsgDataID, res.Duplicate
		x.Broadcast, x.AttemptOpen = BroadcastYes, false
		x.act = audit{Action: ActionSent, By: r.by}
		if x.SentAt.IsZero() {
			x.SentAt = now
		}
		x.ErrCode, x.Error, x.Explanation = 0, "", ""
		if res.Duplicate {
			return fmt.Sprintf("WeChat had already accepted clientmsgid %s (45065): msg_id %d; nothing sent again", x.ClientMsgID, res.MsgID), ops, nil
		}
		return fmt.Sprintf("WeChat accepted the mass send: msg_id %d", res.MsgID), ops, nil
	})
	if err != nil {
		return err
	}
	st := Step{Kind: StepSent, IDs: []string{strconv.FormatInt(res.MsgID, 10), r.rec.ClientMsgID}}
	if res.Duplicate {
		st.Detail = "duplicate"
	}
	r.res.Steps = append(r.res.Steps, st)
	r.pin()
	if res.MsgID != 0 {
		p.applyEarly(r.ctx, "msg", fmt.Sprint(res.MsgID))
	}
	return nil
}

// publishSubmit submits the draft for publication (freepublish). It
// reports whether the publish part is settled.
func (r *run) publishSubmit() (bool, error) {
	p := r.p
	rec := r.rec
	switch rec.PublishStep {
	case PublishSubmitted, PublishDone, PublishFailed, PublishUnknown:
		return true, nil
	case PublishSubmitting:
		return true, r.publishUnknown("an earlier submit was interrupted before its answer was recorded")
	}
	draft := rec.DraftMediaID
	if rec.Mode == "both" {
		draft = rec.PublishDraft
	}
	if err := r.ctx.Err(); err != nil {
		return false, err
	}
	if err := r.set(func(x *Record) (string, []op, error) {
		if x.State != StateSending || x.PublishStep != "" {
			return "", nil, errNoChange
		}
		x.PublishStep = PublishSubmitting
		return "submitting draft " + draft + " for publication (freepublish)", nil, nil
	}); err != nil {
		return false, err
	}
	if r.rec.PublishStep != PublishSubmitting {
		return false, nil
	}
	id, err := p.api.SubmitPublish(r.ctx, draft)
	if err == nil {
		return r.publishAccepted(rec, id)
	}
	var te *wechat.TransportError
	if errors.As(err, &te) || r.ctx.Err() != nil {
		if r.ctx.Err() != nil {
			return false, err
		}
		return true, r.publishUnknown("no answer to freepublish/submit (" + err.Error() + ")")
	}
	return r.publishRefused(rec, err)
}

// publishAccepted records the publish_id WeChat gave for the submit of rec.
func (r *run) publishAccepted(rec *Record, id string) (bool, error) {
	p := r.p
	werr := r.set(func(x *Record) (string, []op, error) {
		x.PublishStep, x.PublishID = PublishSubmitted, id
		if x.Mode == "publish" {
			x.act = audit{Action: ActionSent, By: r.by}
			x.Broadcast = BroadcastYes
			if x.SentAt.IsZero() {
				x.SentAt = p.now()
			}
		}
		return "WeChat accepted the publication: publish_id " + id, []op{{Op: "link", Link: p.keys.PublishJob(id)}}, nil
	})
	if werr != nil {
		return false, werr
	}
	r.res.Steps = append(r.res.Steps, Step{Kind: StepPublished, IDs: []string{id}})
	if rec.Mode == "publish" {
		r.pin()
	}
	p.applyEarly(r.ctx, "job", id)
	return true, nil
}

// publishRefused records a submit of rec that WeChat answered with an
// error: asked again later while transient, else the publication failed.
func (r *run) publishRefused(rec *Record, err error) (bool, error) {
	p := r.p
	code, _ := wechat.CodeOf(err)
	expl := explain(code, err)
	if transient(err) && rec.PublishAttempts+1 < maxPublishAttempts {
		// WeChat answered, so nothing was submitted: ask again later,
		// waiting longer each time (53501 "publishing too often" says so).
		at := p.now().Add(p.retryDelayFor(rec.PublishAttempts+1, err))
		werr := r.set(func(x *Record) (string, []op, error) {
			x.PublishStep, x.ErrCode, x.Error, x.Explanation = "", code, err.Error(), expl
			x.PublishAttempts++
			return fmt.Sprintf("publication not accepted (%s); asking again at %s (attempt %d of %d)",
				expl, p.fmtTime(at), x.PublishAttempts+1, maxPublishAttempts), []op{opZAdd(at)}, nil
		})
		r.res.Pending = true
		return false, werr
	}
	if transient(err) {
		expl = fmt.Sprintf("WeChat refused the publication %d times (last: %s): not asked again", maxPublishAttempts, expl)
	}
	werr := r.set(func(x *Record) (string, []op, error) {
		x.PublishStep, x.PublishError = PublishFailed, expl
		if x.Mode == "publish" {
			x.State, x.Broadcast = StateFailed, BroadcastNone
			x.ErrCode, x.Error, x.Explanation = code, err.Error(), expl
			return "WeChat refused the publication: " + expl, []op{opZRem(), {Op: "unquota", Day: x.QuotaDay}}, nil
		}
		return "WeChat refused the publication (the mass send stands): " + expl, nil, nil
	})
	if werr == nil {
		p.notify(r.ctx, Notice{Kind: notify.PublishFailed, Number: rec.Number, Step: "freepublish", Reason: expl})
	}
	if rec.Mode == "publish" {
		return false, errors.Join(fmt.Errorf("publisher: No.%d: publish: %w", rec.Number, err), werr)
	}
	return true, werr
}

// publishUnknown records a submit whose outcome is unknown. freepublish
// has no clientmsgid, so it is never asked again.
func (r *run) publishUnknown(why string) error {
	p := r.p
	expl := why + ": the articles may or may not have been published. freepublish cannot be safely repeated; " +
		"check the WeChat admin page (发表记录)."
	err := r.set(func(x *Record) (string, []op, error) {
		x.PublishStep, x.PublishError = PublishUnknown, expl
		if x.Mode == "publish" {
			x.State, x.Broadcast = StateFailed, BroadcastMaybe
			x.Error, x.Explanation = "outcome unknown", expl
			return "publication outcome unknown", []op{opZRem()}, nil
		}
		return "publication outcome unknown (the mass send stands)", nil, nil
	})
	if err == nil {
		p.notify(r.ctx, Notice{Kind: notify.Attention, Number: r.rec.Number, Reason: expl})
	}
	return err
}

// markSent ends the sending state once every part was accepted.
func (r *run) markSent() error {
	p := r.p
	finished := false
	err := r.set(func(x *Record) (string, []op, error) {
		finished = false
		if x.State != StateSending {
			return "", nil, errNoChange
		}
		if x.outcomeKnown() {
			// A job report arrived before this write.
			x.State, x.FinishedAt = StateFinished, p.now()
			finished = true
			return "sent and reported", []op{opZRem()}, nil
		}
		x.State = StateSent
		after := p.outcomeAfter
		if x.hasPublish() && !x.hasMass() {
			after /= 5
		}
		return "waiting for WeChat's report", []op{opZAdd(p.now().Add(after))}, nil
	})
	if err == nil {
		p.notify(r.ctx, Notice{Kind: notify.Sent, Number: r.rec.Number, Reason: sentWhat(r.rec)})
	}
	if err == nil && finished {
		p.notifyFinished(r.ctx, r.rec)
		p.wantURLs(r.ctx, r.rec)
	}
	return err
}

// pin puts the broadcast issue into the chat's archive.
func (r *run) pin() {
	if r.p.arch == nil {
		return
	}
	iss, err := r.issue()
	if err == nil {
		err = r.p.arch.Pin(r.ctx, iss)
	}
	if err != nil {
		r.p.log.Warn("publisher: could not add the broadcast issue to the archive", slog.Int("issue", r.rec.Number), slog.Any("error", err))
	}
}

// pollOutcome asks WeChat for what no job report told: the mass send's
// status (message/mass/get) and the publication's (freepublish/get),
// within the bounds of poll.go.
func (r *run) pollOutcome() error {
	p := r.p
	rec := r.rec
	if rec.PollsStopped {
		return p.rdb.ZRem(r.ctx, p.keys.PublishSchedule(), strconv.Itoa(rec.Number)).Err()
	}
	var massStatus string
	asked, later := false, false // later: a daily limit stopped a poll
	if rec.hasMass() && rec.MassStatus == "" {
		massStatus, asked, later = r.pollMassStatus(rec)
	}
	var pub *wechat.PublishJobEvent
	if rec.hasPublish() && rec.PublishStep == PublishSubmitted {
		var a, l bool
		pub, a, l = r.pollPublishStatus(rec)
		asked, later = asked || a, later || l
	}
	var finished, failed, massFailed, stopped bool
	err := r.set(func(x *Record) (string, []op, error) {
		finished, failed, massFailed, stopped = false, false, false, false
		if x.State != StateSent {
			return "", nil, errNoChange
		}
		var notes []string
		if massStatus != "" && x.MassStatus == "" {
			massFailed = applyMassStatus(x, massStatus, p.now())
			notes = append(notes, "WeChat reports the mass send: "+massStatus)
		}
		if pub != nil {
			notes = append(notes, applyPublish(x, *pub))
		}
		if x.State == StateFailed { // WeChat did not send or publish it
			failed = true
			return strings.Join(notes, "; "), []op{opZRem()}, nil
		}
		if x.outcomeKnown() {
			x.State, x.FinishedAt = StateFinished, p.now()
			finished = true
			return strings.Join(notes, "; "), []op{opZRem()}, nil
		}
		if asked {
			x.Polls++
		}
		if x.Polls >= p.maxPolls {
			x.PollsStopped, stopped = true, true
			x.Explanation = fmt.Sprintf("WeChat sent no report and %d asks for the outcome told nothing: the outcome is unknown — check the platform (%s). "+
				"A report arriving later still completes the record.", x.Polls, adminRecord(x))
			notes = append(notes, "outcome unknown — polling stopped after "+fmt.Sprint(x.Polls)+" asks")
			return strings.Join(notes, "; "), []op{opZRem()}, nil
		}
		next := p.now().Add(p.pollDelay(x.Polls))
		if later {
			next = nextQuotaDay(p.now())
			notes = append(notes, "WeChat's daily limit for status calls is reached (45009 or wxbot's budget): asking again at "+p.fmtTime(next))
		}
		return strings.Join(notes, "; "), []op{opZAdd(next)}, nil
	})
	if err != nil {
		return err
	}
	if pub != nil && pub.Status == 0 {
		p.setURLs(r.ctx, r.rec.Number, r.rec.URLs)
	}
	p.wantURLs(r.ctx, r.rec) // urls.go: a mass send's outcome without its URLs
	switch {
	case massFailed:
		p.notify(r.ctx, Notice{Kind: notify.Failed, Number: r.rec.Number, Reason: r.rec.Explanation})
	case failed || (pub != nil && pub.Status >= 2):
		p.notify(r.ctx, Notice{Kind: notify.PublishFailed, Number: r.rec.Number, Reason: r.rec.PublishError})
	case stopped:
		p.notify(r.ctx, Notice{Kind: notify.Attention, Number: r.rec.Number, Reason: r.rec.Explanation})
	}
	if finished {
		p.notifyFinished(r.ctx, r.rec)
	}
	return nil
}

// pollMassStatus asks message/mass/get for rec's mass send, when the poll
// budget allows. It returns the status when WeChat gave a final one, whether
// WeChat was asked, and whether a daily limit stopped the ask.
func (r *run) pollMassStatus(rec *Record) (status string, asked, later bool) {
	p := r.p
	if rec.MsgID == 0 {
		return "accepted (WeChat gave no msg_id to ask about)", false, false
	}
	ok, spent := p.pollAllowed(r.ctx, "message/mass/get")
	if !ok {
		return "", false, spent
	}
	st, err := p.api.MassStatus(r.ctx, rec.MsgID)
	switch {
	case wechat.IsCode(err, wechat.CodeQuotaReached):
		return "", true, true
	case err != nil:
		p.log.Warn("publisher: ask for the mass send's status", slog.Int("issue", rec.Number), slog.Any("error", err))
	case st != "SENDING" && st != "":
		return st, true, spent
	}
	return "", true, spent
}

// pollPublishStatus asks freepublish/get for rec's publication, when the
// poll budget allows. It returns the event when the publication is no longer
// in progress, whether WeChat was asked, and whether a daily limit stopped
// the ask.
func (r *run) pollPublishStatus(rec *Record) (ev *wechat.PublishJobEvent, asked, later bool) {
	p := r.p
	if ok, spent := p.pollAllowed(r.ctx, "freepublish/get"); !ok {
		return nil, false, spent
	}
	got, err := p.api.GetPublish(r.ctx, rec.PublishID)
	switch {
	case wechat.IsCode(err, wechat.CodeQuotaReached):
		return nil, true, true
	case err != nil:
		p.log.Warn("publisher: ask for the publication's status", slog.Int("issue", rec.Number), slog.Any("error", err))
	case got.Status != 1:
		return &got, true, false
	}
	return nil, true, false
}

// adminRecord names the admin page listing a broadcast.
func adminRecord(x *Record) string {
	switch {
	case x.hasMass() && x.hasPublish():
		return "群发记录 and 发表记录"
	case x.hasPublish():
		return "发表记录"
	}
	return "群发记录"
}

// applyPublish records a publication outcome in x and returns a history note.
func applyPublish(x *Record, ev wechat.PublishJobEvent) string {
	switch ev.Status {
	case 0:
		x.PublishStep = PublishDone
		if len(ev.ArticleURLs) > 0 {
			x.URLs = slices.Clone(ev.ArticleURLs)
		}
		return fmt.Sprintf("WeChat published %d articles", len(ev.ArticleURLs))
	case 1:
		return "WeChat is still publishing"
	}
	expl := publishStatusText(ev.Status)
	if len(ev.FailIdx) > 0 {
		expl += fmt.Sprintf(" (articles %v)", ev.FailIdx)
	}
	x.PublishStep, x.PublishError = PublishFailed, expl
	if x.Mode == "publish" {
		x.State, x.Explanation = StateFailed, expl
	}
	return "publication failed: " + expl
}

func (p *Publisher) setURLs(ctx context.Context, n int, urls []string) {
	if p.arch == nil || len(urls) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.arch.SetURLs(ctx, n, urls); err != nil {
		p.log.Warn("publisher: could not record the article URLs in the archive", slog.Int("issue", n), slog.Any("error", err))
	}
}

func (p *Publisher) notifyFinished(ctx context.Context, r *Record) {
	p.notify(ctx, Notice{Kind: notify.Finished, Number: r.Number, Counts: notify.Counts{
		Mass: r.hasMass(), Sent: r.SentCount, Total: r.TotalCount, Errors: r.ErrorCount, Filtered: r.FilterCount, MassStatus: r.MassStatus,
		Publication: r.hasPublish(), Published: r.PublishStep == PublishDone, URLs: len(r.URLs), PublishError: r.PublishError,
	}})
}
