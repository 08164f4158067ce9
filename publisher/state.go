package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/archive"
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
// (store.Keys.PublishIssue). Every change goes through Publisher.update,
// which writes it atomically if nobody changed it meanwhile (Rev), the
// writer still holds the issue's lock and, for the scheduler, still leads.
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
	Dir         string `json:"-"`
	Source      []byte `json:"-"`
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

// Redis hash fields. Times are unix milliseconds; lists and maps JSON.
func (r *Record) fields() map[string]string {
	f := map[string]string{}
	str := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	num := func(k string, v int64) {
		if v != 0 {
			f[k] = strconv.FormatInt(v, 10)
		}
	}
	tm := func(k string, t time.Time) {
		if !t.IsZero() {
			f[k] = strconv.FormatInt(t.UnixMilli(), 10)
		}
	}
	js := func(k string, v any, empty bool) {
		if empty {
			return
		}
		b, _ := json.Marshal(v)
		f[k] = string(b)
	}
	boolean := func(k string, v bool) {
		if v {
			f[k] = "1"
		}
	}
	num("number", int64(r.Number))
	str("state", string(r.State))
	str("goal", string(r.Goal))
	str("mode", r.Mode)
	str("origin", r.Origin)
	str("file", r.File)
	str("dir", r.Dir)
	str("source", string(r.Source))
	str("content_hash", r.ContentHash)
	str("clientmsgid", r.ClientMsgID)
	boolean("to_all", r.ToAll)
	str("tag", r.Tag)
	num("tag_id", int64(r.TagID))
	js("preview_to", r.PreviewTo, len(r.PreviewTo) == 0)
	num("articles", int64(r.Articles))
	js("notes", r.Notes, len(r.Notes) == 0)
	str("cover_media_id", r.CoverMediaID)
	js("images", r.Images, len(r.Images) == 0)
	str("draft_media_id", r.DraftMediaID)
	str("draft_hash", r.DraftHash)
	str("publish_draft", r.PublishDraft)
	js("stale_drafts", r.StaleDrafts, len(r.StaleDrafts) == 0)
	str("previewed_hash", r.PreviewedHash)
	js("previewed", r.Previewed, len(r.Previewed) == 0)
	js("preview_errors", r.PreviewErrors, len(r.PreviewErrors) == 0)
	num("draft_count", int64(r.DraftCount))
	boolean("unanswered", r.Unanswered)
	boolean("attempt_open", r.AttemptOpen)
	tm("due", r.Due)
	tm("send_started", r.SendStarted)
	num("send_attempts", int64(r.SendAttempts))
	str("quota_day", r.QuotaDay)
	str("broadcast", r.Broadcast)
	tm("sent_at", r.SentAt)
	num("msg_id", r.MsgID)
	num("msg_data_id", r.MsgDataID)
	boolean("duplicate", r.Duplicate)
	str("publish_step", r.PublishStep)
	num("publish_attempts", int64(r.PublishAttempts))
	str("publish_id", r.PublishID)
	str("publish_error", r.PublishError)
	js("urls", r.URLs, len(r.URLs) == 0)
	num("polls", int64(r.Polls))
	boolean("polls_stopped", r.PollsStopped)
	num("url_asks", int64(r.URLAsks))
	boolean("urls_unknown", r.URLsUnknown)
	str("mass_status", r.MassStatus)
	num("total_count", int64(r.TotalCount))
	num("filter_count", int64(r.FilterCount))
	num("sent_count", int64(r.SentCount))
	num("error_count", int64(r.ErrorCount))
	tm("reported_at", r.ReportedAt)
	tm("finished_at", r.FinishedAt)
	num("errcode", int64(r.ErrCode))
	str("error", r.Error)
	str("explanation", r.Explanation)
	str("refused_hash", r.RefusedHash)
	str("approved_hash", r.ApprovedHash)
	str("approved_by", r.ApprovedBy)
	tm("approved_at", r.ApprovedAt)
	str("rejected_by", r.RejectedBy)
	str("reject_reason", r.RejectReason)
	js("retracted", r.Retracted, len(r.Retracted) == 0)
	tm("retracted_at", r.RetractedAt)
	str("retracted_by", r.RetractedBy)
	js("history", r.History, len(r.History) == 0)
	tm("created", r.Created)
	tm("updated", r.Updated)
	return f
}

