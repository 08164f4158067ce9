package main

// The main listener on fasthttp (http.server: fasthttp): the webhook path is
// served by bot.ServeFast, every other path by the net/http routes through
// fasthttpadaptor, on the same listener (http.addr).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/lifang/wxbot/bot"
)

const (
	// fastReadBuffer bounds a request's line and headers on the fasthttp
	// server (a longer one is answered 431); net/http's MaxHeaderBytes is
	// larger, but nothing wxbot serves needs more.
	fastReadBuffer = 16 << 10
	// otherBodyLimit is the most a request to a path other than the webhook
	// may send through the fasthttp server (the admin's forms take 4 KB).
	otherBodyLimit = 1 << 20
)

// fastServer is the main listener's server when http.server is fasthttp.
func (m *Main) fastServer(routes http.Handler) *fasthttp.Server {
	cfg := m.Config.HTTP
	webhook := cfg.WebhookPath
	other := fasthttpadaptor.NewFastHTTPHandler(withRequestLog(m.Log, webhook, routes))
	return &fasthttp.Server{
		Handler: func(c *fasthttp.RequestCtx) {
			if string(c.Path()) == webhook {
				m.serveFastWebhook(c)
				return
			}
			if !bufferBody(c, otherBodyLimit) {
				return
			}
			other(c)
		},
		// The webhook's checks run on the headers, before any of the
		// body is read (bot.FastAdmit); a refusal is answered by the
		// Expect hook.
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			path, query := splitURI(h.RequestURI())
			if !h.IsPost() || string(path) != webhook {
				// No body is read before the handler here either:
				// bufferBody (or, for a webhook path in another
				// spelling, the webhook's own checks) reads it.
				bot.ClearAdmit(h)
				return fasthttp.RequestConfig{MaxRequestBodySize: 1}
			}
			// The request id, chosen now, so that admit's log lines
			// carry the id the request's own line and answer carry.
			id := string(h.Peek(requestIDHeader))
			if !validRequestID(id) {
				id = newRequestID()
				h.Set(requestIDHeader, id)
			}
			return m.Bot.FastAdmit(context.WithValue(context.Background(), requestIDKey{}, id), h, string(query))
		},
		ExpectHandler: func(c *fasthttp.RequestCtx) int {
			if string(c.Path()) != webhook {
				if c.Request.Header.ContentLength() > otherBodyLimit {
					return fasthttp.StatusRequestEntityTooLarge
				}
				return fasthttp.StatusContinue
			}
			start := time.Now()
			ctx, id := fastRequestID(c)
			status := m.Bot.FastExpect(c)
			if status != fasthttp.StatusContinue {
				c.Response.Header.Set(requestIDHeader, id)
				m.logFast(ctx, c, status, len(c.Response.Body()), start)
			}
			return status
		},
		StreamRequestBody:     true,
		MaxRequestBodySize:    int(max(cfg.MaxBodyBytes, otherBodyLimit)),
		ReadBufferSize:        fastReadBuffer,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		CloseOnShutdown:       true,
		NoDefaultServerHeader: true,
		Logger:                fastLogger{m.Log},
		// Its error lines name the error, never the request's bytes (the
		// query carries WeChat's signatures, an admin link its token).
		SecureErrorLogMessage: true,
	}
}

// bufferBody reads a streamed body whole, at most limit bytes, for the
// net/http handlers; a longer one is answered 413 and the connection closed.
func bufferBody(c *fasthttp.RequestCtx, limit int) bool {
	if c.Request.Header.ContentLength() > limit {
		c.SetConnectionClose()
		c.Error("request body too large", fasthttp.StatusRequestEntityTooLarge)
		return false
	}
	rd := c.RequestBodyStream()
	if rd == nil {
		return true
	}
	b, err := io.ReadAll(io.LimitReader(rd, int64(limit)+1))
	if err != nil || len(b) > limit {
		c.SetConnectionClose()
		if err != nil {
			c.Error("bad request", fasthttp.StatusBadRequest)
		} else {
			c.Error("request body too large", fasthttp.StatusRequestEntityTooLarge)
		}
		return false
	}
	c.Request.SetBody(b)
	return true
}

// splitURI splits a request URI at the query.
func splitURI(uri []byte) (path, query []byte) {
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		return uri[:i], uri[i+1:]
	}
	return uri, nil
}

// fastRequestID is withRequestLog's request id for a fasthttp request: the
// caller's X-Request-Id when sane, else a new one; the context carries it
// into the log records written for the request.
func fastRequestID(c *fasthttp.RequestCtx) (context.Context, string) {
	id := string(c.Request.Header.Peek(requestIDHeader))
	if !validRequestID(id) {
		id = newRequestID()
	}
	return context.WithValue(context.Background(), requestIDKey{}, id), id
}

// serveFastWebhook is withRequestLog around bot.ServeFast.
func (m *Main) serveFastWebhook(c *fasthttp.RequestCtx) {
	start := time.Now()
	ctx, id := fastRequestID(c)
	c.Response.Header.Set(requestIDHeader, id)
	m.Bot.ServeFast(ctx, c)
	m.logFast(ctx, c, c.Response.StatusCode(), len(c.Response.Body()), start)
}

// logFast writes withRequestLog's line for a webhook request.
func (m *Main) logFast(ctx context.Context, c *fasthttp.RequestCtx, status, n int, start time.Time) {
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status < 400:
		level = slog.LevelDebug
	}
	if !m.Log.Enabled(ctx, level) {
		return
	}
	m.Log.LogAttrs(ctx, level, "http request",
		slog.String("method", string(c.Method())),
		slog.String("path", string(c.Path())),
		slog.Int("status", status),
		slog.Int("bytes", n),
		slog.Duration("duration", time.Since(start)),
		slog.String("remote", c.RemoteAddr().String()),
	)
}

// fastLogger is the server's error log, at warn level as net/http's is.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}

// serveFast serves ln until Shutdown.
func serveFast(s *fasthttp.Server, ln net.Listener) error { return s.Serve(ln) }
