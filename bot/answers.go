package bot

import (
	"context"
	"sync"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/archive"
)

// Most questions are the same few words from many subscribers (最新, a
// topic, a law's name), and their answer depends only on the words, the
// reply language, the message format and the archive: the chat reads
// nothing else for them (the one exception, an approver's 批准/驳回, is
// never looked up here). answers remembers, for the archive snapshot being
// served, each such question's plan and reply body with its digest, so a
// repeat skips routing, the search, encoding and the digest: only the
// subscriber's head is written. Any change to the archive (a new issue, a
// withheld or released one, new links) is a new snapshot, which empties the
// memory at the next look-up, and nothing is kept until the search index
// is the new snapshot's: nothing stale is answered. A plan is shared
// by the requests that get it and is only read.
type answers struct {
	mu   sync.RWMutex
	snap *archive.Snapshot
	m    map[answerKey]*answer
}

type answerKey struct {
	text  string
	voice bool
	json  bool
	lang  string
}

type answer struct {
	p      plan
	body   []byte
	sum    [digestLen]byte
	digest string
}

// At most maxAnswers questions of at most maxAnswerText bytes are kept;
// when full the memory starts again (random words from hostile traffic
// cost a miss each, no growth).
const (
	maxAnswers    = 1024
	maxAnswerText = 256
)

func newAnswers() *answers { return &answers{m: make(map[answerKey]*answer)} }

func (c *answers) get(snap *archive.Snapshot, k answerKey) *answer {
	c.mu.RLock()
	var a *answer
	if c.snap == snap {
		a = c.m[k]
	}
	c.mu.RUnlock()
	return a
}

func (c *answers) put(snap *archive.Snapshot, k answerKey, a *answer) {
	c.mu.Lock()
	if c.snap != snap || len(c.m) >= maxAnswers {
		clear(c.m)
		c.snap = snap
	}
	c.m[k] = a
	c.mu.Unlock()
}

// answerFor is the quick path's answer to in for a subscriber whose reply
// language is lang: the plan and its encoded reply, from memory when the
// same question was answered for this archive snapshot. ok is false when
// the message needs more than the reply language (plan.pure).
func (b *Bot) answerFor(ctx context.Context, in *inbound, lang string) (p plan, ref replyRef, ok bool) {
	msg := in.msg
	openid := string(msg.FromUserName)
	k := answerKey{text: msg.Content, json: in.json, lang: lang}
	if msg.MsgType == message.MsgTypeVoice {
		k.text, k.voice = msg.Recognition, true
	}
	// The snapshot before routing: if the archive changes meanwhile, the
	// entry is kept under the old one and never found. While the search
	// index is still the previous snapshot's (it is rebuilt after the
	// archive changes, and questions meanwhile are answered from the old
	// one), nothing is looked up or kept: such an answer would outlive it.
	snap := b.arch.Current()
	ix := b.chat.Loaded()
	cacheable := len(k.text) <= maxAnswerText && ix != nil && ix.Snapshot() == snap &&
		(b.approvals == nil || !b.approvals.IsApprover(openid))
	if cacheable {
		if a := b.answers.get(snap, k); a != nil {
			now := b.now().Unix()
			payload := appendHead(make([]byte, 0, 256+len(a.body)), in.json, openid, string(msg.ToUserName), now)
			payload = append(payload, a.body...)
			return a.p, refWith(payload, a.body, a.sum, a.digest, langByte(lang), msg.CreateTime, now), true
		}
	}
	p, ok = b.pureRoute(in, lang)
	if !ok {
		return plan{}, replyRef{}, false
	}
	ref = b.encode(ctx, &p, in, langByte(lang))
	if cacheable && ref.digest != "" && len(ref.value) >= refHead+digestLen {
		a := &answer{p: p, body: append([]byte(nil), ref.body...), digest: ref.digest}
		copy(a.sum[:], ref.value[refHead:])
		b.answers.put(snap, k, a)
	}
	return p, ref, true
}
