package bot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/chat"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/subscribers"
)

// Results, the label of wxbot_webhook_duration_seconds.
const (
	resReply      = "reply"
	resSuccess    = "success"
	resLate       = "late"
	resDuplicate  = "duplicate"
	resDegraded   = "degraded"
	resVerify     = "verify"
	resForbidden  = "forbidden"
	resBadRequest = "bad_request"
	resTooLarge   = "too_large"
	resBusy       = "busy"
	resError      = "error"
)

// Reasons of wxbot_webhook_refused_total.
const (
	refusedPlaintext = "plaintext"
	refusedBusy      = "busy"
)

var successBody = []byte("success")

// ServeHTTP answers WeChat over net/http: GET verifies the URL, POST
// carries a message (serve, shared with the fasthttp path in fast.go).
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := webReq{
		ctx: r.Context(), method: r.Method, query: r.URL.RawQuery, length: r.ContentLength,
		read: func(buf []byte, limit int64) ([]byte, error) {
			return readBody(http.MaxBytesReader(w, r.Body, limit), buf, r.ContentLength, limit)
		},
		deadline: func(t time.Time) {
			// Not supported by every ResponseWriter; the server's read
			// timeout still applies.
			_ = http.NewResponseController(w).SetReadDeadline(t)
		},
	}
	b.serve(&req, netResp{w}, nil)
}

// webReq is one webhook request, whatever the transport that carries it.
type webReq struct {
	ctx    context.Context
	method string
	query  string // raw, undecoded
	length int64  // declared Content-Length, -1 when unknown (chunked)
	// read reads the body, at most limit bytes, into buf; a longer body
	// ends in errBodyTooLarge.
	read func(buf []byte, limit int64) ([]byte, error)
	// deadline sets the read deadline of the body; zero lifts it.
	deadline func(time.Time)
}

// webResp is where the answer goes: headers first, then one reply.
type webResp interface {
	set(key, value string)
	reply(status int, body []byte)
}

// netResp answers through net/http.
type netResp struct{ w http.ResponseWriter }

func (r netResp) set(k, v string) { r.w.Header().Set(k, v) }

func (r netResp) reply(status int, body []byte) {
	if status != http.StatusOK {
		r.w.WriteHeader(status)
	}
	_, _ = r.w.Write(body)
}

// fail answers an error as net/http's http.Error does.
func fail(rs webResp, text string, status int) {
	rs.set("Content-Type", "text/plain; charset=utf-8")
	rs.set("X-Content-Type-Options", "nosniff")
	rs.reply(status, append([]byte(text), '\n'))
}

