package bot

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
)

// A body is read only once the query has been authenticated (push checks
// the signature and the timestamp first), and only a bounded number of
// bodies are read at once, into bounded buffers: whatever arrives, the
// webhook's memory stays within a fixed budget and the memory is given back.
//
// Bodies declared small (WeChat's pushes are about 1 KB) and bodies declared
// large or of unknown length read through separate lanes, so a flood of
// large bodies held open — possible with a captured URL, whose signature
// stays valid for the timestamp window — cannot stop ordinary pushes from
// being answered. A request that finds its lane full is answered 503 at
// once (WeChat retries) and counted in wxbot_webhook_refused_total{reason="busy"}.
const (
	// smallBody is the largest declared length read through the small lane.
	smallBody = 16 << 10
	// smallSlots bodies of up to smallBody are read at once: 8 MiB at most.
	smallSlots = 512
	// largeBudget is what the large bodies being read at once may hold
	// together; the lane has largeBudget / http.max_body_bytes slots.
	largeBudget = 32 << 20
	// maxPooled is the largest buffer kept for reuse; larger ones go back
	// to the garbage collector when the request ends.
	maxPooled = 64 << 10
)

// largeSlots is the number of large bodies read at once: the budget over the
// body limit, at least 2 and at most smallSlots.
func largeSlots(maxBody int64) int {
	n := largeBudget / max(maxBody, 1)
	return int(min(max(n, 2), smallSlots))
}

// bufPool holds the buffers bodies, ciphertexts and sealed replies are read
// and written into. Only buffers up to maxPooled go back (putBuf).
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// putBuf returns a buffer to the pool unless it grew past maxPooled.
func putBuf(bufp *[]byte) {
	if cap(*bufp) > maxPooled {
		return
	}
	*bufp = (*bufp)[:0]
	bufPool.Put(bufp)
}

// lane is the semaphore a body of the declared length reads through.
func (b *Bot) lane(contentLength int64) chan struct{} {
	if contentLength >= 0 && contentLength <= smallBody {
		return b.small
	}
	return b.large
}

// errBodyTooLarge ends a body read past the limit.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads the body rd, at most limit bytes, into buf; length is the
// declared length, -1 when unknown. The buffer grows as bytes arrive — a
// client that declares a megabyte and sends ten bytes costs ten bytes — and
// never past the declared length (plus the byte that sees the end), so an
// honest body is read with no slack.
func readBody(rd io.Reader, buf []byte, length, limit int64) ([]byte, error) {
	ceiling := limit + 1
	if length >= 0 && length < limit {
		ceiling = length + 1
	}
	for {
		if len(buf) == cap(buf) {
			grow := int64(max(cap(buf), 4096))
			if int64(len(buf))+grow > ceiling {
				grow = max(ceiling-int64(len(buf)), 512)
			}
			buf = slices.Grow(buf, int(grow))
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errBodyTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return buf, errBodyTooLarge
			}
			return buf, err
		}
	}
}
