package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/subscribers"
)

// Most messages are questions — latest, an issue, a search, a rule — whose
// answer depends only on the archive and the subscriber's reply language and
// which change nothing but the search session. For them the claim and the
// stored reply are one step, one Redis round trip with no script: the reply
// is computed first (it is pure: no call to anything else happens) for the
// language this replica believes is the subscriber's (langHints), then one
// pipeline reads the language (HGET) and claims the dedupe key with the
// finished reply (SET key value NX GET PX ttl). A retry or a concurrent
// first arrival on any replica finds the key taken and gets that reply;
// whoever loses the race has done nothing but compute an answer it throws
// away, so no side effect runs twice. When the language read differs from
// the one assumed, the winner stores the answer in the right language over
// its claim (plain SET: the claim is its own) before answering (quick, in
// handler.go). A search's session (for "more") is written in the same
// pipeline, after the claim (SET … PX): when the answer is sent, "more" on
// any replica finds it. A retry writes it again — the same search, page 1 —
// which only matters if the subscriber paged on before WeChat retried, and
// WeChat retries only answers the subscriber has not seen.
// Everything else (events, preference changes, "more") takes the general
// path: claim first, then act, then store (dedupe.go).
//
// Commits of concurrent messages share one pipeline (see committer); on
// Redis Cluster go-redis splits it per node.

type commitResult int

const (
	committed commitResult = iota
	alreadyClaimed
)

// What a commitReq asks for.
const (
	commitClaim     = iota // HGET lang + SET NX GET (+ the body, the session)
	commitOverwrite        // SET over our own claim (+ the body)
)

// commit claims (commitClaim) or overwrites (commitOverwrite) the message's
// dedupe key with ref through the committers, and with a claim writes sess
// (nil: none), the search session the answer starts. It returns whether the
// claim was won, the value found when it was not, and the subscriber's
// stored reply language ("" for none) as read just before the claim.
func (b *Bot) commit(ctx context.Context, kind int, key, openid string, ref *replyRef, sess *session) (res commitResult, val, lang string, err error) {
	req := commitReqPool.Get().(*commitReq)
	req.kind = kind
	req.key, req.prefsKey = key, b.keys.Prefs(openid)
	req.value = ref.value
	req.sessKey = ""
	if sess != nil && kind == commitClaim {
		req.sessKey, req.sess = b.keys.Session(openid), appendSession(req.sess[:0], sess)
	}
	req.bodyKey, req.body, req.digest = "", nil, ""
	if ref.digest != "" && b.bodies.needsWrite(ref.digest, ref.body, time.Now(), b.cfg.DedupeTTL/2) {
		req.bodyKey, req.body, req.digest = b.keys.ReplyBody(ref.digest), ref.body, ref.digest
	}
	queued := time.Now()
	t := timerPool.Get().(*time.Timer)
	t.Reset(b.redisTO)
	defer func() { t.Stop(); timerPool.Put(t) }()
	select {
	case b.commits <- req:
	case <-t.C:
		b.bodies.forget(req.digest)
		commitReqPool.Put(req)
		return 0, "", "", errors.New("dedupe: commit: redis too slow (queue full)")
	case <-ctx.Done():
		b.bodies.forget(req.digest)
		commitReqPool.Put(req)
		return 0, "", "", ctx.Err()
	}
	select {
	case <-req.done:
		b.m.CommitWait.Observe(time.Since(queued).Seconds())
	case <-t.C:
		// The batch may still commit this reply later: it is the reply the
		// subscriber gets now anyway, so a retry would see the same. (req
		// stays with the committer: it is not reused.)
		return 0, "", "", errors.New("dedupe: commit: redis too slow")
	case <-ctx.Done():
		return 0, "", "", ctx.Err()
	}
	res, val, lang, err = req.res, req.val, req.lang, req.err
	*req = commitReq{done: req.done, sess: req.sess[:0]}
	commitReqPool.Put(req)
	if err != nil {
		return 0, "", "", fmt.Errorf("dedupe: commit: %w", err)
	}
	return res, val, lang, nil
}

// commitReq is one message's commit waiting for the next batch. done has
// room for one signal, so a request can be used again once answered.
type commitReq struct {
	kind            int
	key, prefsKey   string
	value           storedValue
	sessKey         string
	sess            storedValue // the session's value; its room kept across uses
	bodyKey, digest string
	body            storedValue
	done            chan struct{}
	res             commitResult
	val, lang       string
	err             error
	cmds            [2]*redis.Cmd
	bodyCmd         *redis.Cmd
	sessCmd         *redis.Cmd
}

// storedValue is a value to store, passed to go-redis by pointer (as an
// encoding.BinaryMarshaler) so that it is neither copied nor boxed.
type storedValue []byte

func (v *storedValue) MarshalBinary() ([]byte, error) { return *v, nil }

var (
	commitReqPool = sync.Pool{New: func() any { return &commitReq{done: make(chan struct{}, 1)} }}
	timerPool     = sync.Pool{New: func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}}
)

// Concurrent messages share Redis round trips: committers take whatever
// commits are waiting and send them as one pipeline, so under load one
// write and one read carry many messages, and an idle server still sends
// each commit at once (no timer, no added latency). Two committers: one
// gathers while the other waits for Redis.
const (
	committers     = 2
	maxCommitBatch = 128
)

func (b *Bot) startCommitters() {
	b.commits = make(chan *commitReq, 1024)
	b.stopCommit = make(chan struct{})
	b.dedupeTTLms = b.cfg.DedupeTTL.Milliseconds()
	b.sessionTTLms = b.cfg.SessionTTL.Milliseconds()
	b.bodyTTLms = 2 * b.dedupeTTLms
	for i := 0; i < committers; i++ {
		b.commitWG.Add(1)
		go b.committer()
	}
}

