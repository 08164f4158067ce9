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
// One script call commits a whole batch of messages (see committer), each
// as the single-message script would, one after the other: Redis runs a
// script atomically, so the batch is at least as atomic as its messages.
// On Redis Cluster the keys of different subscribers live in different
// slots, so there every message is a call of its own.
//
// KEYS: per message dedupe, prefs, session (one hash tag: one Cluster slot).
// ARGV: dedupe TTL ms, session TTL ms, then per message: stored reply,
// assumed language ("" = none), session query ("" = no session write),
// session page.
// Returns per message "1" committed, "0"..value already claimed,
// "2"..lang language differs, "E"..error.
var commitScript = redis.NewScript(`
local function commit(k, a)
  local v = redis.call('GET', KEYS[k + 1])
  if v then return '0' .. v end
  local lang = redis.call('HGET', KEYS[k + 2], 'lang') or ''
  if lang ~= ARGV[a + 2] then return '2' .. lang end
  redis.call('SET', KEYS[k + 1], ARGV[a + 1], 'PX', ARGV[1])
  if ARGV[a + 3] ~= '' then
    redis.call('HSET', KEYS[k + 3], 'q', ARGV[a + 3], 'p', ARGV[a + 4])
    redis.call('PEXPIRE', KEYS[k + 3], ARGV[2])
  end
  return '1'
end
local out = {}
for i = 0, #KEYS / 3 - 1 do
  -- A message that fails (a key of the wrong type) fails alone.
  local ok, r = pcall(commit, 3 * i, 2 + 4 * i)
  if ok then
    out[i + 1] = r
  else
    out[i + 1] = 'E' .. (type(r) == 'table' and r.err or tostring(r))
  end
end
return out
`)

type commitResult int

const (
	committed commitResult = iota
	alreadyClaimed
	languageDiffers
)

// commit runs commitScript for one message through the committers. stored
// is the value to store: markReply and the payload, or markSuccess.
func (b *Bot) commit(ctx context.Context, key, openid, lang string, stored []byte, s *session) (commitResult, string, error) {
	req := commitReqPool.Get().(*commitReq)
	req.keys = [3]string{key, b.keys.Prefs(openid), b.keys.Session(openid)}
	req.stored, req.lang, req.query, req.page = stored, lang, "", ""
	if s != nil {
		req.query, req.page = s.query, strconv.Itoa(s.page)
	}
	queued := time.Now()
	t := timerPool.Get().(*time.Timer)
	t.Reset(b.redisTO)
	defer func() { t.Stop(); timerPool.Put(t) }()
	select {
	case b.commits <- req:
	case <-t.C:
		commitReqPool.Put(req)
		return 0, "", errors.New("dedupe: commit: redis too slow (queue full)")
	case <-ctx.Done():
		commitReqPool.Put(req)
		return 0, "", ctx.Err()
	}
	select {
	case <-req.done:
		b.m.CommitWait.Observe(time.Since(queued).Seconds())
	case <-t.C:
		// The batch may still commit this reply later: it is the reply the
		// subscriber gets now anyway, so a retry would see the same. (req
		// stays with the committer: it is not reused.)
		return 0, "", errors.New("dedupe: commit: redis too slow")
	case <-ctx.Done():
		return 0, "", ctx.Err()
	}
	res, val, err := req.res, req.val, req.err
	*req = commitReq{done: req.done}
	commitReqPool.Put(req)
	if err != nil {
		return 0, "", fmt.Errorf("dedupe: commit: %w", err)
	}
	return res, val, nil
}

// commitReq is one message's commit waiting for the next batch. done has
// room for one signal, so a request can be used again once answered.
type commitReq struct {
	keys              [3]string
	stored            storedValue
	lang, query, page string
	done              chan struct{}
	res               commitResult
	val               string
	err               error
}

// storedValue is the reply to store, passed to go-redis by pointer (as an
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

// Concurrent messages share Redis round trips and script calls: committers
// take whatever commits are waiting and send them as one script call (one
// per message on Cluster, pipelined), so under load one write and one read
// carry many messages, and an idle server still sends each commit at once
// (no timer, no added latency). Two committers: one gathers while the
// other waits for Redis.
const (
	committers     = 2
	maxCommitBatch = 128
)