// decodeRecord reads a record from its hash fields. A field that does not
// decode is reported rather than silently zeroed: the record steers a broadcast.
func decodeRecord(f map[string]string) (*Record, error) {
	r := &Record{}
	var errs []error
	atoi := func(k string) int64 {
		v, ok := f[k]
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", k, err))
		}
		return n
	}
	tm := func(k string) time.Time {
		if n := atoi(k); n != 0 {
			return time.UnixMilli(n)
		}
		return time.Time{}
	}
	js := func(k string, v any) {
		if raw, ok := f[k]; ok {
			if err := json.Unmarshal([]byte(raw), v); err != nil {
				errs = append(errs, fmt.Errorf("field %s: %w", k, err))
			}
		}
	}
	r.Number = int(atoi("number"))
	r.State = State(f["state"])
	r.Goal = Goal(f["goal"])
	r.Mode = f["mode"]
	r.Origin = f["origin"]
	r.File = f["file"]
	r.Dir = f["dir"]
	if s, ok := f["source"]; ok {
		r.Source = []byte(s)
	}
	r.ContentHash = f["content_hash"]
	r.ClientMsgID = f["clientmsgid"]
	r.ToAll = f["to_all"] == "1"
	r.Tag = f["tag"]
	r.TagID = int(atoi("tag_id"))
	js("preview_to", &r.PreviewTo)
	r.Articles = int(atoi("articles"))
	js("notes", &r.Notes)
	r.CoverMediaID = f["cover_media_id"]
	js("images", &r.Images)
	r.DraftMediaID = f["draft_media_id"]
	r.DraftHash = f["draft_hash"]
	r.PublishDraft = f["publish_draft"]
	js("stale_drafts", &r.StaleDrafts)
	r.PreviewedHash = f["previewed_hash"]
	js("previewed", &r.Previewed)
	js("preview_errors", &r.PreviewErrors)
	r.DraftCount = int(atoi("draft_count"))
	r.Unanswered = f["unanswered"] == "1"
	r.AttemptOpen = f["attempt_open"] == "1"
	r.Due = tm("due")
	r.SendStarted = tm("send_started")
	r.SendAttempts = int(atoi("send_attempts"))
	r.QuotaDay = f["quota_day"]
	r.Broadcast = f["broadcast"]
	r.SentAt = tm("sent_at")
	r.MsgID = atoi("msg_id")
	r.MsgDataID = atoi("msg_data_id")
	r.Duplicate = f["duplicate"] == "1"
	r.PublishStep = f["publish_step"]
	r.PublishAttempts = int(atoi("publish_attempts"))
	r.PublishID = f["publish_id"]
	r.PublishError = f["publish_error"]
	js("urls", &r.URLs)
	r.Polls = int(atoi("polls"))
	r.PollsStopped = f["polls_stopped"] == "1"
	r.URLAsks = int(atoi("url_asks"))
	r.URLsUnknown = f["urls_unknown"] == "1"
	r.MassStatus = f["mass_status"]
	r.TotalCount = int(atoi("total_count"))
	r.FilterCount = int(atoi("filter_count"))
	r.SentCount = int(atoi("sent_count"))
	r.ErrorCount = int(atoi("error_count"))
	r.ReportedAt = tm("reported_at")
	r.FinishedAt = tm("finished_at")
	r.ErrCode = int(atoi("errcode"))
	r.Error = f["error"]
	r.Explanation = f["explanation"]
	r.RefusedHash = f["refused_hash"]
	r.ApprovedHash = f["approved_hash"]
	r.ApprovedBy = f["approved_by"]
	r.ApprovedAt = tm("approved_at")
	r.RejectedBy = f["rejected_by"]
	r.RejectReason = f["reject_reason"]
	js("retracted", &r.Retracted)
	r.RetractedAt = tm("retracted_at")
	r.RetractedBy = f["retracted_by"]
	js("history", &r.History)
	r.Created = tm("created")
	r.Updated = tm("updated")
	r.Rev = atoi("rev")
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("publisher: issue %d: undecodable pipeline state: %w", r.Number, err)
	}
	return r, nil
}

// op is a side effect committed atomically with a record change.
type op struct {
	Op    string `json:"op"`           // zadd | zrem | quota | unquota | link
	Score int64  `json:"score,string"` // zadd: unix ms (a string: Lua numbers print in exponent form)
	Max   int    `json:"max"`          // quota: publish.max_per_day
	TTL   int64  `json:"ttl,string"`   // quota: ms
	Day   string `json:"-"`            // quota, unquota: the day counted
	Link  string `json:"-"`            // link: the key to point at the issue
}

func opZAdd(at time.Time) op { return op{Op: "zadd", Score: at.UnixMilli()} }
func opZRem() op             { return op{Op: "zrem"} }

// guard is what a writer must still hold for its write to land.
type guard struct {
	lockToken   string // the issue's lock; "" for writers that need none (job events)
	leaderToken string // the scheduler's leader lock; "" unless writing as leader
	fence       int64  // the fencing token handed out with leadership
}

// Reasons a guarded write is refused.
var (
	errConflict  = errors.New("publisher: the issue's state changed meanwhile")
	errLockLost  = errors.New("publisher: the issue's lock was lost (another process took over)")
	errFenced    = errors.New("publisher: no longer the scheduler leader (fenced off)")
	errQuotaUsed = errors.New("publisher: publish.max_per_day broadcasts already sent today")
	errNoChange  = errors.New("publisher: nothing to change")
)

