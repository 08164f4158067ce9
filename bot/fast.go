package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// The webhook over fasthttp (http.server: fasthttp). The decisions are
// serve's, shared with ServeHTTP; this file only carries the request in and
// the answer out. The server must stream request bodies
// (fasthttp.Server.StreamRequestBody) and call FastAdmit on the headers of a
// POST to the webhook (HeaderReceived) and FastExpect as its ExpectHandler:
// a refused request then has none of its body read, an admitted one one
// byte before the handler runs, and the rest under the handler's lanes,
// deadline and limit.

// fastResp answers through fasthttp.
type fastResp struct{ c *fasthttp.RequestCtx }

func (r fastResp) set(k, v string) {
	switch k {
	case "Connection":
		r.c.SetConnectionClose()
	case "Content-Length":
		// fasthttp writes it from the body.
	default:
		r.c.Response.Header.Set(k, v)
	}
}

func (r fastResp) reply(status int, body []byte) {
	r.c.SetStatusCode(status)
	r.c.SetBody(body) // copies: the caller's buffer goes back to the pool
}

// ServeFast answers one webhook request over fasthttp; ctx carries what the
// log records of the request need (its request id).
func (b *Bot) ServeFast(ctx context.Context, c *fasthttp.RequestCtx) {
	length := int64(c.Request.Header.ContentLength())
	if length < 0 {
		length = -1 // chunked (or, for a GET, none)
	}
	req := webReq{
		ctx: ctx, method: string(c.Method()), query: string(c.URI().QueryString()), length: length,
		read: func(buf []byte, limit int64) ([]byte, error) {
			if rd := c.RequestBodyStream(); rd != nil {
				return readBody(rd, buf, length, limit)
			}
			return readBody(bytes.NewReader(c.Request.Body()), buf, length, limit)
		},
		deadline: func(t time.Time) { _ = c.SetReadDeadline(t) },
	}
	var pre *query
	switch status := b.admitted(&c.Request.Header); {
	case status == fasthttp.StatusContinue:
		q := parseQuery(req.query)
		q.ts, _ = strconv.ParseInt(q.timestamp, 10, 64)
		pre = &q
	case status != 0:
		// Refused by FastAdmit, and no Expect hook ran (HTTP/1.0).
		b.refuseAdmitted(fastResp{c}, status, time.Now())
		return
	}
	b.serve(&req, fastResp{c}, pre)
}

// admitHeader carries FastAdmit's decision from the header hook to the
// Expect hook and the handler, inside the request's own headers. Its value
// starts with a secret of this process, so a client cannot send one: any
// incoming one is deleted first.
const admitHeader = "X-Wxbot-Admitted"

var admitSecret = func() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + ":"
}()

// FastAdmit is fasthttp's HeaderReceived hook for a POST to the webhook: it
// runs admit (signature, timestamp window, mode, declared length) once the
// headers are in, before fasthttp reads any of the body. A refused request
// is made to look like one with `Expect: 100-continue`, so that fasthttp
// reads no body at all and calls FastExpect, which answers the refusal
// (403, 413) and closes the connection; its metrics and log lines are
// admit's. ctx carries the request id.
//
// An admitted request's body is left to the handler: the configuration
// returned makes fasthttp read one byte of it at most before the handler
// runs (it reads min(8 KB, limit) otherwise), so the body lanes, the read
// deadline and the limit apply to the whole body as they do on net/http.
func (b *Bot) FastAdmit(ctx context.Context, h *fasthttp.RequestHeader, rawQuery string) fasthttp.RequestConfig {
	h.Del(admitHeader)
	q := parseQuery(rawQuery)
	var rs expectResp
	if _, ok := b.admit(ctx, &q, int64(h.ContentLength()), &rs); ok {
		h.Set(admitHeader, admitSecret+"100")
		return fasthttp.RequestConfig{MaxRequestBodySize: 1}
	}
	h.Set(admitHeader, admitSecret+strconv.Itoa(rs.status))
	h.Set("Expect", "100-continue")
	return fasthttp.RequestConfig{MaxRequestBodySize: 1}
}

// ClearAdmit deletes an incoming admitHeader from a request FastAdmit was
// not run on.
func ClearAdmit(h *fasthttp.RequestHeader) { h.Del(admitHeader) }

// admitted is FastAdmit's status for the request: 100, a refusal, or 0
// when FastAdmit did not run.
func (b *Bot) admitted(h *fasthttp.RequestHeader) int {
	v := h.Peek(admitHeader)
	if len(v) <= len(admitSecret) || string(v[:len(admitSecret)]) != admitSecret {
		return 0
	}
	n, _ := strconv.Atoi(string(v[len(admitSecret):]))
	return n
}

// refuseAdmitted answers a request FastAdmit refused, as push would have.
func (b *Bot) refuseAdmitted(rs webResp, status int, start time.Time) {
	result, text := resForbidden, "forbidden"
	if status == http.StatusRequestEntityTooLarge {
		result, text = resTooLarge, "request body too large"
	}
	unread(rs, text, status)
	b.m.WebhookLatency.WithLabelValues(result).Observe(time.Since(start).Seconds())
}

// expectResp records what admit would answer.
type expectResp struct{ status int }

func (r *expectResp) set(string, string)         {}
func (r *expectResp) reply(status int, _ []byte) { r.status = status }

// FastExpect is fasthttp's ExpectHandler for the webhook: a request FastAdmit
// refused is answered here, before a byte of its body is read (and a client
// that sent `Expect: 100-continue` gets no 100); an admitted one gets its
// 100 and is handled by ServeFast.
func (b *Bot) FastExpect(c *fasthttp.RequestCtx) int {
	switch status := b.admitted(&c.Request.Header); status {
	case 0, fasthttp.StatusContinue:
		return fasthttp.StatusContinue
	default:
		b.refuseAdmitted(fastResp{c}, status, time.Now())
		return status
	}
}

// LingerListener is the listener to serve the fasthttp webhook on. When a
// connection is closed with part of a request still unread (a refusal
// answered before its body), closing at once would make the kernel reset
// the connection, and the reset can destroy the answer before the client
// reads it. Its connections close as net/http's do: the write side first,
// then, lingerFor later, the socket — on a timer, so the server's worker
// does not wait.
func LingerListener(ln net.Listener) net.Listener { return lingerListener{ln} }

const lingerFor = 500 * time.Millisecond // net/http's rstAvoidanceDelay

type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c}, nil
}

type lingerConn struct {
	net.Conn
	once sync.Once
}

func (c *lingerConn) Close() error {
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok {
		return c.Conn.Close()
	}
	c.once.Do(func() {
		if tc.CloseWrite() != nil {
			_ = tc.Close()
			return
		}
		time.AfterFunc(lingerFor, func() { _ = tc.Close() })
	})
	return nil
}
