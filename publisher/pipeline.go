package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/wechat"
)

// Request asks the pipeline to take an issue file somewhere.
type Request struct {
	// File names the issue file in messages; relative image paths start
	// from its folder.
	File string
	Data []byte
	// Parsed is Data as the inbox parsed it, so it is not parsed again
	// (shared with the archive: read only); nil: Publish parses Data.
	Parsed *newsletter.Issue
	// Goal: GoalDraft, GoalSchedule (default) or GoalNow.
	Goal Goal
	// At is the broadcast time for GoalSchedule; zero means the next
	// publish.schedule slot (or the time already set for the issue).
	At time.Time
	// PreviewTo overrides publish.preview_to when not nil.
	PreviewTo []string
	// ToAll or Tag override publish.to_tag (empty: every follower).
	ToAll bool
	Tag   string
	// Force lets an issue whose earlier send has an unknown outcome be
	// sent again, once the editor checked on WeChat's admin page that it
	// did not go out.
	Force bool
	// Origin is "cli" (default), "inbox" or "admin" (the workbench).
	Origin string
	// By names who asked, for the issue's history (a user of the
	// workbench, cli:$USER); empty for the inbox and the scheduler.
	By string
	// action is what the history records the request as (ActionUploaded
	// unless a workbench action says otherwise).
	action string
}

// StepKind is what one step of a run did.
type StepKind string

// The steps a run reports, in pipeline order.
const (
	StepEdited        StepKind = "edited"         // IDs: the old and the new short content hash
	StepRendered      StepKind = "rendered"       // Count: articles
	StepUploaded      StepKind = "uploaded"       // Count: article images, Fresh: of them uploaded now; Detail "cached" when the cover was already uploaded
	StepDrafted       StepKind = "drafted"        // IDs[0]: the draft; Detail: DraftAdded, DraftUnchanged, DraftUpdated, DraftReplaced (IDs[1]: the draft replaced) or DraftPublishCopy; Count: articles
	StepPreviewed     StepKind = "previewed"      // IDs: the reviewers (openids or WeChat IDs) who got it
	StepPreviewFailed StepKind = "preview_failed" // IDs: the reviewers it failed for; Detail: errcode of the last failure, if any
	StepAwaiting      StepKind = "awaiting"       // waits for approval; At: due
	StepScheduled     StepKind = "scheduled"      // At: due (target and mode: the Result's Record)
	StepDeferred      StepKind = "deferred"       // publish.max_per_day used on Detail (the day): At is the next slot, Count the limit
	StepSent          StepKind = "sent"           // IDs: msg_id, clientmsgid; Detail "duplicate" when WeChat already had the clientmsgid (45065)
	StepPublished     StepKind = "published"      // IDs: publish_id (freepublish; URLs follow)
)

// StepKinds lists every step kind, for callers that word each one.
var StepKinds = []StepKind{StepEdited, StepRendered, StepUploaded, StepDrafted, StepPreviewed, StepPreviewFailed,
	StepAwaiting, StepScheduled, StepDeferred, StepSent, StepPublished}

// Outcomes lists every outcome, for callers that word each one.
var Outcomes = []Outcome{OutcomeScheduled, OutcomePending, OutcomeSent, OutcomeFinished, OutcomeDrafted, OutcomeAwaiting,
	OutcomeRejected, OutcomeFailed, OutcomeAlreadySent, OutcomeSendUnknown, OutcomeOther}

// Detail of a StepDrafted.
const (
	DraftAdded       = "added"
	DraftUnchanged   = "unchanged"
	DraftUpdated     = "updated"
	DraftReplaced    = "replaced"
	DraftPublishCopy = "publish_copy"
)

// Step is one thing a run did, as facts.
type Step struct {
	Kind   StepKind
	IDs    []string
	Detail string
	Count  int
	Fresh  int
	At     time.Time
}

// Outcome is where an issue stands after a run (the details are in the
// Result's Record).
type Outcome string

