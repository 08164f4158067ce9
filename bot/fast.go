package bot

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// The webhook over fasthttp (http.server: fasthttp). The decisions are
// serve's, shared with ServeHTTP; this file only carries the request in and
// the answer out. The server must stream request bodies
// (fasthttp.Server.StreamRequestBody): fasthttp then reads at most 8 KB of a
// body before the handler runs (WeChat's pushes, about 1 KB, arrive whole),
// and the rest only once admit has authenticated the query.

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
	if q, ok := c.UserValue(admittedKey{}).(*query); ok {
		pre = q
	}
	b.serve(&req, fastResp{c}, pre)
}

type admittedKey struct{}

// expectResp records what admit would answer; fasthttp's Expect hook may
// set only the status (the connection is closed after it).
type expectResp struct{ status int }

func (r *expectResp) set(string, string)         {}
func (r *expectResp) reply(status int, _ []byte) { r.status = status }

// FastExpect is fasthttp's ExpectHandler for the webhook: a request with
// `Expect: 100-continue` is admitted (signature, timestamp window, mode,
// declared length) before the client is told to send the body. A refusal
// is answered with admit's status (403, 413) and no body, counted in
// wxbot_webhook_duration_seconds as any refusal is; 100 lets the body come
// and ServeFast handle it, without checking the query a second time.
func (b *Bot) FastExpect(ctx context.Context, c *fasthttp.RequestCtx) int {
	if string(c.Method()) != http.MethodPost {
		return fasthttp.StatusContinue // serve answers it
	}
	start := time.Now()
	q := parseQuery(string(c.URI().QueryString()))
	var rs expectResp
	result, ok := b.admit(ctx, &q, int64(c.Request.Header.ContentLength()), &rs)
	if ok {
		c.SetUserValue(admittedKey{}, &q)
		return fasthttp.StatusContinue
	}
	b.m.WebhookLatency.WithLabelValues(result).Observe(time.Since(start).Seconds())
	return rs.status
}
