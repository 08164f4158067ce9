package bot

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/subscribers"
)

// The dedupe key of a message holds, in turn:
//
//	"P"        claimed: the first arrival is working on it
//	"R…", "T…" finished: what rebuilds the plaintext reply payload to send
//	           again — its body's digest and its CreateTime (replyref.go)
//	"S"        finished with nothing to say (or answered late): send success
//
// The reply is rebuilt in plaintext and sealed per request: a retry may be
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
		// Base 36 keeps a 19-digit MsgId to 13 characters: the key then
		// fits Redis's 64-byte allocation class (see store.Keys.Dedupe).
		return "m" + strconv.FormatInt(m.MsgID, 36)
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
	prefs    subscribers.Prefs
	session  *session // nil: none, or not read
}

// claim takes the message's dedupe key and reads the subscriber's
// preferences (and session when the message needs it) in one round trip
// (store.ClaimMessage); SET NX GET also returns what a retry finds.
func (b *Bot) claim(ctx context.Context, key, openid string, withSession bool) (*userState, error) {
	ctx, cancel := context.WithTimeout(ctx, b.redisTO)
	defer cancel()
	var prefs subscribers.PrefsRead
	var sess *redis.StringCmd
	won, old, err := store.ClaimMessage(ctx, b.rdb, key, markPending, b.cfg.DedupeTTL, func(pipe redis.Pipeliner) {
		prefs = subscribers.QueuePrefsRead(ctx, pipe, b.keys, openid)
		if withSession {
			sess = pipe.Get(ctx, b.keys.Session(openid))
		}
	})
	if err != nil {
		return &userState{}, fmt.Errorf("dedupe: %w", err)
	}
	// Won when there was nothing; else a retry, or a concurrent first
	// arrival on another replica.
	st := &userState{won: won, existing: old}
	if st.prefs, err = prefs.Prefs(); err != nil {
		return &userState{}, fmt.Errorf("dedupe: claim: %w", err)
	}
	if sess != nil {
		st.session = parseSession(sess.Val())
	}
	return st, nil
}

// A search session is one string, "PAGE:QUERY" (the page shown last, from
// 1), so that writing it is one command (SET … PX) and reading it one GET.

func appendSession(dst []byte, s *session) []byte {
	dst = strconv.AppendInt(dst, int64(s.Page), 10)
	dst = append(dst, ':')
	return append(dst, s.Query...)
}

// parseSession reads a stored session; nil for none or an unreadable value
// (then "more" has no search to page, as after the session expired).
func parseSession(v string) *session {
	page, query, ok := strings.Cut(v, ":")
	if !ok || page == "" || query == "" {
		return nil
	}
	n, err := strconv.Atoi(page)
	if err != nil {
		return nil
	}
	return &session{Query: query, Page: n}
}

// finish stores the reply (see encode) and applies the message's state
// changes in one round trip (store.StoreReply). The claim is ours, so no
// other arrival writes these keys now.
func (b *Bot) finish(ctx context.Context, key, openid string, ref *replyRef, p *plan) error {
	ctx, cancel := context.WithTimeout(ctx, b.redisTO)
	defer cancel()
	r := store.Reply{Key: key, Value: ref.value, TTL: b.cfg.DedupeTTL}
	if ref.digest != "" && b.bodies.needsWrite(ref.digest, ref.body, time.Now(), b.cfg.DedupeTTL/2) {
		r.BodyKey, r.Body, r.BodyTTL = b.keys.ReplyBody(ref.digest), ref.body, 2*b.cfg.DedupeTTL
	}
	err := store.StoreReply(ctx, b.rdb, r, func(pipe redis.Pipeliner) {
		subscribers.QueuePrefsChange(ctx, pipe, b.keys, openid, p.prefs)
		if p.prefs.Forget {
			// Unfollowed: the session goes with the preferences.
			pipe.Del(ctx, b.keys.Session(openid))
		}
		if p.session != nil {
			pipe.Set(ctx, b.keys.Session(openid), appendSession(nil, p.session), b.cfg.SessionTTL)
		}
	})
	if err != nil {
		if ref.digest != "" {
			b.bodies.forget(ref.digest)
		}
		return fmt.Errorf("dedupe: %w", err)
	}
	return nil
}

