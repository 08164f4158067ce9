package bot

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"sync"
	"time"
)

// A reply is stored once per body, not once per message. A passive reply is
// a head — the subscriber, the account and CreateTime — and a body — the
// message type and content, which is the same for every subscriber who gets
// that answer (everyone asking 最新 of one archive version). The dedupe key
// of a message holds only what rebuilds the head and names the body:
//
//	'R' lang digest(8) delta(2)   12 bytes: CreateTime = the message's + delta
//	'T' lang digest(8) time(8)    18 bytes: CreateTime itself (delta too large)
//	'F' lang payload              the whole payload (a head this code cannot
//	                              split off; not expected)
//
// lang is the reply language the answer was worked out for (langByte), or
// '*' when that does not matter: an arrival that finds the key taken and
// read another language just before (quick, commit.go) waits for the first
// arrival to store the answer in the right language over its claim.
//
// 12 bytes is what fits: with a dedupe key of up to 60 bytes, Redis then
// holds the message in 120 bytes (MEMORY USAGE); a 13th byte costs 16 more.
//
// digest is an HMAC-SHA256 of the body, truncated to 64 bits, keyed with a
// secret derived from wechat.token (the same on every replica of an
// account): nobody without the token can make two bodies share a digest.
// The body is kept under store.Keys.ReplyBody(hex(digest)) for twice the
// dedupe TTL, rewritten by a replica when its own last write is older than
// half the dedupe TTL — so a body outlives every dedupe key that names it —
// and in each replica's memory (bodyCache). A retry, on any replica, finds
// the body (memory, else Redis), writes the head again from its own message
// — the same subscriber, account and CreateTime — and so sends the same
// bytes as the first answer, whatever changed in the archive meanwhile.
const (
	markRef     = 'R'
	markRefTime = 'T'
	markFull    = 'F'
	digestLen   = 8
	refHead     = 2 // form and lang
	langAny     = '*'
)

// langByte is lang's byte in a stored value.
func langByte(lang string) byte {
	switch lang {
	case "":
		return '-'
	case langZH:
		return 'z'
	case langEN:
		return 'e'
	case langBoth:
		return 'b'
	}
	return langAny
}

// replyRef is an encoded reply: the payload to send now, and what is
// stored for it.
type replyRef struct {
	payload []byte // plaintext reply; nil: success
	value   []byte // the dedupe value (markSuccess, or one of the forms above)
	digest  string // hex digest of body; "" when there is no body to keep
	body    []byte // the part shared between subscribers
}

// digester computes body digests; one per goroutine at a time (pooled).
type digester struct {
	pool sync.Pool
}

func newDigester(token string) *digester {
	secret := sha256.Sum256([]byte("wxbot reply digest\x00" + token))
	d := &digester{}
	d.pool.New = func() any { return hmac.New(sha256.New, secret[:]) }
	return d
}

func (d *digester) sum(dst, body []byte) []byte {
	h := d.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(body)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	d.pool.Put(h)
	return append(dst, out[:digestLen]...)
}

// appendHead writes the per-subscriber start of a reply, exactly as
// appendReplyXML and appendReplyJSON write it.
func appendHead(dst []byte, jsonFormat bool, to, from string, now int64) []byte {
	if !jsonFormat {
		dst = append(dst, "<xml>"...)
		dst = appendElem(dst, "ToUserName", to)
		dst = appendElem(dst, "FromUserName", from)
		return appendIntElem(dst, "CreateTime", now)
	}
	dst = append(dst, `{"ToUserName":`...)
	dst = appendJSONString(dst, to)
	dst = append(dst, `,"FromUserName":`...)
	dst = appendJSONString(dst, from)
	dst = append(dst, `,"CreateTime":`...)
	return appendInt(dst, now)
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // the encoder encoding/json uses for struct fields
	return append(dst, b...)
}

func appendInt(dst []byte, v int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		tmp[i] = '-'
	}
	return append(dst, tmp[i:]...)
}

// isJSONBody tells a JSON reply body from an XML one (see splitReply).
func isJSONBody(body []byte) bool { return len(body) > 0 && body[0] == ',' }