func (b *Bot) startCommitters() {
	b.commits = make(chan *commitReq, 1024)
	b.stopCommit = make(chan struct{})
	_, cluster := b.rdb.(*redis.ClusterClient)
	b.dedupeTTLms = b.cfg.DedupeTTL.Milliseconds()
	b.sessionTTLms = b.cfg.SessionTTL.Milliseconds()
	for i := 0; i < committers; i++ {
		b.commitWG.Add(1)
		go b.committer(cluster)
	}
}

func (b *Bot) committer(cluster bool) {
	defer b.commitWG.Done()
	batch := make([]*commitReq, 0, maxCommitBatch)
	var scratch commitScratch
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
		b.runBatch(batch, cluster, &scratch)
	}
}

// commitScratch is a committer's reusable argument space.
type commitScratch struct {
	args []any
	cmds []*redis.Cmd
	send []int
}

func (b *Bot) runBatch(batch []*commitReq, cluster bool, sc *commitScratch) {
	ctx, cancel := context.WithTimeout(context.Background(), b.redisTO)
	defer cancel()
	groups := 1 // messages per script call
	if cluster {
		groups = len(batch)
	}
	per := len(batch) / groups
	// sc.cmds[g] is group g's call; send lists the groups still to send.
	sc.cmds = sc.cmds[:0]
	for g := 0; g < groups; g++ {
		sc.cmds = append(sc.cmds, nil)
	}
	send := sc.send[:0]
	for g := 0; g < groups; g++ {
		send = append(send, g)
	}
	for attempt := 0; ; attempt++ {
		pipe := b.rdb.Pipeline()
		for _, g := range send {
			// EVALSHA sha numkeys key… arg…, every argument a pointer into
			// the requests, so building a call allocates nothing per message.
			// A command keeps its argument slice: the scratch space serves
			// the one call of a batch, Cluster's calls have their own.
			reqs := batch[g*per : (g+1)*per]
			args := sc.args[:0]
			if groups > 1 {
				args = make([]any, 0, 5+7*len(reqs))
			}
			args = append(args, "evalsha", commitScript.Hash(), 3*len(reqs))
			for _, r := range reqs {
				args = append(args, &r.keys[0], &r.keys[1], &r.keys[2])
			}
			args = append(args, &b.dedupeTTLms, &b.sessionTTLms)
			for _, r := range reqs {
				args = append(args, &r.stored, &r.lang, &r.query, &r.page)
			}
			if groups == 1 {
				sc.args = args
			}
			if attempt == 0 {
				b.m.CommitBatch.Observe(float64(len(reqs)))
			}
			cmd := redis.NewCmd(ctx, args...)
			_ = pipe.Process(ctx, cmd)
			sc.cmds[g] = cmd
		}
		_, _ = pipe.Exec(ctx)
		// A fresh or restarted Redis (on Cluster: some of its nodes) does
		// not know the script yet: load it and send again only the calls
		// it refused — the others ran, and must not run twice.
		retry := send[:0]
		for _, g := range send {
			if err := sc.cmds[g].Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
				retry = append(retry, g)
			}
		}
		if attempt == 0 && len(retry) > 0 {
			if lerr := commitScript.Load(ctx, b.rdb).Err(); lerr == nil {
				send = retry
				continue
			}
		}
		for g, cmd := range sc.cmds {
			decodeCommits(cmd, batch[g*per:(g+1)*per])
		}
		sc.send = send[:0]
		clear(sc.args) // let go of the requests
		clear(sc.cmds)
		for _, r := range batch {
			r.done <- struct{}{}
		}
		return
	}
}

// decodeCommits hands each request its part of a script call's answer.
func decodeCommits(cmd *redis.Cmd, reqs []*commitReq) {
	res, err := cmd.StringSlice()
	if err == nil && len(res) != len(reqs) {
		err = fmt.Errorf("%d answers from redis for %d commits", len(res), len(reqs))
	}
	for i, r := range reqs {
		if err != nil {
			r.err = err
			continue
		}
		r.res, r.val, r.err = decodeCommit(res[i])
	}
}

func decodeCommit(v string) (commitResult, string, error) {
	if v == "" {
		return 0, "", errors.New("empty answer from redis")
	}
	switch v[0] {
	case '1':
		return committed, "", nil
	case '0':
		return alreadyClaimed, v[1:], nil
	case '2':
		return languageDiffers, v[1:], nil
	case 'E':
		return 0, "", errors.New(v[1:])
	}
	return 0, "", fmt.Errorf("unexpected answer %q", v)
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