func (b *Bot) committer() {
	defer b.commitWG.Done()
	batch := make([]*commitReq, 0, maxCommitBatch)
	stopping := false
	for {
		batch = batch[:0]
		if !stopping {
			select {
			case r := <-b.commits:
				batch = append(batch, r)
			case <-b.stopCommit:
				// Send what is still queued, then stop.
				stopping = true
			}
		}
	fill:
		for len(batch) < maxCommitBatch {
			select {
			case r := <-b.commits:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			return
		}
		b.runBatch(batch)
	}
}

func (b *Bot) runBatch(batch []*commitReq) {
	ctx, cancel := context.WithTimeout(context.Background(), b.redisTO)
	defer cancel()
	pipe := b.rdb.Pipeline()
	claims := 0
	for _, r := range batch {
		// Every argument a pointer into the request or the bot, so building
		// a command allocates only the command.
		switch r.kind {
		case commitClaim:
			r.cmds[0] = subscribers.LangCmd(ctx, &r.prefsKey)
			r.cmds[1] = redis.NewCmd(ctx, "set", &r.key, &r.value, "nx", "get", "px", &b.dedupeTTLms)
			claims++
		case commitOverwrite:
			r.cmds[0] = nil
			r.cmds[1] = redis.NewCmd(ctx, "set", &r.key, &r.value, "px", &b.dedupeTTLms)
		}
		for _, c := range r.cmds {
			if c != nil {
				_ = pipe.Process(ctx, c)
			}
		}
		r.bodyCmd = nil
		if r.bodyKey != "" {
			r.bodyCmd = redis.NewCmd(ctx, "set", &r.bodyKey, &r.body, "px", &b.bodyTTLms)
			_ = pipe.Process(ctx, r.bodyCmd)
		}
		r.sessCmd = nil
		if r.sessKey != "" {
			r.sessCmd = redis.NewCmd(ctx, "set", &r.sessKey, &r.sess, "px", &b.sessionTTLms)
			_ = pipe.Process(ctx, r.sessCmd)
		}
	}
	if claims > 0 {
		b.m.CommitBatch.Observe(float64(claims))
	}
	_, _ = pipe.Exec(ctx)
	for _, r := range batch {
		b.decodeCommit(r)
		r.cmds = [2]*redis.Cmd{}
		r.bodyCmd, r.sessCmd = nil, nil
		r.done <- struct{}{}
	}
}

// decodeCommit hands a request its part of the pipeline's answers. Any
// error of the message's own commands is its error (a key of the wrong
// type fails that message alone); a failed body write only means a retry
// elsewhere will not find the body (duplicate rebuilds it).
func (b *Bot) decodeCommit(r *commitReq) {
	if r.bodyCmd != nil && r.bodyCmd.Err() != nil {
		b.bodies.forget(r.digest)
	}
	if r.sessCmd != nil && r.sessCmd.Err() != nil && r.cmds[1] != nil && r.cmds[1].Err() == nil {
		// The answer stands; "more" will find no search, as after an outage.
		b.redisFailed("session", r.sessCmd.Err())
	}
	switch r.kind {
	case commitClaim:
		lang, err := subscribers.Lang(r.cmds[0])
		if err != nil {
			r.err = err
			return
		}
		old, err := r.cmds[1].Text()
		switch {
		case errors.Is(err, redis.Nil):
			r.res, r.lang = committed, lang
		case err != nil:
			r.err = err
		default:
			r.res, r.val, r.lang = alreadyClaimed, old, lang
		}
	default:
		for _, c := range r.cmds {
			if c != nil && c.Err() != nil {
				r.err = c.Err()
				return
			}
		}
		r.res = committed
	}
}

// quickEligible reports whether msg may take the one-round-trip path at all;
// routing then decides (plan.pure).
func quickEligible(m *message.MixMessage) bool {
	switch m.MsgType {
	case message.MsgTypeText:
		return !isMore(normalize(m.Content))
	case message.MsgTypeVoice:
		return m.Recognition != "" && !isMore(normalize(m.Recognition))
	}
	return false
}

// pure reports whether a plan only answers: no state read beyond the reply
// language, no state written beyond the search session, no calls.
func (p *plan) pure() bool {
	return !p.needsState && !p.changesState && p.prefs.IsZero() && len(p.effects) == 0
}

// langHints remembers subscribers' reply languages in this process, so the
// one-round-trip path usually guesses right. A wrong or missing hint costs
// one more round trip (the answer in the right language stored over the
// claim); the truth stays in Redis, so replicas never disagree. Only subscribers who
// chose a language are kept, at most about langHintMax.
type langHints struct {
	seed   maphash.Seed
	shards [16]struct {
		mu sync.Mutex
		m  map[string]string
	}
}

const langHintMax = 1 << 16

func newLangHints() *langHints {
	h := &langHints{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].m = map[string]string{}
	}
	return h
}

func (h *langHints) shard(openid string) *struct {
	mu sync.Mutex
	m  map[string]string
} {
	return &h.shards[maphash.String(h.seed, openid)%uint64(len(h.shards))]
}

func (h *langHints) get(openid string) string {
	s := h.shard(openid)
	s.mu.Lock()
	v := s.m[openid]
	s.mu.Unlock()
	return v
}

func (h *langHints) set(openid, lang string) {
	s := h.shard(openid)
	s.mu.Lock()
	if lang == "" {
		delete(s.m, openid)
	} else {
		if len(s.m) >= langHintMax/len(h.shards) {
			clear(s.m) // crude but bounded; misses only cost a round trip
		}
		s.m[openid] = lang
	}
	s.mu.Unlock()
}