// refFor makes the dedupe value of payload, a reply in language lang (a
// langByte) encoded for the message created at msgTime, addressed to, from,
// at now.
func (b *Bot) refFor(payload []byte, lang byte, jsonFormat bool, to, from string, msgTime, now int64) replyRef {
	var head [128]byte
	h := appendHead(head[:0], jsonFormat, to, from, now)
	if !bytes.HasPrefix(payload, h) || len(payload) == len(h) {
		return replyRef{payload: payload, value: append([]byte{markFull, lang}, payload...)}
	}
	body := payload[len(h):]
	var sum [digestLen]byte
	b.digests.sum(sum[:0], body)
	return refWith(payload, body, sum, hex.EncodeToString(sum[:]), lang, msgTime, now)
}

// refWith is refFor for a payload whose body (payload's end) is known to
// have the digest sum (hex: digest).
func refWith(payload, body []byte, sum [digestLen]byte, digest string, lang byte, msgTime, now int64) replyRef {
	val := make([]byte, refHead, refHead+digestLen+8)
	val[1] = lang
	delta := now - msgTime
	if delta >= -1<<15 && delta < 1<<15 {
		val[0] = markRef
		val = append(val, sum[:]...)
		val = binary.BigEndian.AppendUint16(val, uint16(int16(delta)))
	} else {
		val[0] = markRefTime
		val = append(val, sum[:]...)
		val = binary.BigEndian.AppendUint64(val, uint64(now))
	}
	return replyRef{payload: payload, value: val, digest: digest, body: body}
}

// isRef reports whether v is a stored reply (any form).
func isRef(v string) bool {
	return len(v) >= refHead && (v[0] == markRef || v[0] == markRefTime || v[0] == markFull)
}

// parseRef reads a stored reply value of the R or T form: the body's hex
// digest and the reply's CreateTime. ok is false for values of any other form.
func parseRef(v string, msgTime int64) (digest string, created int64, ok bool) {
	const d0, d1 = refHead, refHead + digestLen
	switch {
	case len(v) == d1+2 && v[0] == markRef:
		d := int16(binary.BigEndian.Uint16([]byte(v[d1:])))
		return hex.EncodeToString([]byte(v[d0:d1])), msgTime + int64(d), true
	case len(v) == d1+8 && v[0] == markRefTime:
		return hex.EncodeToString([]byte(v[d0:d1])), int64(binary.BigEndian.Uint64([]byte(v[d1:]))), true
	}
	return "", 0, false
}

// bodyCache keeps reply bodies by hex digest in this process, with when this
// process last wrote each to Redis. Bounded: when full it starts again
// (a miss costs one GET on a retry, or one more write).
type bodyCache struct {
	mu      sync.Mutex
	m       map[string]*cachedBody
	size    int
	maxSize int
}

type cachedBody struct {
	body    []byte
	written time.Time // zero: not written by this process
}

const (
	bodyCacheEntries = 8192
	bodyCacheBytes   = 16 << 20
)

func newBodyCache() *bodyCache {
	return &bodyCache{m: map[string]*cachedBody{}, maxSize: bodyCacheBytes}
}

func (c *bodyCache) get(digest string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[digest]; e != nil {
		return e.body
	}
	return nil
}

// needsWrite reports whether this process should (re)write body to Redis
// now: it never did, or did longer ago than refresh. It then records the
// write as done at now (the caller sends it).
func (c *bodyCache) needsWrite(digest string, body []byte, now time.Time, refresh time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[digest]
	if e == nil {
		e = c.put(digest, body)
	}
	if !e.written.IsZero() && now.Sub(e.written) < refresh {
		return false
	}
	e.written = now
	return true
}

// forget undoes needsWrite's record when the write failed.
func (c *bodyCache) forget(digest string) {
	c.mu.Lock()
	if e := c.m[digest]; e != nil {
		e.written = time.Time{}
	}
	c.mu.Unlock()
}

// remember keeps a body read from Redis.
func (c *bodyCache) remember(digest string, body []byte) {
	c.mu.Lock()
	if c.m[digest] == nil {
		c.put(digest, body)
	}
	c.mu.Unlock()
}

func (c *bodyCache) put(digest string, body []byte) *cachedBody {
	if len(c.m) >= bodyCacheEntries || c.size+len(body) > c.maxSize {
		clear(c.m)
		c.size = 0
	}
	e := &cachedBody{body: bytes.Clone(body)}
	c.m[digest] = e
	c.size += len(body)
	return e
}
