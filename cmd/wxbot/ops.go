package main

// Operations of `wxbot serve`: request ids in every request's log line and
// in log records written with the request's context, the access log, and
// the readiness checks behind /readyz.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// requestIDHeader carries a request id in and out: a load balancer's id is
// kept, so one request can be followed from the balancer's log into ours.
const requestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// requestID returns the id of the request ctx belongs to, or "".
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// newRequestID is 16 random hex characters.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts an incoming id only when it cannot forge log lines
// or bloat them: 1 to 64 characters of letters, digits and - _ . :
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withRequestLog gives every request an id (X-Request-Id, kept when the
// caller sent a sane one), answers it in the same header, and writes one
// log line per request after it is answered: method, path (never the
// query, which carries WeChat's signatures and the admin token), status,
// bytes, duration. Probes, scrapes and answered webhook pushes log at debug
// level: they are counted in /metrics, and a line per chat message would
// cost the webhook a write per request; refusals (4xx) and everything else
// log at info, a 5xx as an error.
func withRequestLog(log *slog.Logger, webhookPath string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		sw := &statusWriter{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		next.ServeHTTP(sw, r.WithContext(ctx))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		level := slog.LevelInfo
		switch {
		case sw.status >= 500:
			level = slog.LevelError
		case r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics":
			level = slog.LevelDebug
		case r.URL.Path == webhookPath && sw.status < 400:
			level = slog.LevelDebug
		}
		if !log.Enabled(ctx, level) {
			return
		}
		log.LogAttrs(ctx, level, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// requestIDHandler adds request_id to every record logged with a request's
// context (log.InfoContext(r.Context(), …)), whoever logs it.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// withRequestIDs wraps a logger so records carry the request id of their context.
func withRequestIDs(log *slog.Logger) *slog.Logger {
	if _, ok := log.Handler().(requestIDHandler); ok {
		return log
	}
	return slog.New(requestIDHandler{log.Handler()})
}

// readyCheck is one condition of readiness; err nil means it holds.
type readyCheck struct {
	name  string
	check func(ctx context.Context) (detail string, err error)
}

// readiness are the conditions under which this replica should get traffic:
// Redis answers (without it the webhook only answers degraded: no dedupe,
// no sessions) and the archive the chat answers from is loaded. An invalid
// configuration never gets this far: Run refuses it, naming the key.
func (m *Main) readiness() []readyCheck {
	checks := []readyCheck{
		{"redis", func(ctx context.Context) (string, error) {
			start := time.Now()
			if err := m.Store.Ping(ctx).Err(); err != nil {
				return "", fmt.Errorf("ping: %w", err)
			}
			return "ping " + time.Since(start).Round(time.Microsecond).String(), nil
		}},
		{"archive", func(ctx context.Context) (string, error) {
			snap := m.Archive.Current()
			if snap == nil {
				return "", fmt.Errorf("not loaded")
			}
			if dir := m.Config.Newsletter.Inbox; dir != "" {
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					return "", fmt.Errorf("newsletter.inbox %s is not a readable folder", dir)
				}
			}
			return fmt.Sprintf("%d issues", snap.Len()), nil
		}},
	}
	return append(checks, m.extraReady...)
}

// readyHandler answers /readyz: 200 "ready" when every check holds, else
// 503 — with detail, the failed checks one per line, and ?verbose lists
// every check; without (the public port when http.ops_addr is set), only
// "not ready", as the failures name internal addresses. The log says why
// either way.
func (m *Main) readyHandler(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { m.serveReady(w, r, detail) }
}

func (m *Main) serveReady(w http.ResponseWriter, r *http.Request, detail bool) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	var failed, all []string
	for _, c := range m.readiness() {
		detail, err := c.check(ctx)
		if err != nil {
			line := c.name + ": " + err.Error()
			failed = append(failed, line)
			all = append(all, line)
			continue
		}
		all = append(all, c.name+": ok "+detail)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(failed) > 0 {
		// Probes come every few seconds: log the change, not each probe.
		if m.notReady.CompareAndSwap(false, true) {
			m.Log.WarnContext(r.Context(), "not ready", slog.String("failed", strings.Join(failed, "; ")))
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		if !detail {
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = fmt.Fprintf(w, "not ready\n%s\n", strings.Join(failed, "\n"))
		return
	}
	if m.notReady.CompareAndSwap(true, false) {
		m.Log.InfoContext(r.Context(), "ready again")
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose && detail {
		if m.Bot != nil {
			// Information, not a condition: a drifting clock is fixed on the
			// host, and taking every replica out would change nothing.
			all = append(all, "clock: "+m.Bot.ClockSkew().String())
		}
		_, _ = fmt.Fprintf(w, "ready\n%s\n", strings.Join(all, "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// redisLog sends go-redis's own messages (a failed dial, per attempt) to
// the process log at debug level: during an outage they would repeat for
// every request, while the bot and /readyz already say it once.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// quietRedisLog installs redisLog. go-redis keeps one logger per process,
// so only the serve command, which owns the process, sets it.
func quietRedisLog(log *slog.Logger) { redis.SetLogger(redisLog{log}) }