// updateScript writes a record change if the record's rev is unchanged,
// the writer still holds the issue lock and (as scheduler) the leadership
// with the current fence, and the day's quota allows a send when asked;
// then it applies the side effects. All keys share the {publish} hash tag.
//
//	KEYS: 1 issue hash, 2 issue lock, 3 leader, 4 fence, 5 schedule, 6 index,
//	      7 quota day counter, 8 link key
//	ARGV: 1 expected rev, 2 lock token, 3 leader token, 4 fence, 5 number,
//	      6 ops JSON, 7 count of fields to set, then field/value pairs, then fields to delete
var updateScript = redis.NewScript(`
local rev = redis.call('HGET', KEYS[1], 'rev') or '0'
if rev ~= ARGV[1] then return 'conflict' end
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return 'lock' end
if ARGV[3] ~= '' then
  if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 'fence' end
  if redis.call('GET', KEYS[4]) ~= ARGV[4] then return 'fence' end
end
local ops = cjson.decode(ARGV[6])
for _, o in ipairs(ops) do
  if o.op == 'quota' then
    local n = tonumber(redis.call('GET', KEYS[7]) or '0')
    if n >= o.max then return 'quota' end
  end
end
local nset = tonumber(ARGV[7])
local i = 8
if nset > 0 then
  local args = {}
  for j = 0, 2 * nset - 1 do args[#args + 1] = ARGV[i + j] end
  redis.call('HSET', KEYS[1], unpack(args))
end
i = i + 2 * nset
if i <= #ARGV then
  local dels = {}
  for j = i, #ARGV do dels[#dels + 1] = ARGV[j] end
  redis.call('HDEL', KEYS[1], unpack(dels))
end
redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(rev) + 1))
redis.call('SADD', KEYS[6], ARGV[5])
for _, o in ipairs(ops) do
  if o.op == 'zadd' then
    redis.call('ZADD', KEYS[5], o.score, ARGV[5])
  elseif o.op == 'zrem' then
    redis.call('ZREM', KEYS[5], ARGV[5])
  elseif o.op == 'quota' then
    redis.call('INCR', KEYS[7])
    redis.call('PEXPIRE', KEYS[7], o.ttl)
  elseif o.op == 'unquota' then
    local n = tonumber(redis.call('GET', KEYS[7]) or '0')
    if n > 0 then redis.call('DECR', KEYS[7]) end
  elseif o.op == 'link' then
    redis.call('SET', KEYS[8], ARGV[5])
  end
end
return 'ok'
`)

// load reads issue n's record; nil when the pipeline does not know it.
func (p *Publisher) load(ctx context.Context, n int) (*Record, error) {
	f, err := p.rdb.HGetAll(ctx, p.keys.PublishIssue(n)).Result()
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
	oldF, newF := cur.fields(), next.fields()
	if cur.Rev == 0 {
		oldF = map[string]string{} // a new record: write every field
	}
	var set []any
	for _, k := range slices.Sorted(maps.Keys(newF)) {
		if v, ok := oldF[k]; !ok || v != newF[k] {
			set = append(set, k, newF[k])
		}
	}
	var del []any
	for _, k := range slices.Sorted(maps.Keys(oldF)) {
		if _, ok := newF[k]; !ok {
			del = append(del, k)
		}
	}
	day, link := p.keys.PublishSent("none"), p.keys.PublishMsg("none")
	for _, o := range ops {
		if o.Day != "" {
			day = p.keys.PublishSent(o.Day)
		}
		if o.Link != "" {
			link = o.Link
		}
	}
	opsJSON, _ := json.Marshal(append([]op{}, ops...))
	fence := ""
	if g.leaderToken != "" {
		fence = strconv.FormatInt(g.fence, 10)
	}
	keys := []string{
		p.keys.PublishIssue(cur.Number), p.keys.PublishLock(cur.Number), p.keys.PublishLeader(),
		p.keys.PublishFence(), p.keys.PublishSchedule(), p.keys.PublishIssues(), day, link,
	}
	args := []any{strconv.FormatInt(cur.Rev, 10), g.lockToken, g.leaderToken, fence,
		strconv.Itoa(cur.Number), string(opsJSON), len(set) / 2}
	args = append(args, set...)
	args = append(args, del...)
	res, err := updateScript.Run(ctx, p.rdb, keys, args...).Text()
	if err != nil {
		return fmt.Errorf("publisher: write issue %d: %w", cur.Number, err)
	}
	switch res {
	case "ok":
		return nil
	case "conflict":
		return errConflict
	case "lock":
		return errLockLost
	case "fence":
		return errFenced
	case "quota":
		return errQuotaUsed
	}
	return fmt.Errorf("publisher: write issue %d: unexpected answer %q", cur.Number, res)
}