// Outcomes of a run.
const (
	OutcomeScheduled   Outcome = "scheduled"         // Record.Due
	OutcomePending     Outcome = "pending"           // the send is not confirmed yet; asked again with the same clientmsgid
	OutcomeSent        Outcome = "sent"              // accepted; WeChat reports shortly (Record.PollsStopped: it never did)
	OutcomeFinished    Outcome = "finished"          // WeChat reported (Record.MassStatus)
	OutcomeDrafted     Outcome = "drafted"           // drafted and previewed; nothing scheduled
	OutcomeAwaiting    Outcome = "awaiting_approval" // nothing is sent until approved
	OutcomeRejected    Outcome = "rejected"          // Record.RejectedBy, RejectReason
	OutcomeFailed      Outcome = "failed"            // Record.Explanation
	OutcomeAlreadySent Outcome = "already_sent"      // broadcast before: nothing sent now
	OutcomeSendUnknown Outcome = "send_unknown"      // an earlier send's outcome is unknown: nothing sent; Force sends it again
	OutcomeOther       Outcome = "other"             // another state (Record.State)
)

// Result is what a run did, for the editor.
type Result struct {
	Number int
	Record *Record
	// Steps lists what this run did.
	Steps []Step
	// Warnings are the parser's warnings, the renderer's notes and
	// preview failures.
	Warnings []string
	// Outcome says where the issue stands now.
	Outcome Outcome
	// AlreadySent is true when the issue had gone out before: nothing was sent.
	AlreadySent bool
	// Pending is true when a send is not confirmed yet and will be retried.
	Pending bool
}

// run is one pass of an issue through the pipeline under its lock.
type run struct {
	p   *Publisher
	ctx context.Context
	g   guard
	rec *Record
	iss *newsletter.Issue
	res *Result
	// by is who asked for the run (Request.By), for the history of the
	// steps it takes; empty for the scheduler.
	by string
	// coverRetried: the cover was uploaded again once this run after
	// WeChat no longer knew it (40007); a second 40007 fails the step.
	coverRetried bool
}

func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Publish takes an issue file through the pipeline to req.Goal, resuming
// from wherever an earlier run stopped. It is safe to repeat: a run for
// content already drafted does nothing new, an issue already sent is
// never sent again (the Result says so), and an edit after the send is
// refused with a *Refusal. Parse errors are returned as the parser's
// located errors (FILE:LINE: …) and nothing is written.
func (p *Publisher) Publish(ctx context.Context, req Request) (*Result, error) {
	if p.api == nil {
		return nil, errors.New("publisher: no WeChat API client configured")
	}
	if req.Goal == "" {
		req.Goal = GoalSchedule
	}
	if req.Origin == "" {
		req.Origin = "cli"
	}
	if req.action == "" {
		req.action = ActionUploaded
	}
	iss, warns, err := req.Parsed, []newsletter.Warning(nil), error(nil)
	if iss == nil {
		iss, warns, err = newsletter.Parse(req.File, req.Data)
	}
	if err != nil {
		return nil, err
	}
	if iss.Number <= 0 {
		return nil, fmt.Errorf("%s:1: no issue number (No.N) found", req.File)
	}
	if req.Tag != "" && p.cfg.Mode == "publish" {
		return nil, &Refusal{Reason: TagNeedsMass, Number: iss.Number, Detail: req.Tag}
	}
	hash := contentHash(req.Data)
	res := &Result{Number: iss.Number}
	for _, w := range warns {
		res.Warnings = append(res.Warnings, w.String())
	}
	lk, lctx, err := p.lockIssue(ctx, iss.Number, p.lockWait)
	if err != nil {
		return res, err
	}
	defer lk.release()

	r := &run{p: p, ctx: lctx, g: guard{lockToken: lk.token}, iss: iss, res: res, by: req.By}
	var verdict admission
	rec, err := p.update(lctx, r.g, iss.Number, func(x *Record) (string, []op, error) {
		note, ops, v, err := p.admit(x, req, hash)
		verdict = v
		return note, ops, err
	})
	res.Record = rec
	if err != nil {
		return res, err
	}
	r.rec = rec
	switch verdict.kind {
	case admitRefused:
		if verdict.newRefusal && req.Origin == "inbox" {
			p.notify(ctx, Notice{Kind: notify.Refused, Reason: verdict.note, File: req.File})
		}
		return res, verdict.refusal
	case admitDone:
		res.AlreadySent = true
		res.Outcome = verdict.outcome
		return res, nil
	}
	if len(verdict.steps) > 0 {
		res.Steps = append(res.Steps, verdict.steps...)
	}
	if err := r.advance(); err != nil {
		res.Record = r.rec
		return res, err
	}
	if r.rec.State == StateSending || (r.rec.State == StateScheduled && r.rec.Goal == GoalNow) {
		if err := r.send(); err != nil {
			res.Record = r.rec
			return res, err
		}
	}
	res.Record = r.rec
	res.Outcome = outcomeOf(r.rec)
	return res, nil
}