// serve is the webhook, for either transport. pre is the query when the
// transport already ran admit on it (fasthttp's Expect: 100-continue hook).
//
// A panic while handling a message is recovered, logged with its stack and
// answered `success` (HTTP 200): WeChat shows the subscriber an error for
// any other answer and retries the same message — into the same bug — three
// times first. The message's dedupe claim stays, so the retries get
// `success` too.
func (b *Bot) serve(req *webReq, rs webResp, pre *query) {
	start := time.Now()
	result := resError
	defer func() {
		if p := recover(); p != nil {
			b.log.ErrorContext(req.ctx, "webhook: panic", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			rs.set("Content-Type", "text/plain; charset=utf-8")
			rs.reply(http.StatusOK, successBody)
			result = resError
		}
		b.m.WebhookLatency.WithLabelValues(result).Observe(time.Since(start).Seconds())
	}()
	switch req.method {
	case http.MethodGet:
		result = b.verifyURL(req, rs)
	case http.MethodPost:
		result = b.push(req, rs, start, pre)
	default:
		rs.set("Allow", "GET, POST")
		fail(rs, "method not allowed", http.StatusMethodNotAllowed)
		result = resBadRequest
	}
}

// query holds the URL parameters WeChat signs.
type query struct {
	signature, timestamp, nonce, echostr string
	encryptType, msgSignature            string
	ts                                   int64
}

func parseQuery(raw string) query {
	var q query
	for raw != "" {
		var kv string
		if i := indexByte(raw, '&'); i >= 0 {
			kv, raw = raw[:i], raw[i+1:]
		} else {
			kv, raw = raw, ""
		}
		k, v := kv, ""
		if i := indexByte(kv, '='); i >= 0 {
			k, v = kv[:i], kv[i+1:]
		}
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		switch k {
		case "signature":
			q.signature = v
		case "timestamp":
			q.timestamp = v
		case "nonce":
			q.nonce = v
		case "echostr":
			q.echostr = v
		case "encrypt_type":
			q.encryptType = v
		case "msg_signature":
			q.msgSignature = v
		}
	}
	return q
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// fresh refuses timestamps outside the window. WeChat's retries resend the
// same timestamp, nonce and signature, so inside the window a replay looks
// exactly like a retry and the dedupe answers it (same reply, no second side
// effect); outside the window it is refused here.
func (b *Bot) fresh(q *query) bool {
	ts, err := strconv.ParseInt(q.timestamp, 10, 64)
	if err != nil {
		return false
	}
	q.ts = ts
	d := b.now().Sub(time.Unix(ts, 0))
	ok := d <= b.window && d >= -b.window
	b.observeSkew(d, !ok) // fresh runs only once the signature held
	return ok
}

func (b *Bot) verifyURL(req *webReq, rs webResp) string {
	q := parseQuery(req.query)
	if q.signature == "" || !b.keyring.verify(q.signature, q.timestamp, q.nonce) || !b.fresh(&q) {
		fail(rs, "forbidden", http.StatusForbidden)
		return resForbidden
	}
	rs.set("Content-Type", "text/plain; charset=utf-8")
	rs.reply(http.StatusOK, []byte(q.echostr))
	return resVerify
}

// inbound is one verified, decrypted message and how to answer it.
type inbound struct {
	msg       *message.MixMessage
	raw       []byte // decrypted plaintext, for event fields MixMessage lacks
	encrypted bool
	keyIdx    int
	json      bool
	q         query
	start     time.Time
}

// admit runs every check the query and the declared length allow, before
// a byte of the body is read: the signature over token, timestamp and nonce
// (WeChat sends it in every mode), the timestamp window, the mode, the
// declared length. An unauthenticated request costs no body read at all.
// When it refuses, rs has the answer and ok is false.
func (b *Bot) admit(ctx context.Context, q *query, length int64, rs webResp) (result string, ok bool) {
	if q.signature == "" || !b.keyring.verify(q.signature, q.timestamp, q.nonce) || !b.fresh(q) {
		unread(rs, "forbidden", http.StatusForbidden)
		return resForbidden, false
	}
	aes := q.encryptType == "aes"
	if !aes && b.mode != config.MessageModePlain {
		return b.refusePlaintext(ctx, rs), false
	}
	if aes && q.msgSignature == "" {
		unread(rs, "forbidden", http.StatusForbidden)
		return resForbidden, false
	}
	if length > b.maxBody {
		unread(rs, "request body too large", http.StatusRequestEntityTooLarge)
		return resTooLarge, false
	}
	return "", true
}

// push answers a POST: admit the query, take a lane, read the body, open
// the message, work out the answer and write it.
func (b *Bot) push(req *webReq, rs webResp, start time.Time, pre *query) string {
	q, result, ok := b.pushQuery(req, rs, pre)
	if !ok {
		return result
	}
	lane, ok := b.takeLane(req.length, rs)
	if !ok {
		return resBusy
	}
	defer func() { <-lane }()
	bufp := bufPool.Get().(*[]byte)
	pooled := true
	defer func() {
		if pooled {
			putBuf(bufp)
		}
	}()
	body, result, ok := b.readPush(req, rs, start, bufp)
	if !ok {
		return result
	}
	in, result, ok := b.openPush(req.ctx, rs, &q, body)
	if !ok {
		return result
	}
	in.start = start
	out := b.exchange(req.ctx, &in)
	if out.result == resLate {
		// The work goes on after this answer and may still read the
		// message (a plaintext body is the message): leave the buffer to
		// the garbage collector.
		pooled = false
	}
	b.write(req.ctx, rs, &in, out.payload)
	return out.result
}

// pushQuery is the push's query once admit has passed it: pre when the
// transport ran admit already. When it is refused, rs has the answer and
// ok is false.
func (b *Bot) pushQuery(req *webReq, rs webResp, pre *query) (q query, result string, ok bool) {
	if pre != nil {
		return *pre, "", true
	}
	q = parseQuery(req.query)
	if result, ok := b.admit(req.ctx, &q, req.length, rs); !ok {
		return q, result, false
	}
	return q, "", true
}

// takeLane takes a place in the lane for bodies of this length; give it
// back with <-lane. The signature alone is no proof of a fresh request (the
// query of a push can be read wherever its URL is logged): the lanes bound
// what reading bodies may hold at once. When they are full the push is
// answered 503 and ok is false.
func (b *Bot) takeLane(length int64, rs webResp) (lane chan struct{}, ok bool) {
	lane = b.lane(length)
	select {
	case lane <- struct{}{}:
		return lane, true
	default:
		b.m.WebhookRefused.WithLabelValues(refusedBusy).Inc()
		rs.set("Retry-After", "1")
		unread(rs, "busy", http.StatusServiceUnavailable)
		return nil, false
	}
}

// readPush reads the body into *bufp, under the read deadline. When it
// cannot be read, rs has the answer and ok is false.
func (b *Bot) readPush(req *webReq, rs webResp, start time.Time, bufp *[]byte) (body []byte, result string, ok bool) {
	// A body that has not arrived by the deadline is of no use: WeChat has
	// given up by then.
	if req.deadline != nil {
		req.deadline(start.Add(b.readTO))
	}
	body, err := req.read((*bufp)[:0], b.maxBody)
	*bufp = body
	if err != nil {
		// What is left of the body is not read: close the connection.
		if errors.Is(err, errBodyTooLarge) {
			unread(rs, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, resTooLarge, false
		}
		unread(rs, "bad request", http.StatusBadRequest)
		return nil, resBadRequest, false
	}
	// The body is in. Lift the deadline, or net/http's watch for the
	// client going away would hit it and cancel the request's context
	// while the answer is still being worked out.
	if req.deadline != nil {
		req.deadline(time.Time{})
	}
	return body, "", true
}

// openPush is open with its refusals answered: when the body is not a
// message to handle, rs has the answer and ok is false.
func (b *Bot) openPush(ctx context.Context, rs webResp, q *query, body []byte) (in inbound, result string, ok bool) {
	in, err := b.open(q, body)
	switch {
	case errors.Is(err, errSignature):
		fail(rs, "forbidden", http.StatusForbidden)
		return in, resForbidden, false
	case errors.Is(err, errPlaintext):
		return in, b.refusePlaintext(ctx, rs), false
	case err != nil:
		return in, b.refuse(ctx, rs, err), false
	}
	return in, "", true
}

// open turns the body of an authenticated query into the message to handle.
// In safe and compat modes the message is the Encrypt element, and only when
// msg_signature verifies over it: the plaintext fields of a compat body are
// never read, and a body without Encrypt is refused (errPlaintext). In plain
// mode a plaintext body is taken as it is — nothing authenticates it beyond
// the query — and an encrypted one is decrypted when a key is configured.
func (b *Bot) open(q *query, body []byte) (inbound, error) {
	in := inbound{q: *q}
	plain := body
	switch {
	case q.encryptType == "aes":
		env, err := parseEnvelope(body)
		if errors.Is(err, errNoEncrypt) && b.mode != config.MessageModePlain {
			return in, errPlaintext
		}
		if err != nil {
			return in, err
		}
		if !b.keyring.verifyEnc(q.msgSignature, q.timestamp, q.nonce, env.Encrypt) {
			return in, errSignature
		}
		if !b.keyring.canDecrypt() && env.Plain {
			// Plain mode (New refuses the others without a key) and a
			// compatible body: the plaintext copy is all we can read,
			// authenticated as any plaintext push is.
			break
		}
		dec, idx, err := b.keyring.decrypt(env.Encrypt)
		if err != nil {
			return in, err
		}
		plain, in.keyIdx, in.encrypted, in.json = dec, idx, true, env.JSON
	case b.mode != config.MessageModePlain:
		return in, errPlaintext
	}
	msg, err := parseMessage(plain)
	if err != nil {
		return in, err
	}
	if msg.FromUserName == "" || msg.MsgType == "" {
		return in, errMalformed
	}
	in.msg, in.raw = msg, plain
	if !in.encrypted {
		in.json = isJSON(plain)
	}
	return in, nil
}

// refusePlaintext answers a plaintext push in safe or compat mode: 403,
// counted, and logged — it is a downgrade attempt with a captured query, or
// WeChat's settings page and wechat.message_mode disagree.
func (b *Bot) refusePlaintext(ctx context.Context, rs webResp) string {
	b.m.WebhookRefused.WithLabelValues(refusedPlaintext).Inc()
	b.log.WarnContext(ctx, "webhook: bad request", slog.Any("error", errPlaintext), slog.String("message_mode", b.mode))
	unread(rs, "forbidden", http.StatusForbidden)
	return resForbidden
}

// unread answers a request whose body is left unread, and closes the
// connection: the server would otherwise read (and discard) a body of up to
// 256 KB before answering, at the client's pace.
func unread(rs webResp, text string, status int) {
	rs.set("Connection", "close")
	fail(rs, text, status)
}

func (b *Bot) refuse(ctx context.Context, rs webResp, err error) string {
	// The error names what was wrong, never the content (see malformed).
	b.log.WarnContext(ctx, "webhook: bad request", slog.Any("error", err))
	fail(rs, "bad request", http.StatusBadRequest)
	return resBadRequest
}

// write sends the plaintext reply payload, sealed in safe and compatible
// modes; nil means `success`, which WeChat accepts unencrypted in every mode.
func (b *Bot) write(ctx context.Context, rs webResp, in *inbound, payload []byte) {
	if payload == nil {
		rs.set("Content-Type", "text/plain; charset=utf-8")
		rs.reply(http.StatusOK, successBody)
		return
	}
	if in.encrypted {
		bufp := bufPool.Get().(*[]byte)
		sealed, err := b.keyring.seal((*bufp)[:0], payload, in.keyIdx, in.q.ts, in.q.nonce, in.json)
		if err != nil {
			b.log.ErrorContext(ctx, "webhook: encrypt reply", slog.Any("error", err))
			rs.set("Content-Type", "text/plain; charset=utf-8")
			rs.reply(http.StatusOK, successBody)
			putBuf(bufp)
			return
		}
		payload = sealed
		defer func() { *bufp = sealed; putBuf(bufp) }()
	}
	if in.json {
		rs.set("Content-Type", "application/json; charset=utf-8")
	} else {
		rs.set("Content-Type", "application/xml; charset=utf-8")
	}
	rs.set("Content-Length", strconv.Itoa(len(payload)))
	rs.reply(http.StatusOK, payload)
}

// outcome is what a request answers: a plaintext payload (nil: success).
type outcome struct {
	payload []byte
	result  string
}

// exchange runs the work with the deadline. The work goes on in its own
// goroutine; when the deadline passes first, the request answers `success`
// and the work, on finishing, delivers its reply as a customer-service message.
func (b *Bot) exchange(ctx context.Context, in *inbound) outcome {
	b.heardFrom(ctx, string(in.msg.FromUserName))
	// A question answered from the archive runs inline: it is CPU work and
	// one bounded Redis round trip, far inside the deadline.
	if quickEligible(in.msg) {
		if o, ok := b.quickInline(ctx, in); ok {
			return o
		}
	}
	ex := &lateness{}
	done := make(chan outcome, 1)
	b.late.Add(1)
	// The work outlives the request when it is late: detach it from the
	// request's cancellation, but bound it.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.Deadline+b.lateTO)
	go func() {
		defer b.late.Done()
		defer cancel()
		done <- b.work(wctx, in, ex)
	}()
	remaining := b.cfg.Deadline - time.Since(in.start)
	timer := time.NewTimer(remaining)
	select {
	case o := <-done:
		timer.Stop()
		return o
	case <-timer.C:
		if ex.markLate() {
			return outcome{result: resLate}
		}
		return <-done
	}
}

// lateness decides, once, whether the work finished in time.
type lateness struct{ state atomic.Int32 }

func (l *lateness) markLate() bool   { return l.state.CompareAndSwap(0, 1) }
func (l *lateness) markInTime() bool { return l.state.CompareAndSwap(0, 2) }

// work is one message's whole handling: claim, route, side effects, store.
func (b *Bot) work(ctx context.Context, in *inbound, ex *lateness) (o outcome) {
	msg := in.msg
	openid := string(msg.FromUserName)
	key := b.keys.Dedupe(openid, dedupeID(msg))
	defer func() {
		if p := recover(); p != nil {
			b.log.ErrorContext(ctx, "webhook: panic while handling a message", slog.String("openid", openid),
				slog.String("msg_type", string(msg.MsgType)), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			// Retries of this message get success rather than the same panic.
			sctx, cancel := context.WithTimeout(ctx, b.redisTO)
			_ = b.rdb.Set(sctx, key, markSuccess, b.cfg.DedupeTTL).Err()
			cancel()
			o = outcome{result: resError}
			ex.markInTime()
		}
	}()

	st, claimErr := b.claim(ctx, key, openid, wantsSession(msg))
	degraded := claimErr != nil
	if degraded {
		b.redisFailed("claim", claimErr)
	} else {
		b.redisOK()
		if !st.won {
			return b.duplicate(ctx, key, st.existing, in, langByte(st.prefs.Lang))
		}
		b.hints.set(openid, st.prefs.Lang)
	}

	p := b.route(msg, in.raw, st)
	if degraded && p.changesState {
		p = b.cannotSave(p)
	}
	b.runEffects(ctx, openid, p.effects)
	ref := b.encode(ctx, &p, in, langAny)
	payload := ref.payload
	if !degraded {
		if err := b.finish(ctx, key, openid, &ref, &p); err != nil {
			degraded = true
			b.redisFailed("store", err)
		} else if p.prefs.SetLang != "" || p.prefs.Forget {
			b.hints.set(openid, p.prefs.SetLang)
		}
	}
	return b.conclude(ctx, key, openid, &p, payload, degraded, ex)
}

// quickInline runs quick in the request's goroutine, with work's recovery.
func (b *Bot) quickInline(ctx context.Context, in *inbound) (o outcome, ok bool) {
	openid := string(in.msg.FromUserName)
	key := b.keys.Dedupe(openid, dedupeID(in.msg))
	defer func() {
		if p := recover(); p != nil {
			b.log.ErrorContext(ctx, "webhook: panic while handling a message", slog.String("openid", openid),
				slog.String("msg_type", string(in.msg.MsgType)), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.redisTO)
			_ = b.rdb.SetNX(sctx, key, markSuccess, b.cfg.DedupeTTL).Err()
			cancel()
			o, ok = outcome{result: resError}, true
		}
	}()
	return b.quick(ctx, key, openid, in, &lateness{})
}

// quick is the one-round-trip path (commit.go). ok is false when the message
// turns out to need the general path.
func (b *Bot) quick(ctx context.Context, key, openid string, in *inbound, ex *lateness) (o outcome, ok bool) {
	lang := b.hints.get(openid)
	p, ref, ok := b.answerFor(ctx, in, lang)
	if !ok {
		return outcome{}, false
	}
	res, val, found, err := b.commit(ctx, store.CommitClaim, key, openid, &ref, p.session)
	if err != nil {
		b.redisFailed("claim", err)
		return b.conclude(ctx, key, openid, &p, ref.payload, true, ex), true
	}
	b.redisOK()
	if found != lang {
		// Another replica (or an earlier life of this one) knows better.
		b.hints.set(openid, found)
	}
	if res == alreadyClaimed {
		return b.duplicate(ctx, key, val, in, langByte(found)), true
	}
	if found != lang {
		// The claim is ours, with the answer in the language this replica
		// assumed: store the answer in the subscriber's language over it
		// before answering, so that a retry from now on gets that one. (A
		// retry that reads the key between the two writes — it would have
		// to arrive, on another replica, within this one round trip, right
		// after the subscriber changed language there — gets the first; see
		// docs/architecture.md.)
		// Arrivals that found the claim taken and read this language wait
		// for it (duplicate).
		p2, ref2, ok := b.answerFor(ctx, in, found)
		if !ok {
			// Not a question in that language after all (not expected):
			// the first answer stands, marked as final.
			p2, ref2 = p, ref
			if len(ref.value) >= refHead {
				ref2.value = append([]byte(nil), ref.value...)
				ref2.value[1] = langAny
			}
		}
		if _, _, _, err := b.commit(ctx, store.CommitOverwrite, key, openid, &ref2, nil); err != nil {
			// What is stored is the first answer: answer that.
			b.redisFailed("store", err)
		} else {
			p, ref = p2, ref2
		}
	}
	return b.conclude(ctx, key, openid, &p, ref.payload, false, ex), true
}

// pureRoute routes the message for a subscriber whose reply language is
// lang; ok is false when the answer needs more than that (plan.pure).
func (b *Bot) pureRoute(in *inbound, lang string) (plan, bool) {
	st := userState{prefs: subscribers.Prefs{Lang: lang}}
	p := b.route(in.msg, in.raw, &st)
	return p, p.pure()
}

// encode writes the plan's reply as the plaintext payload (nil: success)
// and what the dedupe key stores for it (replyref.go); lang is the langByte
// of the language it was worked out for.
func (b *Bot) encode(ctx context.Context, p *plan, in *inbound, lang byte) replyRef {
	if p.reply == nil {
		return replyRef{value: successStored}
	}
	var err error
	var payload []byte
	openid, account, now := string(in.msg.FromUserName), string(in.msg.ToUserName), b.now().Unix()
	buf := make([]byte, 0, 1024)
	if in.json {
		payload, err = appendReplyJSON(buf, p.reply, openid, account, now)
	} else {
		payload, err = appendReplyXML(buf, p.reply, openid, account, now)
	}
	if err != nil {
		b.log.ErrorContext(ctx, "webhook: encode reply", slog.Any("error", err))
		p.reply = nil
		return replyRef{value: successStored}
	}
	return b.refFor(payload, lang, in.json, openid, account, in.msg.CreateTime, now)
}

var successStored = []byte(markSuccess)

// conclude counts the reply and hands it to the request, or — when the
// deadline has passed meanwhile — sends it as a customer-service message.
func (b *Bot) conclude(ctx context.Context, key, openid string, p *plan, payload []byte, degraded bool, ex *lateness) outcome {
	b.m.Replies.WithLabelValues(replyKind(p.reply), p.rule).Inc()
	if !ex.markInTime() {
		b.deliverLate(ctx, key, openid, p.reply, degraded)
		return outcome{result: resLate}
	}
	switch {
	case degraded:
		return outcome{payload: payload, result: resDegraded}
	case payload == nil:
		return outcome{result: resSuccess}
	default:
		return outcome{payload: payload, result: resReply}
	}
}

// deliverLate sends a reply that missed the deadline as a customer-service
// message, and makes retries of the message answer `success` (the subscriber
// already has, or will get, the reply).
func (b *Bot) deliverLate(ctx context.Context, key, openid string, reply *chat.Reply, degraded bool) {
	if !degraded {
		sctx, cancel := context.WithTimeout(ctx, b.redisTO)
		_ = b.rdb.Set(sctx, key, markSuccess, b.cfg.DedupeTTL).Err()
		cancel()
	}
	if reply == nil {
		return
	}
	if b.messenger == nil {
		b.m.CustomerMessages.WithLabelValues("late_reply", "skipped").Inc()
		b.log.WarnContext(ctx, "webhook: reply missed the deadline and no WeChat credentials are configured to send it later; skipped",
			slog.String("openid", openid))
		return
	}
	var err error
	switch reply.Kind {
	case chat.TextReply:
		err = b.messenger.SendText(ctx, openid, reply.Text)
	case chat.NewsReply:
		err = b.messenger.SendNews(ctx, openid, reply.Articles)
	default:
		b.m.CustomerMessages.WithLabelValues("late_reply", "skipped").Inc()
		b.log.WarnContext(ctx, "webhook: late reply of this kind cannot be sent as a customer-service message; skipped",
			slog.String("openid", openid), slog.String("kind", reply.Kind.String()))
		return
	}
	if err != nil {
		b.m.CustomerMessages.WithLabelValues("late_reply", "failed").Inc()
		b.log.ErrorContext(ctx, "webhook: send late reply", slog.String("openid", openid), slog.Any("error", err))
		return
	}
	b.m.CustomerMessages.WithLabelValues("late_reply", "sent").Inc()
}

// redisFailed counts a degraded answer and logs the first failure of an outage.
func (b *Bot) redisFailed(reason string, err error) {
	b.m.Degraded.WithLabelValues(reason).Inc()
	if b.degraded.CompareAndSwap(false, true) {
		b.log.Error("webhook: redis unavailable; answering without dedupe, sessions or preferences",
			slog.String("step", reason), slog.Any("error", err))
	}
}

func (b *Bot) redisOK() {
	if b.degraded.Load() && b.degraded.CompareAndSwap(true, false) {
		b.log.Info("webhook: redis available again")
	}
}

func (b *Bot) runEffects(ctx context.Context, openid string, effects []effect) {
	for _, e := range effects {
		if err := e.run(ctx); err != nil {
			b.log.ErrorContext(ctx, "webhook: "+e.name, slog.String("openid", openid), slog.Any("error", err))
		}
	}
}

func replyKind(r *chat.Reply) string {
	if r == nil {
		return "success"
	}
	return r.Kind.String()
}
