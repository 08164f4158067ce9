package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/store"
)

// State is where an issue stands in the pipeline.
type State string

// The pipeline's states, in order. An issue moves forward through them;
// an edit before the send moves it back to parsed (its draft is then
// updated, not duplicated); failed and cancelled end a run.
const (
	StateParsed    State = "parsed"            // the file parsed; its source is kept here
	StateRendered  State = "rendered"          // the articles rendered (a check: nothing is sent yet)
	StateUploaded  State = "uploaded"          // cover and article images uploaded to WeChat
	StateDrafted   State = "drafted"           // the WeChat draft holds the articles
	StatePreviewed State = "previewed"         // reviewers got the draft on their phones
	StateAwaiting  State = "awaiting_approval" // publish.approval: required, and this content is not approved yet
	StateScheduled State = "scheduled"         // waiting for its slot
	StateSending   State = "sending"           // the broadcast was (or is being) asked of WeChat
	StateSent      State = "sent"              // WeChat accepted the broadcast
	StateFinished  State = "finished"          // WeChat reported the broadcast's outcome
	StateFailed    State = "failed"            // stopped; Error and Explanation say why
	StateCancelled State = "cancelled"         // unscheduled with `wxbot cancel`
	StateRetracted State = "retracted"         // withdrawn from WeChat after the send (`wxbot retract`)
	StateRejected  State = "rejected"          // an approver rejected this content (with a reason)
)

// States lists the states in pipeline order, for documentation and metrics.
var States = []State{StateParsed, StateRendered, StateUploaded, StateDrafted, StatePreviewed, StateAwaiting,
	StateScheduled, StateSending, StateSent, StateFinished, StateFailed, StateCancelled, StateRejected, StateRetracted}

// forward are the states an issue moves forward through.
var forward = States[:10]

// rank orders the forward states; failed, cancelled, rejected and
// retracted are outside.
func (s State) rank() int {
	if i := slices.Index(forward, s); i >= 0 {
		return i
	}
	return -1
}

// Goal is how far a run should take an issue.
type Goal string

// Goals.
const (
	GoalDraft    Goal = "draft"    // draft and preview, then stop (--draft-only, publish.auto: draft)
	GoalSchedule Goal = "schedule" // then wait for the slot (the default)
	GoalNow      Goal = "now"      // then send at once (--now)
)

// Broadcast says whether WeChat may have sent an issue to subscribers. It
// is what makes a re-run safe: an issue whose broadcast is not "none" is
// never prepared or sent again.
const (
	BroadcastNone  = "none"  // certainly not sent
	BroadcastMaybe = "maybe" // a send was asked; WeChat's answer is not known yet
	BroadcastYes   = "yes"   // WeChat accepted it
)

// Publish sub-steps of the publish and both modes (freepublish).
const (
	PublishSubmitting = "submitting" // submit asked, answer not recorded
	PublishSubmitted  = "submitted"  // WeChat accepted: publish_id known
	PublishDone       = "published"  // WeChat reported success: URLs known
	PublishFailed     = "failed"     // WeChat refused or reported failure
	PublishUnknown    = "unknown"    // no answer to submit: check the admin page
)

