package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// Most messages are questions — latest, an issue, a search, a rule — whose
// answer depends only on the archive and the subscriber's reply language and
// which change nothing but the search session. For them the claim and the
// stored reply are one atomic step, one Redis round trip: the reply is
// computed first (it is pure: no call to anything else happens), then
// commitScript claims the dedupe key with the finished reply, provided the
// language it was computed for is still the subscriber's, and writes the
// session. A retry or a concurrent first arrival on any replica finds the
// key taken and gets that reply; whoever loses the race has done nothing
// but compute an answer it throws away, so no side effect runs twice.
// Everything else (events, preference changes, "more") takes the general
// path: claim first, then act, then store (dedupe.go).
//
// KEYS: dedupe, prefs, session (one hash tag: one Cluster slot).
// ARGV: stored reply, dedupe TTL ms, assumed language ("" = none),
// session query ("" = no session write), session page, session TTL ms.
// Returns {1} committed, {0, value} already claimed, {2, lang} language differs.
var commitScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return {0, v} end
local lang = redis.call('HGET', KEYS[2], 'lang')
if not lang then lang = '' end
if lang ~= ARGV[3] then return {2, lang} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], 'q', ARGV[4], 'p', ARGV[5])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
return {1}
`)

type commitResult int

const (
	committed commitResult = iota
	alreadyClaimed
	languageDiffers
)

// commit runs commitScript through the batcher.
func (b *Bot) commit(ctx context.Context, key, openid, lang string, payload []byte, s *session) (commitResult, string, error) {
	stored := markSuccess
	if payload != nil {
		stored = markReply + string(payload)
	}
	q, page := "", "0"
	if s != nil {
		q, page = s.query, strconv.Itoa(s.page)
	}
	req := &commitReq{
		keys: []string{key, b.keys.Prefs(openid), b.keys.Session(openid)},
		args: []any{stored, b.cfg.DedupeTTL.Milliseconds(), lang, q, page, b.cfg.SessionTTL.Milliseconds()},
		done: make(chan struct{}),
	}
	t := time.NewTimer(b.redisTO)
	defer t.Stop()
	select {
	case b.commits <- req:
	case <-t.C:
		return 0, "", errors.New("dedupe: commit: redis too slow (queue full)")
	case <-ctx.Done():
		return 0, "", ctx.Err()
	}
	select {
	case <-req.done:
	case <-t.C:
		// The batch may still commit this reply later: it is the reply the
		// subscriber gets now anyway, so a retry would see the same.
		return 0, "", errors.New("dedupe: commit: redis too slow")
	case <-ctx.Done():
		return 0, "", ctx.Err()
	}
	if req.err != nil {
		return 0, "", fmt.Errorf("dedupe: commit: %w", req.err)
	}
	return req.res, req.val, nil
}

// commitReq is one message's commit waiting for the next batch.
type commitReq struct {
	keys []string
	args []any
	done chan struct{}
	res  commitResult
	val  string
	err  error
}

// Concurrent messages share Redis round trips: committers take whatever
// commits are waiting and send them as one pipeline, so under load one
// write and one read carry many messages, and an idle server still sends
// each commit at once (no timer, no added latency).
const (
	committers     = 4
	maxCommitBatch = 128
)

func (b *Bot) startCommitters() {
	b.commits = make(chan *commitReq, 1024)
	b.stopCommit = make(chan struct{})
	for i := 0; i < committers; i++ {
		b.commitWG.Add(1)
		go b.committer()
	}
}

func (b *Bot) committer() {
	defer b.commitWG.Done()
	batch := make([]*commitReq, 0, maxCommitBatch)
	cmds := make([]*redis.Cmd, 0, maxCommitBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-b.commits:
			batch = append(batch, r)
		case <-b.stopCommit:
			return
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
		cmds = b.runBatch(batch, cmds)
	}
}

func (b *Bot) runBatch(batch []*commitReq, cmds []*redis.Cmd) []*redis.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), b.redisTO)
	defer cancel()
	for attempt := 0; ; attempt++ {
		cmds = cmds[:0]
		pipe := b.rdb.Pipeline()
		for _, r := range batch {
			cmds = append(cmds, commitScript.EvalSha(ctx, pipe, r.keys, r.args...))
		}
		_, err := pipe.Exec(ctx)
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			// A fresh or restarted Redis: load the script and send again.
			if lerr := commitScript.Load(ctx, b.rdb).Err(); lerr == nil {
				continue
			}
		}
		for i, r := range batch {
			r.res, r.val, r.err = decodeCommit(cmds[i])
			close(r.done)
		}
		return cmds
	}
}

func decodeCommit(cmd *redis.Cmd) (commitResult, string, error) {
	res, err := cmd.Slice()
	if err != nil {
		return 0, "", err
	}
	if len(res) == 0 {
		return 0, "", errors.New("empty answer from redis")
	}
	code, _ := res[0].(int64)
	val := ""
	if len(res) > 1 {
		val, _ = res[1].(string)
	}
	switch code {
	case 1:
		return committed, "", nil
	case 0:
		return alreadyClaimed, val, nil
	case 2:
		return languageDiffers, val, nil
	}
	return 0, "", fmt.Errorf("unexpected answer %v", res)
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
	return !p.needsState && !p.changesState && !p.clearUser && p.setLang == "" &&
		len(p.topicsOn) == 0 && len(p.topicsOff) == 0 && len(p.effects) == 0
}

// langHints remembers subscribers' reply languages in this process, so the
// one-round-trip path usually guesses right. A wrong or missing hint costs
// one more round trip (the script refuses it and names the language); the
// truth stays in Redis, so replicas never disagree. Only subscribers who
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
