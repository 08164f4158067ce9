package bot

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// The dedupe key of a message holds, in turn:
//
//	"P"        claimed: the first arrival is working on it
//	"R<reply>" finished: the plaintext reply payload to send again
//	"S"        finished with nothing to say (or answered late): send success
//
// The reply is stored in plaintext and sealed per request: a retry may be
// decrypted with the previous key during a rotation, or reach a replica
// configured for another mode, and must be answered with its own key. The
// reply is the newsletter's public content, not a secret.
const (
	markPending = "P"
	markReply   = "R"
	markSuccess = "S"
)

// dedupeID identifies one message or event across WeChat's retries:
// MsgId for messages; CreateTime, Event and EventKey for events (they have
// no MsgId), plus the job's own id for job reports — two reports of
// different broadcasts can arrive in the same second from the same sender
// (MsgID of MASSSENDJOBFINISH, publish_id of PUBLISHJOBFINISH). The openid
// is part of the key itself (MsgId alone has collided across users in
// other SDKs).
func dedupeID(m *message.MixMessage) string {
	if m.MsgType != message.MsgTypeEvent && m.MsgID != 0 {
		return "m" + strconv.FormatInt(m.MsgID, 10)
	}
	id := "e" + strconv.FormatInt(m.CreateTime, 10) + ":" + string(m.MsgType) + ":" + string(m.Event) + ":" + m.EventKey
	switch m.Event {
	case message.EventMassSendJobFinish:
		id += ":" + strconv.FormatInt(massMsgID(m), 10)
	case message.EventPublishJobFinish:
		id += ":" + strconv.FormatInt(m.PublishEventInfo.PublishID, 10)
	}
	if m.MsgType != message.MsgTypeEvent {
		id += ":" + m.Content + m.MediaID + m.URL
	}
	if len(id) > 64 {
		// Keep keys short whatever a menu URL or a message holds.
		sum := sha1.Sum([]byte(id))
		id = "h" + hex.EncodeToString(sum[:])
	}
	return id
}

// userState is what the chat knows about a subscriber when routing.
type userState struct {
	won      bool
	existing string // the dedupe value found when not won
	prefs    map[string]string
	session  map[string]string
}

// claim takes the message's dedupe key and reads the subscriber's
// preferences (and session when the message needs it) in one round trip.
func (b *Bot) claim(ctx context.Context, key, openid string, withSession bool) (*userState, error) {
	ctx, cancel := context.WithTimeout(ctx, b.redisTO)
	defer cancel()
	pipe := b.rdb.Pipeline()
	set := pipe.SetNX(ctx, key, markPending, b.cfg.DedupeTTL)
	prefs := pipe.HGetAll(ctx, b.keys.Prefs(openid))
	var sess *redis.MapStringStringCmd
	if withSession {
		sess = pipe.HGetAll(ctx, b.keys.Session(openid))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return &userState{}, fmt.Errorf("dedupe: claim: %w", err)
	}
	st := &userState{won: set.Val(), prefs: prefs.Val()}
	if sess != nil {
		st.session = sess.Val()
	}
	if !st.won {
		// A retry, or a concurrent first arrival on another replica.
		v, err := b.rdb.Get(ctx, key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return &userState{}, fmt.Errorf("dedupe: read claim: %w", err)
		}
		st.existing = v
	}
	return st, nil
}

// finish stores the reply (stored: see encode) and applies the message's
// state changes in one round trip. The claim is ours, so no other arrival
// writes these keys now.
func (b *Bot) finish(ctx context.Context, key, openid string, stored []byte, p *plan) error {
	ctx, cancel := context.WithTimeout(ctx, b.redisTO)
	defer cancel()
	pipe := b.rdb.Pipeline()
	pipe.Set(ctx, key, stored, b.cfg.DedupeTTL)
	prefsKey, sessKey := b.keys.Prefs(openid), b.keys.Session(openid)
	if p.clearUser {
		pipe.Del(ctx, prefsKey, sessKey)
	}
	if p.setLang != "" {
		pipe.HSet(ctx, prefsKey, prefLang, p.setLang)
	}
	for _, t := range p.topicsOn {
		pipe.HSet(ctx, prefsKey, prefTopic+t, "1")
	}
	for _, t := range p.topicsOff {
		pipe.HDel(ctx, prefsKey, prefTopic+t)
	}
	if p.session != nil {
		pipe.HSet(ctx, sessKey, sessQuery, p.session.query, sessPage, strconv.Itoa(p.session.page))
		pipe.PExpire(ctx, sessKey, b.cfg.SessionTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("dedupe: store reply: %w", err)
	}
	return nil
}

// duplicate answers a retry: the stored reply, or — while the first arrival
// is still working — the reply once it is stored, waiting up to
// bot.retry_wait (and never past the deadline), else `success`.
func (b *Bot) duplicate(ctx context.Context, key, v string, in *inbound) outcome {
	b.m.DedupeHits.Inc()
	wait := b.cfg.RetryWait
	// Leave room to answer before the deadline: a retry never goes late.
	if left := b.cfg.Deadline - time.Since(in.start) - 100*time.Millisecond; left < wait {
		wait = left
	}
	until := time.Now().Add(wait)
	poll := 10 * time.Millisecond
	for {
		switch {
		case len(v) > 0 && v[0] == markReply[0]:
			return outcome{payload: []byte(v[1:]), result: resDuplicate}
		case v == markPending && time.Now().Before(until):
			t := time.NewTimer(min(poll, time.Until(until)))
			select {
			case <-ctx.Done():
				t.Stop()
				return outcome{result: resDuplicate}
			case <-t.C:
			}
			if poll < 100*time.Millisecond {
				poll *= 2
			}
			gctx, cancel := context.WithTimeout(ctx, b.redisTO)
			nv, err := b.rdb.Get(gctx, key).Result()
			cancel()
			if err != nil && !errors.Is(err, redis.Nil) {
				b.redisFailed("wait", err)
				return outcome{result: resDuplicate}
			}
			v = nv
		default:
			// Success, still pending after the wait, or expired.
			return outcome{result: resDuplicate}
		}
	}
}

// wantsSession reports whether routing msg reads the search session.
func wantsSession(m *message.MixMessage) bool {
	return m.MsgType == message.MsgTypeText && isMore(normalize(m.Content))
}