// Transition is one line of an issue's history.
type Transition struct {
	State State     `json:"state"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
	// By is who asked (a workbench user, cli:$USER, an approver's
	// openid); empty for the pipeline's own steps.
	By string `json:"by,omitempty"`
	// Action is what was asked (ActionUploaded, ActionApproved, …);
	// empty for the pipeline's own steps.
	Action string `json:"action,omitempty"`
}

// maxHistory bounds the history kept per issue.
const maxHistory = 30

// Record is the pipeline state of one issue, as kept in its Redis hash
// (store.Keys.PublishIssue), one field per JSON name (record.go). Every
// change goes through Publisher.update, which writes it atomically if
// nobody changed it meanwhile (Rev), the writer still holds the issue's
// lock and, for the scheduler, still leads.
type Record struct {
	Number int    `json:"number"`
	State  State  `json:"state"`
	Goal   Goal   `json:"goal"`
	Mode   string `json:"mode"` // mass | publish | both
	// Origin is cli or inbox: the inbox never overrides an issue published
	// from another file.
	Origin string `json:"origin"`
	File   string `json:"file"`
	// Dir is the folder of the issue file: relative image paths start there.
	Dir         string `json:"-" redis:"dir"`
	Source      []byte `json:"-" redis:"source"`
	ContentHash string `json:"content_hash"`
	// ClientMsgID is derived from the number and the content hash; it
	// makes the mass send exactly-once for 24 h.
	ClientMsgID string `json:"clientmsgid"`

	ToAll     bool     `json:"to_all"`
	Tag       string   `json:"tag,omitempty"`
	TagID     int      `json:"tag_id,omitempty"`
	PreviewTo []string `json:"preview_to,omitempty"`

	Articles      int               `json:"articles,omitempty"`
	Notes         []string          `json:"notes,omitempty"`
	CoverMediaID  string            `json:"cover_media_id,omitempty"`
	Images        map[string]string `json:"images,omitempty"`
	DraftMediaID  string            `json:"draft_media_id,omitempty"`
	DraftHash     string            `json:"draft_hash,omitempty"`
	PublishDraft  string            `json:"publish_draft_media_id,omitempty"` // mode both: the copy freepublish consumes
	StaleDrafts   []string          `json:"stale_drafts,omitempty"`           // replaced drafts still to delete
	PreviewedHash string            `json:"previewed_hash,omitempty"`
	Previewed     []string          `json:"previewed,omitempty"`
	PreviewErrors []string          `json:"preview_errors,omitempty"`

	DraftCount   int       `json:"draft_articles,omitempty"`
	Due          time.Time `json:"due,omitzero"`
	SendStarted  time.Time `json:"send_started,omitzero"`
	SendAttempts int       `json:"send_attempts,omitempty"`
	// Unanswered is set when a send attempt got no answer: WeChat may
	// have sent it, so a later refusal does not prove it was not sent.
	Unanswered bool `json:"unanswered,omitempty"`
	// AttemptOpen is set just before a send is asked and cleared when its
	// answer is recorded: found set, the previous attempt's outcome is unknown.
	AttemptOpen bool      `json:"attempt_open,omitempty"`
	QuotaDay    string    `json:"quota_day,omitempty"` // the day this send counts against publish.max_per_day
	Broadcast   string    `json:"broadcast"`
	SentAt      time.Time `json:"sent_at,omitzero"`
	MsgID       int64     `json:"msg_id,omitempty"`
	MsgDataID   int64     `json:"msg_data_id,omitempty"`
	Duplicate   bool      `json:"duplicate,omitempty"` // WeChat answered 45065: the send had already happened

	PublishStep string `json:"publish_step,omitempty"`
	// PublishAttempts counts submits WeChat refused for now (53501, -1):
	// at maxPublishAttempts the publication fails.
	PublishAttempts int      `json:"publish_attempts,omitempty"`
	PublishID       string   `json:"publish_id,omitempty"`
	PublishError    string   `json:"publish_error,omitempty"`
	URLs            []string `json:"urls,omitempty"`

	// Polls counts the asks for an outcome no job report told (mass/get,
	// freepublish/get); PollsStopped is set when they ran out.
	Polls        int  `json:"polls,omitempty"`
	PollsStopped bool `json:"polls_stopped,omitempty"`
	// URLAsks counts the look-ups of a mass send's article URLs in the
	// published list when its report carried none (urls.go); URLsUnknown
	// is set when they ran out.
	URLAsks     int  `json:"url_asks,omitempty"`
	URLsUnknown bool `json:"urls_unknown,omitempty"`

	MassStatus  string    `json:"mass_status,omitempty"` // WeChat's Status of MASSSENDJOBFINISH or msg_status
	TotalCount  int       `json:"total_count,omitempty"`
	FilterCount int       `json:"filter_count,omitempty"`
	SentCount   int       `json:"sent_count,omitempty"`
	ErrorCount  int       `json:"error_count,omitempty"`
	ReportedAt  time.Time `json:"reported_at,omitzero"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`

	ErrCode     int    `json:"errcode,omitempty"`
	Error       string `json:"error,omitempty"`
	Explanation string `json:"explanation,omitempty"`
	// RefusedHash is the content of an edit refused after the send, so the
	// editor is told once per edit.
	RefusedHash string `json:"refused_hash,omitempty"`

	// Approval (publish.approval: required): the content approved (its
	// ContentHash), by whom and when; or the rejection with its reason.
	ApprovedHash string    `json:"approved_hash,omitempty"`
	ApprovedBy   string    `json:"approved_by,omitempty"`
	ApprovedAt   time.Time `json:"approved_at,omitzero"`
	RejectedBy   string    `json:"rejected_by,omitempty"`
	RejectReason string    `json:"reject_reason,omitempty"`

	// Retracted lists what was withdrawn from WeChat (1-based articles, 0
	// for the whole issue), when and by whom.
	Retracted   []int     `json:"retracted,omitempty"`
	RetractedAt time.Time `json:"retracted_at,omitzero"`
	RetractedBy string    `json:"retracted_by,omitempty"`

	History []Transition `json:"history"`
	Created time.Time    `json:"created,omitzero"`
	Updated time.Time    `json:"updated,omitzero"`
	Rev     int64        `json:"rev"`

	// legacy holds the fields read under an older name (record.go's
	// aliases), so the next write moves them to the current one.
	legacy map[string]string
	// act is the action a mutation records in the history (actions.go).
	act audit
}

// visible reports whether subscribers may see the issue in the chat: only
// once WeChat accepted its broadcast (mass send or publication), and not
// after it was retracted.
func (r *Record) visible() bool {
	if r.State == StateRetracted {
		return false
	}
	return r.Broadcast == BroadcastYes || r.PublishStep == PublishDone
}

// withheldWhy is why an issue that is not visible is withheld.
func (r *Record) withheldWhy() string {
	if r.State == StateRetracted {
		return archive.WithheldRetracted
	}
	return archive.WithheldUnsent
}

// goalReached reports whether the run has taken the issue as far as its goal.
func (r *Record) goalReached() bool {
	switch r.State {
	case StateFailed, StateCancelled, StateRetracted, StateRejected, StateAwaiting:
		return true
	}
	if r.State.rank() >= StateScheduled.rank() {
		return true
	}
	return r.Goal == GoalDraft && r.State.rank() >= StateDrafted.rank() && r.previewsDone()
}

// previewsDone reports whether every reviewer has the current draft.
func (r *Record) previewsDone() bool {
	if r.DraftHash == "" {
		return false
	}
	if r.PreviewedHash != r.DraftHash {
		return len(r.PreviewTo) == 0
	}
	for _, o := range r.PreviewTo {
		if !slices.Contains(r.Previewed, o) && !hasPrefixIn(r.PreviewErrors, o+":") {
			return false
		}
	}
	return true
}

func hasPrefixIn(list []string, prefix string) bool {
	for _, s := range list {
		if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

// sendStarted reports whether a send was ever asked for this content.
func (r *Record) sendStarted() bool { return r.Broadcast != "" && r.Broadcast != BroadcastNone }

// clone copies a record deeply enough for a mutation to leave the original alone.
func (r *Record) clone() *Record {
	c := *r
	c.PreviewTo = slices.Clone(r.PreviewTo)
	c.Notes = slices.Clone(r.Notes)
	c.Images = maps.Clone(r.Images)
	c.StaleDrafts = slices.Clone(r.StaleDrafts)
	c.Previewed = slices.Clone(r.Previewed)
	c.PreviewErrors = slices.Clone(r.PreviewErrors)
	c.URLs = slices.Clone(r.URLs)
	c.History = slices.Clone(r.History)
	c.Retracted = slices.Clone(r.Retracted)
	return &c
}

// op is a side effect committed atomically with a record change.
type op = store.RecordOp

func opZAdd(at time.Time) op { return op{Op: store.OpSchedule, Score: at.UnixMilli()} }
func opZRem() op             { return op{Op: store.OpUnschedule} }

// guard is what a writer must still hold for its write to land.
type guard struct {
	lockToken   string // the lock; "" for writers that need none (job events)
	leaderToken string // the scheduler's leader lock; "" unless writing as leader
	fence       int64  // the fencing token handed out with leadership
}

// Reasons a guarded write is refused.
var (
	errConflict  = store.ErrRecordChanged
	errLockLost  = store.ErrLockLost
	errFenced    = store.ErrFenced
	errQuotaUsed = store.ErrQuotaUsed
	errNoChange  = errors.New("publisher: nothing to change")
)

// records is what the publisher needs of its record store: store.Records
// in Redis, an in-memory one in the decision tests. Records travel as
// their hash fields (record.go encodes them); CommitRecord applies a
// change under a guard with its side effects, all or nothing.
type records interface {
	LoadRecord(ctx context.Context, n int) (map[string]string, error)
	CommitRecord(ctx context.Context, g store.RecordGuard, n int, rev int64, cur, next map[string]string, ops []store.RecordOp) error
}

var _ records = (*store.Records)(nil)

// load reads issue n's record; nil when the pipeline does not know it.
func (p *Publisher) load(ctx context.Context, n int) (*Record, error) {
	f, err := p.recs.LoadRecord(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("publisher: read issue %d: %w", n, err)
	}
	if len(f) == 0 {
		return nil, nil
	}
	rec, err := decodeRecord(f)
	if err == nil {
		p.remember(rec)
	}
	return rec, err
}

// mutation changes a copy of the record and returns a note for the
// history and the side effects to commit with it; errNoChange skips the write.
type mutation func(r *Record) (note string, ops []op, err error)

// update applies mut to issue n's current record and commits it under g.
// When another writer changed the record meanwhile (a job event, say),
// it reads the record again and re-applies mut, which must therefore
// decide from the record it is given. It returns the record as written.
func (p *Publisher) update(ctx context.Context, g guard, n int, mut mutation) (*Record, error) {
	for attempt := 0; ; attempt++ {
		cur, err := p.load(ctx, n)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			cur = &Record{Number: n}
		}
		next := cur.clone()
		note, ops, err := mut(next)
		if errors.Is(err, errNoChange) {
			return cur, nil
		}
		if err != nil {
			return cur, err
		}
		now := p.now()
		if next.State != cur.State || note != "" || next.act.Action != "" {
			next.History = append(next.History, Transition{State: next.State, At: now, Note: note, By: next.act.By, Action: next.act.Action})
			next.act = audit{}
			if len(next.History) > maxHistory {
				next.History = next.History[len(next.History)-maxHistory:]
			}
		}
		if cur.Created.IsZero() {
			next.Created = now
		}
		next.Updated = now
		// The review gate: an issue leaves the chat before the record that
		// hides it is written (a crash in between leaves it hidden, never
		// shown unsent) and comes back only after its send is recorded.
		if p.arch != nil && !next.visible() && (cur.Rev == 0 || cur.visible()) {
			if err := p.arch.Withhold(ctx, n, next.withheldWhy()); err != nil {
				return cur, fmt.Errorf("publisher: issue %d: withhold it from the chat: %w", n, err)
			}
		}
		err = p.commit(ctx, g, cur, next, ops)
		if errors.Is(err, errConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return cur, err
		}
		if p.arch != nil && next.visible() && !cur.visible() {
			if err := p.arch.Release(ctx, n); err != nil {
				// syncGate releases it on its next pass.
				p.log.Warn("publisher: could not show a sent issue in the chat yet", "issue", n, slog.Any("error", err))
			}
		}
		next.Rev = cur.Rev + 1
		next.legacy = nil // written under the current names now
		p.remember(next)
		if next.State != cur.State {
			p.m.PipelineTransitions.WithLabelValues(string(next.State)).Inc()
			p.log.Info("publisher: issue state", "issue", n, "state", string(next.State), "from", string(cur.State), "note", note)
		}
		return next, nil
	}
}

// commit writes the difference between cur and next, with ops, under g.
func (p *Publisher) commit(ctx context.Context, g guard, cur, next *Record, ops []op) error {
	sg := store.RecordGuard{LockToken: g.lockToken, LeaderToken: g.leaderToken, Fence: g.fence}
	if err := p.recs.CommitRecord(ctx, sg, cur.Number, cur.Rev, cur.storedFields(), next.fields(), ops); err != nil {
		return fmt.Errorf("publisher: write issue %d: %w", cur.Number, err)
	}
	return nil
}