type admitKind int

const (
	admitProceed admitKind = iota
	admitDone              // already sent: nothing to do
	admitRefused           // an edit after the send
)

type admission struct {
	kind       admitKind
	refusal    *Refusal // admitRefused
	note       string   // admitRefused: the notice's words for the inbox's editors
	outcome    Outcome  // admitDone
	newRefusal bool
	steps      []Step
}

// admit decides what a request means for the issue's current record and
// prepares the record for the run. It is a mutation: it may be applied
// more than once, to fresh copies, when another writer intervenes.
func (p *Publisher) admit(x *Record, req Request, hash string) (string, []op, admission, error) {
	now := p.now()
	dir, _ := filepath.Abs(filepath.Dir(req.File))
	if x.State == "" {
		return p.admitNew(x, req, hash, dir)
	}
	if x.sendStarted() && !(req.Force && x.State == StateFailed && x.Broadcast == BroadcastMaybe) {
		return p.admitAfterSend(x, hash)
	}
	return p.admitAgain(x, req, hash, dir, now)
}

// admitNew starts the record of an issue the pipeline has not seen.
func (p *Publisher) admitNew(x *Record, req Request, hash, dir string) (string, []op, admission, error) {
	var v admission
	x.State = StateParsed
	x.Origin = req.Origin
	x.File, x.Dir, x.Source = req.File, dir, req.Data
	x.ContentHash, x.ClientMsgID = hash, clientMsgID(x.Number, hash)
	x.Broadcast = BroadcastNone
	p.applyRequest(x, req, true)
	x.act = audit{Action: req.action, By: req.By}
	return fmt.Sprintf("from %s (content %s)", req.File, short(hash)), nil, v, nil
}

// admitAfterSend is a request for an issue whose send started: nothing to
// do, a send to resume, or an edit refused.
func (p *Publisher) admitAfterSend(x *Record, hash string) (string, []op, admission, error) {
	var v admission
	when := p.fmtTime(firstNonZero(x.SentAt, x.SendStarted))
	if x.ContentHash != hash {
		v.kind = admitRefused
		v.refusal = p.at(p.refusal(EditAfterSend, x.Number, x), firstNonZero(x.SentAt, x.SendStarted))
		v.refusal.Detail = short(hash)
		// The inbox's notice (notify words it; the reason is a fact line).
		v.note = fmt.Sprintf("No.%d was already broadcast (%s, state %s): the edited file (content %s) is not sent; "+
			"corrections go out as a new issue.", x.Number, when, x.State, short(hash))
		if x.State == StateFailed && x.Broadcast == BroadcastMaybe {
			v.refusal.Reason = EditMaybeSent
			v.note = fmt.Sprintf("No.%d may have been broadcast (%s; outcome unknown): the edited file (content %s) is not sent; "+
				"check WeChat's admin page.", x.Number, when, short(hash))
		}
		if x.RefusedHash == hash {
			return "", nil, v, errNoChange
		}
		v.newRefusal = true
		x.RefusedHash = hash
		return fmt.Sprintf("edited file (content %s) refused: the issue was already sent", short(hash)), nil, v, nil
	}
	switch x.State {
	case StateSending:
		// An unfinished send: this run resumes it, with the same clientmsgid.
		return "", nil, v, errNoChange
	case StateFailed:
		v.kind, v.outcome = admitDone, OutcomeSendUnknown
		return "", nil, v, errNoChange
	}
	v.kind, v.outcome = admitDone, OutcomeAlreadySent
	return "", nil, v, errNoChange
}