// duplicate answers a retry: the stored reply, or — while the first arrival
// is still working — the reply once it is stored, waiting up to
// bot.retry_wait (and never past the deadline), else `success`. lang is the
// langByte of the subscriber's reply language as this arrival read it: a
// reply stored for another language is the first arrival's guess, which it
// is about to correct (quick), and is waited on like a pending claim — and
// answered as it is if it stays.
func (b *Bot) duplicate(ctx context.Context, key, v string, in *inbound, lang byte) outcome {
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
		case isRef(v) && (v[1] == lang || v[1] == langAny || !time.Now().Before(until)):
			return outcome{payload: b.rebuild(ctx, v, in), result: resDuplicate}
		case (v == markPending || isRef(v)) && time.Now().Before(until):
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
			if nv == "" && isRef(v) {
				// Gone (expired, flushed) while we waited: what we had stands.
				return outcome{payload: b.rebuild(ctx, v, in), result: resDuplicate}
			}
			v = nv
		default:
			// Success, still pending after the wait, or expired.
			return outcome{result: resDuplicate}
		}
	}
}

// rebuild turns a stored reply value back into the payload the first
// arrival sent: the head from this message (the same subscriber, account
// and CreateTime) and the body by its digest, from memory or Redis. nil
// (success) when the body is gone — Redis lost it (a flush, a failover,
// eviction) — and answering afresh is not possible; see rebuildAfresh.
func (b *Bot) rebuild(ctx context.Context, v string, in *inbound) []byte {
	if v[0] == markFull {
		return []byte(v[refHead:])
	}
	digest, created, ok := parseRef(v, in.msg.CreateTime)
	if !ok {
		b.log.WarnContext(ctx, "webhook: unreadable stored reply; answering success", slog.Int("bytes", len(v)))
		return nil
	}
	body := b.bodies.get(digest)
	if body == nil {
		gctx, cancel := context.WithTimeout(ctx, b.redisTO)
		s, err := b.rdb.Get(gctx, b.keys.ReplyBody(digest)).Result()
		cancel()
		switch {
		case err == nil:
			body = []byte(s)
			b.bodies.remember(digest, body)
		case errors.Is(err, redis.Nil):
			return b.rebuildAfresh(ctx, digest, created, in)
		default:
			b.redisFailed("wait", err)
			return nil
		}
	}
	openid, account := string(in.msg.FromUserName), string(in.msg.ToUserName)
	out := appendHead(make([]byte, 0, 256+len(body)), isJSONBody(body), openid, account, created)
	return append(out, body...)
}

// rebuildAfresh answers a retry whose reply body Redis no longer has: the
// answer worked out again, when the message is a question (no side effect,
// so nothing runs twice), with the first answer's CreateTime — the same
// bytes unless the archive or the language changed meanwhile (logged).
func (b *Bot) rebuildAfresh(ctx context.Context, digest string, created int64, in *inbound) []byte {
	openid := string(in.msg.FromUserName)
	if !quickEligible(in.msg) {
		b.log.WarnContext(ctx, "webhook: stored reply body missing in redis; answering the retry success", slog.String("openid", openid))
		return nil
	}
	p, ok := b.pureRoute(in, b.hints.get(openid))
	if !ok || p.reply == nil {
		return nil
	}
	var payload []byte
	var err error
	account := string(in.msg.ToUserName)
	if in.json {
		payload, err = appendReplyJSON(nil, p.reply, openid, account, created)
	} else {
		payload, err = appendReplyXML(nil, p.reply, openid, account, created)
	}
	if err != nil {
		return nil
	}
	if ref := b.refFor(payload, langAny, in.json, openid, account, in.msg.CreateTime, created); ref.digest != digest {
		b.log.WarnContext(ctx, "webhook: stored reply body missing in redis; the retry is answered afresh, and the answer differs from the first",
			slog.String("openid", openid))
	}
	return payload
}

// wantsSession reports whether routing msg reads the search session.
func wantsSession(m *message.MixMessage) bool {
	return m.MsgType == message.MsgTypeText && isMore(normalize(m.Content))
}
