package bot

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/store"
)

// Most messages are questions — latest, an issue, a search, a rule — whose
// answer depends only on the archive and the subscriber's reply language and
// which change nothing but the search session. For them the claim and the
// stored reply are one step, one Redis round trip with no script
// (store.Commits): the reply is computed first (it is pure: no call to
// anything else happens) for the language this replica believes is the
// subscriber's (langHints), then one pipeline reads the language and claims
// the dedupe key with the finished reply (SET key value NX GET PX ttl),
// batched with the concurrent messages' commits. A retry or a concurrent
// first arrival on any replica finds the key taken and gets that reply;
// whoever loses the race has done nothing but compute an answer it throws
// away, so no side effect runs twice. When the language read differs from
// the one assumed, the winner stores the answer in the right language over
// its claim (plain SET: the claim is its own) before answering (quick, in
// handler.go). A search's session (for "more") is written in the same
// pipeline, after the claim: when the answer is sent, "more" on any replica
// finds it. A retry writes it again — the same search, page 1 — which only
// matters if the subscriber paged on before WeChat retried, and WeChat
// retries only answers the subscriber has not seen.
// Everything else (events, preference changes, "more") takes the general
// path: claim first, then act, then store (dedupe.go).

type commitResult int

const (
	committed commitResult = iota
	alreadyClaimed
)

// commit claims (store.CommitClaim) or overwrites (store.CommitOverwrite)
// the message's dedupe key with ref, and with a claim writes sess (nil:
// none), the search session the answer starts. It returns whether the
// claim was won, the value found when it was not, and the subscriber's
// stored reply language ("" for none) as read just before the claim.
func (b *Bot) commit(ctx context.Context, kind store.CommitKind, key, openid string, ref *replyRef, sess *session) (res commitResult, val, lang string, err error) {
	cm := store.Commit{Kind: kind, Key: key, LangKey: b.keys.Prefs(openid), Value: ref.value}
	if sess != nil && kind == store.CommitClaim {
		cm.SessKey, cm.Sess = b.keys.Session(openid), appendSession(make([]byte, 0, 24+len(sess.Query)), sess)
	}
	digest := ""
	if ref.digest != "" && b.bodies.needsWrite(ref.digest, ref.body, time.Now(), b.cfg.DedupeTTL/2) {
		cm.BodyKey, cm.Body, digest = b.keys.ReplyBody(ref.digest), ref.body, ref.digest
	}
	queued := time.Now()
	r, err := b.commits.Do(ctx, cm, b.redisTO)
	if err != nil {
		// When Redis was only slow (store.ErrCommitSlow) the batch may
		// still commit this reply later — the reply the subscriber gets now
		// anyway, so a retry would see the same.
		b.bodies.forget(digest)
		return 0, "", "", fmt.Errorf("dedupe: commit: %w", err)
	}
	b.m.CommitWait.Observe(time.Since(queued).Seconds())
	if r.BodyErr != nil {
		// A retry elsewhere will not find the body (duplicate rebuilds it).
		b.bodies.forget(digest)
	}
	if r.SessErr != nil {
		// The answer stands; "more" will find no search, as after an outage.
		b.redisFailed("session", r.SessErr)
	}
	if !r.Won {
		return alreadyClaimed, r.Found, r.Lang, nil
	}
	return committed, "", r.Lang, nil
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