// admitAgain is a request for an issue not sent yet (or forced after an
// unknown outcome): the record takes the edit and the request's choices, and
// goes back to the step they undo.
func (p *Publisher) admitAgain(x *Record, req Request, hash, dir string, now time.Time) (string, []op, admission, error) {
	var v admission
	var notes []string
	var ops []op
	if req.Force && x.State == StateFailed && x.Broadcast == BroadcastMaybe {
		notes = append(notes, "forced: the editor checked the earlier send did not go out")
		x.Broadcast = BroadcastNone
		x.SendStarted, x.SendAttempts, x.Unanswered, x.AttemptOpen, x.QuotaDay = time.Time{}, 0, false, false, ""
	}
	if req.Origin != "inbox" && x.Origin == "inbox" && x.File != req.File {
		x.Origin = req.Origin
	}
	x.act = audit{Action: req.action, By: req.By}
	if x.ContentHash != hash {
		notes = append(notes, fmt.Sprintf("edited: content %s → %s; the draft is updated and previewed again", short(x.ContentHash), short(hash)))
		v.steps = append(v.steps, Step{Kind: StepEdited, IDs: []string{short(x.ContentHash), short(hash)}})
		x.File, x.Dir, x.Source = req.File, dir, req.Data
		x.ContentHash, x.ClientMsgID = hash, clientMsgID(x.Number, hash)
		if x.State == StateScheduled {
			ops = append(ops, opZRem())
		}
		x.State = StateParsed
	}
	switch x.State {
	case StateFailed, StateCancelled, StateRejected:
		notes = append(notes, "run again")
		x.State = StateParsed
	}
	x.ErrCode, x.Error, x.Explanation = 0, "", ""
	before := x.clone()
	p.applyRequest(x, req, false)
	if !slices.Equal(before.PreviewTo, x.PreviewTo) && x.State.rank() > StateDrafted.rank() {
		// New reviewers get the draft before it goes out.
		if x.State == StateScheduled {
			ops = append(ops, opZRem())
		}
		x.State = StateDrafted
	}
	if before.Tag != x.Tag || before.ToAll != x.ToAll {
		x.TagID = 0
	}
	if !req.At.IsZero() && !before.Due.Equal(x.Due) && x.State != StateScheduled {
		notes = append(notes, "due "+p.fmtTime(x.Due))
	}
	gnotes, gops := p.admitGoal(x, req, now)
	return strings.Join(append(notes, gnotes...), "; "), append(ops, gops...), v, nil
}

// admitGoal moves an awaiting or scheduled record to where its goal puts
// it: previewed for a draft only, due now for a send now, or rescheduled.
func (p *Publisher) admitGoal(x *Record, req Request, now time.Time) (notes []string, ops []op) {
	if x.State == StateAwaiting {
		switch {
		case x.Goal == GoalDraft:
			x.State = StatePreviewed
		case x.Goal == GoalNow:
			x.Due = now
		}
	}
	if x.State == StateScheduled {
		switch {
		case x.Goal == GoalDraft:
			x.State = StatePreviewed
			ops = append(ops, opZRem())
			notes = append(notes, "unscheduled (draft only)")
		case x.Goal == GoalNow:
			x.Due = now
			ops = append(ops, opZAdd(now))
		case !req.At.IsZero():
			ops = append(ops, opZAdd(x.Due))
			notes = append(notes, "rescheduled for "+p.fmtTime(x.Due))
		}
	}
	return notes, ops
}

// applyRequest copies the request's choices (goal, target, reviewers,
// time) and the configuration's mode into the record. Target and
// reviewers not given keep what an earlier run chose; a new record takes
// them from the configuration.
func (p *Publisher) applyRequest(x *Record, req Request, fresh bool) {
	// The inbox never lowers a goal an editor set (an issue scheduled with
	// wxbot publish stays scheduled when its inbox file is edited).
	if fresh || req.Origin != "inbox" || goalRank(req.Goal) >= goalRank(x.Goal) {
		x.Goal = req.Goal
	}
	x.Mode = p.cfg.Mode
	switch {
	case req.ToAll:
		x.ToAll, x.Tag = true, ""
	case req.Tag != "":
		x.ToAll, x.Tag = false, req.Tag
	case !fresh:
	case p.cfg.ToTag != "":
		x.ToAll, x.Tag = false, p.cfg.ToTag
	default:
		x.ToAll, x.Tag = true, ""
	}
	switch {
	case req.PreviewTo != nil:
		x.PreviewTo = slices.Clone(req.PreviewTo)
	case fresh:
		x.PreviewTo = slices.Clone(p.cfg.PreviewTo)
	}
	if p.approvalRequired() {
		// Approvers approve by replying to the preview they received.
		for _, a := range p.cfg.Approvers {
			if !slices.Contains(x.PreviewTo, a) {
				x.PreviewTo = append(x.PreviewTo, a)
			}
		}
	}
	if !req.At.IsZero() {
		x.Due = req.At
	}
}

func goalRank(g Goal) int {
	switch g {
	case GoalDraft:
		return 1
	case GoalSchedule:
		return 2
	case GoalNow:
		return 3
	}
	return 0
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// prepStep is the preparation step a record needs next (nextStep).
type prepStep uint8

const (
	prepDone prepStep = iota // the goal is reached, or nothing prepares this state
	prepRender
	prepUpload
	prepDraft
	prepPreview
	prepSchedule
)

// nextStep decides, from the record alone, what advance does next: the
// step that moves rec towards its goal, or prepDone.
func nextStep(rec *Record) prepStep {
	if rec.goalReached() {
		return prepDone
	}
	switch rec.State {
	case StateParsed:
		return prepRender
	case StateRendered:
		return prepUpload
	case StateUploaded:
		return prepDraft
	case StateDrafted, StatePreviewed:
		if !rec.previewsDone() {
			return prepPreview
		}
		return prepSchedule
	}
	return prepDone
}

// advance runs the preparation steps until the record reaches its goal.
func (r *run) advance() error {
	for i := 0; i < 20; i++ {
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		var err error
		switch nextStep(r.rec) {
		case prepRender:
			err = r.stepRender()
		case prepUpload:
			err = r.stepUpload()
		case prepDraft:
			err = r.stepDraft()
		case prepPreview:
			err = r.stepPreview()
		case prepSchedule:
			err = r.stepSchedule()
		default:
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("publisher: issue %d: the pipeline did not settle (state %s)", r.rec.Number, r.rec.State)
}

// set commits a mutation of the run's record under the run's guard.
func (r *run) set(mut mutation) error {
	rec, err := r.p.update(r.ctx, r.g, r.rec.Number, mut)
	if rec != nil {
		r.rec = rec
	}
	return err
}

func (r *run) step(s Step) { r.res.Steps = append(r.res.Steps, s) }

// transient reports whether a failed step may succeed when tried again
// later as it is: WeChat busy or unreachable, a refused token, or a
// refusal the errcode table marks temporary (45009, 45066, 53501).
func transient(err error) bool {
	return wechat.Retryable(err) || wechat.TokenInvalid(err) || wechat.Temporary(err)
}

// fail records a failed preparation step. A transient failure leaves the
// issue where it was (a later run or the scheduler's sweep retries); any
// other ends the run in state failed, with an explanation, and tells the
// editors.
func (r *run) fail(step string, err error) error {
	if r.ctx.Err() != nil || errors.Is(err, errLockLost) || errors.Is(err, errFenced) {
		return err
	}
	code, _ := wechat.CodeOf(err)
	expl := explain(code, err)
	if transient(err) {
		werr := r.set(func(x *Record) (string, []op, error) {
			x.ErrCode, x.Error, x.Explanation = code, err.Error(), expl
			return step + " failed, will be retried: " + expl, nil, nil
		})
		r.p.log.Warn("publisher: step failed, will retry", slog.Int("issue", r.rec.Number), slog.String("step", step), slog.Any("error", err))
		return errors.Join(fmt.Errorf("publisher: No.%d: %s: %w (state stays %s; retried by a later run or the scheduler)", r.rec.Number, step, err, r.rec.State), werr)
	}
	werr := r.set(func(x *Record) (string, []op, error) {
		x.State = StateFailed
		x.ErrCode, x.Error, x.Explanation = code, err.Error(), expl
		return step + " failed: " + expl, []op{opZRem()}, nil
	})
	r.p.notify(r.ctx, Notice{Kind: notify.Failed, Number: r.rec.Number, Step: step, Reason: expl, Status: true})
	return errors.Join(fmt.Errorf("publisher: No.%d: %s: %w", r.rec.Number, step, err), werr)
}

// issue is the run's parsed issue, parsed again from the stored source
// when the run was resumed from Redis.
func (r *run) issue() (*newsletter.Issue, error) {
	if r.iss != nil {
		return r.iss, nil
	}
	iss, _, err := newsletter.Parse(r.rec.File, r.rec.Source)
	if err != nil {
		return nil, fmt.Errorf("publisher: No.%d: the stored source no longer parses: %w", r.rec.Number, err)
	}
	r.iss = iss
	return iss, nil
}

func (r *run) stepRender() error {
	iss, err := r.issue()
	if err != nil {
		return r.fail("parse", err)
	}
	d, _, err := render.Render(iss, r.p.renderOptions(nil))
	if err != nil {
		return r.fail("render", err)
	}
	r.step(Step{Kind: StepRendered, Count: len(d.Articles)})
	return r.set(func(x *Record) (string, []op, error) {
		x.State = StateRendered
		x.Articles = len(d.Articles)
		return fmt.Sprintf("%d %s", len(d.Articles), plural(len(d.Articles), "article", "articles")), nil, nil
	})
}

func (r *run) stepUpload() error {
	iss, err := r.issue()
	if err != nil {
		return r.fail("parse", err)
	}
	cover, cached, err := r.cover(iss)
	if err != nil {
		return r.fail("upload cover", err)
	}
	images := map[string]string{}
	fresh := 0
	for _, src := range render.ImageSources(iss) {
		url, hit, err := r.image(src)
		if err != nil {
			return r.fail("upload image", err)
		}
		images[src] = url
		if !hit {
			fresh++
		}
	}
	st := Step{Kind: StepUploaded, IDs: []string{cover}, Count: len(images), Fresh: fresh}
	if cached {
		st.Detail = "cached"
	}
	r.step(st)
	return r.set(func(x *Record) (string, []op, error) {
		x.State = StateUploaded
		x.CoverMediaID = cover
		x.Images = images
		return fmt.Sprintf("cover %s, %d images", cover, len(images)), nil, nil
	})
}

// articles renders the final articles, with uploaded images and the cover.
func (r *run) articles() ([]wechat.Article, []string, error) {
	iss, err := r.issue()
	if err != nil {
		return nil, nil, err
	}
	d, notes, err := render.Render(iss, r.p.renderOptions(r.rec.Images))
	if err != nil {
		return nil, notes, err
	}
	return draftArticles(d, r.rec.CoverMediaID), notes, nil
}

func draftHash(arts []wechat.Article) string {
	b, _ := json.Marshal(arts)
	return contentHash(b)
}

func (r *run) stepDraft() error {
	arts, notes, err := r.articles()
	if err != nil {
		return r.fail("render", err)
	}
	r.res.Warnings = append(r.res.Warnings, notes...)
	h := draftHash(arts)
	rec := r.rec
	needPublishCopy := rec.Mode == "both"
	switch {
	case rec.DraftMediaID != "" && rec.DraftHash == h && (!needPublishCopy || rec.PublishDraft != ""):
		r.step(Step{Kind: StepDrafted, IDs: []string{rec.DraftMediaID}, Detail: DraftUnchanged, Count: rec.DraftCount})
		return r.set(func(x *Record) (string, []op, error) {
			x.State, x.Notes = StateDrafted, notes
			return "draft unchanged", nil, nil
		})
	case rec.DraftMediaID != "" && rec.DraftCount == len(arts):
		updated, err := r.updateDraft(rec.DraftMediaID, arts)
		if err != nil {
			return r.fail("update draft", err)
		}
		pubUpdated := true
		if needPublishCopy && rec.PublishDraft != "" {
			if pubUpdated, err = r.updateDraft(rec.PublishDraft, arts); err != nil {
				return r.fail("update draft", err)
			}
		}
		if updated && pubUpdated {
			r.step(Step{Kind: StepDrafted, IDs: []string{rec.DraftMediaID}, Detail: DraftUpdated, Count: len(arts)})
			if err := r.set(func(x *Record) (string, []op, error) {
				x.DraftHash, x.Notes = h, notes
				return "draft " + x.DraftMediaID + " updated", nil, nil
			}); err != nil {
				return err
			}
			// addDraft adds only what is missing: the publication copy, if any.
			return r.addDraft(arts, h, notes)
		}
		// The draft is gone from the drafts box (deleted on the admin page):
		// a new one is added below.
		fallthrough
	default:
		return r.addDraft(arts, h, notes)
	}
}

// updateDraft overwrites a draft's articles in place. It reports false
// when the draft no longer exists.
func (r *run) updateDraft(mediaID string, arts []wechat.Article) (bool, error) {
	if err := r.set(func(x *Record) (string, []op, error) {
		return "updating draft " + mediaID, nil, nil
	}); err != nil {
		return false, err
	}
	for i, a := range arts {
		if err := r.p.api.UpdateDraft(r.ctx, mediaID, i, a); err != nil {
			if wechat.IsCode(err, wechat.CodeInvalidMediaID) && i == 0 {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}

// addDraft adds a new draft (and, in mode both, the copy freepublish
// consumes), then deletes the drafts it replaces.
func (r *run) addDraft(arts []wechat.Article, h string, notes []string) error {
	rec := r.rec
	fresh := rec.DraftHash != h || rec.DraftMediaID == ""
	if fresh {
		id, err := r.p.api.AddDraft(r.ctx, arts)
		if wechat.IsCode(err, wechat.CodeInvalidMediaID) && rec.CoverMediaID != "" && !r.coverRetried {
			r.coverRetried = true
			// The cached cover is no longer a material (deleted on the admin
			// page): forget it and upload again.
			r.forgetCover()
			return r.set(func(x *Record) (string, []op, error) {
				x.State, x.CoverMediaID = StateRendered, ""
				return "the cover material is gone; uploading it again", nil, nil
			})
		}
		if err != nil {
			return r.fail("add draft", err)
		}
		old := rec.DraftMediaID
		if err := r.set(func(x *Record) (string, []op, error) {
			if x.DraftMediaID != "" && x.DraftMediaID != id {
				x.StaleDrafts = appendUnique(x.StaleDrafts, x.DraftMediaID)
			}
			if x.PublishDraft != "" {
				x.StaleDrafts = appendUnique(x.StaleDrafts, x.PublishDraft)
				x.PublishDraft = ""
			}
			x.DraftMediaID, x.DraftHash, x.DraftCount, x.Notes = id, h, len(arts), notes
			if x.Mode != "both" {
				x.State = StateDrafted // replaced drafts are deleted next, as tidying
			}
			return "draft " + id + " added", nil, nil
		}); err != nil {
			return err
		}
		if old != "" {
			r.step(Step{Kind: StepDrafted, IDs: []string{id, old}, Detail: DraftReplaced, Count: len(arts)})
		} else {
			r.step(Step{Kind: StepDrafted, IDs: []string{id}, Detail: DraftAdded, Count: len(arts)})
		}
	}
	if r.rec.Mode == "both" && r.rec.PublishDraft == "" {
		id, err := r.p.api.AddDraft(r.ctx, arts)
		if err != nil {
			return r.fail("add draft", err)
		}
		if err := r.set(func(x *Record) (string, []op, error) {
			x.PublishDraft = id
			return "publication copy " + id + " added", nil, nil
		}); err != nil {
			return err
		}
		r.step(Step{Kind: StepDrafted, IDs: []string{id}, Detail: DraftPublishCopy, Count: len(arts)})
	}
	for _, stale := range r.rec.StaleDrafts {
		err := r.p.api.DeleteDraft(r.ctx, stale)
		if err != nil && !wechat.IsCode(err, wechat.CodeInvalidMediaID) {
			// An old draft left in the drafts box is untidy, not harmful.
			r.p.log.Warn("publisher: could not delete a replaced draft", slog.Int("issue", r.rec.Number), slog.String("media_id", stale), slog.Any("error", err))
			continue
		}
		if err := r.set(func(x *Record) (string, []op, error) {
			x.StaleDrafts = slices.DeleteFunc(x.StaleDrafts, func(s string) bool { return s == stale })
			return "replaced draft " + stale + " deleted", nil, nil
		}); err != nil {
			return err
		}
	}
	return r.set(func(x *Record) (string, []op, error) {
		x.State = StateDrafted
		return "", nil, nil
	})
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// resolveTarget finds the WeChat tag id of the record's target tag.
func (r *run) resolveTarget() error {
	rec := r.rec
	if rec.Mode == "publish" || rec.ToAll || rec.Tag == "" || rec.TagID != 0 {
		return nil
	}
	tags, err := r.p.api.Tags(r.ctx)
	if err != nil {
		return r.fail("look up tag", err)
	}
	var names []string
	for _, t := range tags {
		if t.Name == rec.Tag {
			return r.set(func(x *Record) (string, []op, error) {
				x.TagID = t.ID
				return fmt.Sprintf("target: tag %q (id %d, %d followers)", t.Name, t.ID, t.Count), nil, nil
			})
		}
		names = append(names, t.Name)
	}
	return r.fail("look up tag", &Refusal{Reason: TagUnknown, Number: rec.Number, State: rec.State, Detail: rec.Tag, Tags: names})
}

func (r *run) stepPreview() error {
	rec := r.rec
	if rec.PreviewedHash != rec.DraftHash {
		if err := r.set(func(x *Record) (string, []op, error) {
			x.PreviewedHash, x.Previewed, x.PreviewErrors = x.DraftHash, nil, nil
			return "", nil, nil
		}); err != nil {
			return err
		}
	}
	var sent, failed, failedIDs []string
	lastCode := 0
	for _, openid := range r.rec.PreviewTo {
		if slices.Contains(r.rec.Previewed, openid) || hasPrefixIn(r.rec.PreviewErrors, openid+":") {
			continue
		}
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		_, perr := r.p.api.Preview(r.ctx, openid, r.rec.DraftMediaID)
		if perr != nil && r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		code, _ := wechat.CodeOf(perr)
		why := explain(code, perr)
		if err := r.set(func(x *Record) (string, []op, error) {
			if perr == nil {
				x.Previewed = appendUnique(x.Previewed, openid)
				return "", nil, nil
			}
			// A preview is not retried: a lost answer may mean the reviewer has it.
			x.PreviewErrors = append(x.PreviewErrors, openid+": "+why)
			return "preview to " + openid + " failed: " + why, nil, nil
		}); err != nil {
			return err
		}
		if perr != nil {
			failed = append(failed, openid+" ("+why+")")
			failedIDs = append(failedIDs, openid)
			if code != 0 {
				lastCode = code
			}
			r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("preview to %s failed: %s", openid, why))
		} else {
			sent = append(sent, openid)
		}
	}
	if len(sent) > 0 {
		r.step(Step{Kind: StepPreviewed, IDs: sent})
	}
	if len(failed) > 0 {
		st := Step{Kind: StepPreviewFailed, IDs: failedIDs}
		if lastCode != 0 {
			st.Detail = strconv.Itoa(lastCode)
		}
		r.step(st)
		r.p.notify(r.ctx, Notice{Kind: notify.PreviewFailed, Number: r.rec.Number, Reason: strings.Join(failed, "; ")})
	}
	return r.set(func(x *Record) (string, []op, error) {
		x.State = StatePreviewed
		return fmt.Sprintf("previewed to %d of %d reviewers", len(x.Previewed), len(x.PreviewTo)), nil, nil
	})
}

func (r *run) stepSchedule() error {
	if err := r.resolveTarget(); err != nil {
		return err
	}
	now := r.p.now()
	due := r.rec.Due
	switch {
	case r.rec.Goal == GoalNow:
		due = now
	case due.IsZero():
		due = r.p.NextSlot(now)
	}
	target := r.p.describeTarget(r.rec)
	if r.p.needsApproval(r.rec) {
		r.step(Step{Kind: StepAwaiting, At: due.In(r.p.loc)})
		err := r.set(func(x *Record) (string, []op, error) {
			x.State, x.Due = StateAwaiting, due
			return fmt.Sprintf("waits for approval; due %s, %s", r.p.fmtTime(due), target), []op{opZRem()}, nil
		})
		if err == nil {
			r.p.notify(r.ctx, Notice{Kind: notify.AwaitingApproval, Number: r.rec.Number, When: due})
		}
		return err
	}
	if r.rec.Goal != GoalNow {
		r.step(Step{Kind: StepScheduled, At: due.In(r.p.loc)})
	}
	err := r.set(func(x *Record) (string, []op, error) {
		x.State, x.Due = StateScheduled, due
		if x.Goal != GoalNow {
			x.act = audit{Action: ActionScheduled, By: r.by}
		}
		return fmt.Sprintf("for %s, %s, mode %s", r.p.fmtTime(due), target, x.Mode), []op{opZAdd(due)}, nil
	})
	if err == nil && r.rec.Goal != GoalNow {
		r.p.notify(r.ctx, Notice{Kind: notify.Scheduled, Number: r.rec.Number, When: due, Reason: target})
	}
	return err
}

func (p *Publisher) describeTarget(r *Record) string {
	switch {
	case r.Mode == "publish":
		return "published on the account (no notification)"
	case r.ToAll || r.Tag == "":
		return "to all followers"
	}
	return fmt.Sprintf("to tag %q", r.Tag)
}

// outcomeOf says where an issue stands at the end of a run.
func outcomeOf(r *Record) Outcome {
	switch r.State {
	case StateScheduled:
		return OutcomeScheduled
	case StateSending:
		return OutcomePending
	case StateSent:
		return OutcomeSent
	case StateFinished:
		return OutcomeFinished
	case StateDrafted, StatePreviewed:
		return OutcomeDrafted
	case StateAwaiting:
		return OutcomeAwaiting
	case StateRejected:
		return OutcomeRejected
	case StateFailed:
		return OutcomeFailed
	}
	return OutcomeOther
}

func sentWhat(r *Record) string {
	var parts []string
	if r.MsgID != 0 {
		parts = append(parts, fmt.Sprintf("msg_id %d", r.MsgID))
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

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
