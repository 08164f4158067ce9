package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/valyala/fasthttp"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/bot"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/inbox"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/readership"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/subscribers"
	"github.com/lifang/wxbot/wechat"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the webhook (chat) and the service's HTTP endpoints",
		Long: `serve answers WeChat's message pushes at http.webhook_path and serves
/healthz, /readyz and /metrics (with http.ops_addr, /metrics and
/readyz?verbose on that second listener only). With no configuration at all it starts an
embedded Redis-compatible store (nothing is kept after exit), answers from
the built-in example issues, and writes a development token to a local
file that 'wxbot chat' reads: try 'wxbot serve' in one terminal and
'wxbot chat 最新' in another.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, map[string]string{
				"http.addr":        "addr",
				"redis.addr":       "redis",
				"newsletter.inbox": "inbox",
			})
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log, cmd.ErrOrStderr())
			quietRedisLog(log)
			tuneGC(log, os.LookupEnv, readCgroupMemoryLimit)
			m := NewMain(cfg, log)
			if err := m.Run(cmd.Context()); err != nil {
				_ = m.Close()
				return err
			}
			<-cmd.Context().Done()
			log.Info("shutting down")
			return m.Close()
		},
	}
	cmd.Flags().String("addr", "", "listen address (key http.addr, default :8080)")
	cmd.Flags().String("redis", "", "Redis address host:port (key redis.addr; default: an embedded store)")
	cmd.Flags().String("inbox", "", "folder of issue files to serve and watch (key newsletter.inbox; default: the built-in examples)")
	return cmd
}

// serveGOGC is the garbage collector's target for `wxbot serve` unless
// GOGC is set: measured with cmd/wxbench (docs/benchmarks.md, "Levers"),
// the webhook's garbage is short-lived per-request buffers over a small
// live heap (tens of MB), so collecting at 5× the live heap rather than 2×
// cuts the collector's share of each request several-fold for a few tens
// of MB more. GOMEMLIMIT, unless set, is 80 % of the container's memory
// limit (cgroup), so the larger target never runs a replica out of memory:
// near the limit the collector runs as often as it must.
const (
	serveGOGC        = 400
	serveMemoryShare = 0.8
)

// tuneGC applies serveGOGC and the memory limit, each unless the
// environment sets it (GOGC, GOMEMLIMIT: the Go runtime's own variables).
func tuneGC(log *slog.Logger, env func(string) (string, bool), cgroupLimit func() int64) {
	gogc, limit := "env", "env"
	if _, ok := env("GOGC"); !ok {
		debug.SetGCPercent(serveGOGC)
		gogc = strconv.Itoa(serveGOGC)
	}
	if _, ok := env("GOMEMLIMIT"); !ok {
		limit = "none"
		if l := cgroupLimit(); l > 0 {
			debug.SetMemoryLimit(int64(float64(l) * serveMemoryShare))
			limit = strconv.FormatInt(int64(float64(l)*serveMemoryShare), 10)
		}
	}
	log.Debug("garbage collector", slog.String("gogc", gogc), slog.String("memory_limit", limit))
}

// readCgroupMemoryLimit is the memory limit of this process's cgroup (v2,
// else v1), 0 when there is none.
func readCgroupMemoryLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(p); err == nil {
			return parseMemoryLimit(string(b))
		}
	}
	return 0
}

// parseMemoryLimit reads a cgroup memory limit: bytes, or "max" (none); an
// absurd value (v1 writes 2^63 rounded down to the page for none) is none.
func parseMemoryLimit(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n >= 1<<50 {
		return 0
	}
	return n
}

// Main is the `wxbot serve` program: everything it opens, in the order it
// opens them, so that an end-to-end test can start the whole program on
// port :0 and stop it again (the Main/Run/Close shape of wtf's cmd/wtfd).
type Main struct {
	// Config is read, not changed, by Run, but for one step: defaults fills
	// in a development token as WeChat.Token when it is empty.
	Config *config.Config
	Log    *slog.Logger
	// DevTokenPath is where a development token is kept when wechat.token is
	// empty; "" means DefaultDevTokenPath().
	DevTokenPath string

	// The WeChat side, nil without credentials: late replies are then logged
	// and skipped, job events logged. Set them before Run, or build them in
	// wireWeChat.
	Audience  bot.Audience
	Messenger bot.Messenger
	JobEvents bot.JobEvents

	// API is the WeChat API client (calls fail with wechat.ErrNotConfigured
	// without credentials); Subscribers tracks followers, campaigns and tags.
	API         *wechat.Client
	Subscribers *subscribers.Service
	// Publisher runs the publishing pipeline: the scheduler (one leader
	// among the replicas), the inbox (publish.auto) and the job reports.
	// nil without credentials.
	Publisher *publisher.Publisher
	// Notices tells the editors (nil without WeChat credentials).
	Notices *notify.Notifier
	// Readership collects WeChat's figures daily on the scheduler's leader
	// (stats.go, readership/); nil without credentials.
	Readership *readership.Collector

	Metrics *metrics.Metrics
	Store   *store.Store
	Archive *archive.Archive
	Loader  *inbox.Loader
	Bot     *bot.Bot
	// Admin serves the editor's pages; nil when admin.token is empty.
	Admin http.Handler

	server   *http.Server
	fast     *fasthttp.Server // instead of server with http.server: fasthttp
	listener net.Listener
	cancel   context.CancelFunc
	workers  sync.WaitGroup
	serveErr chan error

	// The ops listener (http.ops_addr), when configured.
	opsServer   *http.Server
	opsListener net.Listener
	opsErr      chan error

	closeOnce sync.Once
	closeErr  error

	// extraReady are readiness checks added by the parts wired in (ops.go);
	// notReady remembers the last /readyz answer so changes log once.
	extraReady []readyCheck
	notReady   atomic.Bool
}

// NewMain returns a program for the configuration; nothing is opened yet.
func NewMain(cfg *config.Config, log *slog.Logger) *Main {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Main{Config: cfg, Log: withRequestIDs(log), serveErr: make(chan error, 1), opsErr: make(chan error, 1)}
}

// Run builds the program step by step, starts the background workers and
// starts serving; it returns once the server listens. Stop with Close.
// Each step needs what the steps before it filled in: the comments name
// both, so the order is the one written here and nowhere else.
func (m *Main) Run(ctx context.Context) error {
	// Config → Config.WeChat.Token when it is empty (a development token), Metrics.
	if err := m.defaults(); err != nil {
		return err
	}
	// Config.Redis → Store (degraded, not failed, when Redis does not answer).
	if err := m.connectStore(ctx); err != nil {
		return err
	}
	// → the workers' context, cancelled by Close rather than by ctx.
	wctx := m.workerContext(ctx)
	// Store → Archive (empty until the inbox loads).
	m.buildArchive()
	// Config.Newsletter.Inbox → refused unless it is a folder (inbox.go).
	if err := m.checkInbox(); err != nil {
		return err
	}
	// Store, Archive → API, Subscribers, Notices, Publisher, Readership, and
	// Audience, Messenger, JobEvents unless set (nil parts without credentials).
	if err := m.wireWeChat(wctx); err != nil {
		return err
	}
	// Archive, Publisher → Loader, whose consumers they are (inbox.go).
	m.wireInbox()
	// Loader, Archive → the issues loaded; the archive refreshed and the
	// folder watched until Close.
	m.loadInbox(ctx, wctx)
	// Store, Archive, Audience, Messenger, JobEvents, Publisher, Notices → Bot.
	if err := m.buildBot(); err != nil {
		return err
	}
	// Store, Archive, Publisher → Admin (nil without admin.token; admin.go).
	if err := m.buildAdmin(); err != nil {
		return err
	}
	// Config.HTTP → the listeners (main and ops), nothing served yet.
	if err := m.listen(); err != nil {
		return err
	}
	// Bot, Admin, Metrics, the listeners → the servers, serving.
	m.startServing()
	return nil
}

// defaults fills in what serve runs with when the configuration leaves it
// out: a development token as Config.WeChat.Token when wechat.token is
// empty — the one change Run makes to the configuration; the bot then
// checks signatures against it and 'wxbot chat' reads it from
// DevTokenPath — and the metrics when none were set.
func (m *Main) defaults() error {
	if m.Config.WeChat.Token == "" {
		tok, err := m.useDevToken()
		if err != nil {
			return err
		}
		m.Config.WeChat.Token = tok
	}
	if m.Metrics == nil {
		m.Metrics = metrics.New()
	}
	return nil
}

// useDevToken reads, or creates, the development token at DevTokenPath
// (default DefaultDevTokenPath) and says so in the log.
func (m *Main) useDevToken() (string, error) {
	path := m.DevTokenPath
	if path == "" {
		path = DefaultDevTokenPath()
	}
	tok, created, err := devToken(path)
	if err != nil {
		return "", fmt.Errorf("serve: wechat.token is empty and no development token could be kept: %w", err)
	}
	m.Log.Warn("wechat.token is not set: using a development token (WeChat cannot reach this server with it; 'wxbot chat' can)",
		slog.String("file", path), slog.Bool("new", created))
	return tok, nil
}

// connectStore opens Redis as Store. A Redis that does not answer is not
// an error: serve starts anyway, as after an outage.
func (m *Main) connectStore(ctx context.Context) error {
	s, err := store.Connect(ctx, m.Config.Redis, m.Log)
	if s == nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err != nil {
		// The webhook answers degraded, /readyz fails and says why, and
		// everything catches up by itself once Redis answers (a replica
		// started before Redis — a deploy, a node reboot — serves rather
		// than crash-looping).
		m.Log.Error("redis does not answer: serving degraded (no dedupe, sessions or preferences; publisher paused) until it does; /readyz fails meanwhile",
			slog.Any("error", err))
	}
	m.Store = s
	return nil
}

// workerContext is the context of the background workers: they live until
// Close, not until the start-up context ends.
func (m *Main) workerContext(ctx context.Context) context.Context {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	return wctx
}

// buildArchive builds the shared archive over Store.
func (m *Main) buildArchive() {
	m.Archive = archive.New(archive.Options{Redis: m.Store.UniversalClient, Keys: m.Store.Keys, Log: m.Log})
}

// loadInbox loads the issue files once (bounded by ctx and 10 s: on
// failure the archive serves them from memory and the watch retries), then
// keeps the archive fresh and the folder watched on wctx.
func (m *Main) loadInbox(ctx, wctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := m.Loader.Load(lctx)
	cancel()
	if err != nil {
		m.Log.Warn("archive: issues not stored in redis yet; serving them from memory and retrying", slog.Any("error", err))
	}
	m.goWork(func() { m.Archive.Run(wctx, time.Second) })
	m.goWork(func() {
		if err := m.Loader.Watch(wctx); err != nil {
			m.Log.Error("archive: inbox not watched", slog.Any("error", err))
		}
	})
}

// buildBot builds the webhook's bot from what wireWeChat filled in.
func (m *Main) buildBot() error {
	b, err := bot.New(bot.Options{
		Config: m.Config, Redis: m.Store.UniversalClient, Keys: m.Store.Keys, Archive: m.Archive,
		Audience: m.Audience, Messenger: m.Messenger, JobEvents: m.JobEvents,
		Approvals: approvalsFor(m.Publisher), Contacts: contactsFor(m.Notices), Metrics: m.Metrics, Log: m.Log,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	m.Bot = b
	return nil
}

// buildAdmin builds the editor's pages as Admin (admin.go).
func (m *Main) buildAdmin() error {
	h, err := m.adminHandler(m.Publisher)
	m.Admin = h
	return err
}

// listen opens the ops listener (http.ops_addr), when configured, and the
// main one (http.addr); when the main one cannot listen, neither is left
// open.
func (m *Main) listen() error {
	cfg := m.Config.HTTP
	if cfg.OpsAddr != "" {
		oln, err := net.Listen("tcp", cfg.OpsAddr)
		if err != nil {
			return fmt.Errorf("serve: listen on %s (http.ops_addr): %w", cfg.OpsAddr, err)
		}
		m.opsListener = oln
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if m.opsListener != nil {
			_ = m.opsListener.Close()
			m.opsListener = nil
		}
		return fmt.Errorf("serve: listen on %s: %w", cfg.Addr, err)
	}
	m.listener = ln
	return nil
}

// startServing serves the routes on the listeners — net/http or fasthttp
// (http.server) on the main one, net/http on the ops one — and logs what
// serves where.
func (m *Main) startServing() {
	cfg := m.Config
	ln := m.listener
	if cfg.HTTP.Server == "net" {
		m.server = m.httpServer(m.routes())
		go func() { m.serveErr <- m.server.Serve(ln) }()
	} else {
		m.fast = m.fastServer(m.routes())
		go func() { m.serveErr <- serveFast(m.fast, bot.LingerListener(ln)) }()
	}
	if m.opsListener != nil {
		m.opsServer = m.httpServer(m.opsRoutes())
		go func() { m.opsErr <- m.opsServer.Serve(m.opsListener) }()
		m.Log.Info("ops listener: /metrics and /readyz?verbose here only", slog.String("addr", m.opsListener.Addr().String()))
	}
	m.Log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("webhook", cfg.HTTP.WebhookPath), slog.Bool("fasthttp", m.fast != nil),
		slog.String("message_mode", cfg.WeChat.Mode()), slog.Int("issues", m.Archive.Current().Len()), slog.Bool("embedded_redis", m.Store.Embedded))
}

// wireWeChat is where the WeChat API client, the subscriber service and the
// publisher are built when credentials are configured, filling Audience,
// Messenger and JobEvents before the bot is built.
func (m *Main) wireWeChat(ctx context.Context) error {
	api, err := wechat.New(wechat.Options{Config: m.Config.WeChat, Store: m.Store, Metrics: m.Metrics, Log: m.Log})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	m.API = api
	// Subscribers are tracked even without credentials: QR attribution and
	// preferences live in Redis; the tag queue waits for credentials.
	subs := subscribers.New(subscribers.Options{Store: m.Store, API: api, Bot: m.Config.Bot, Metrics: m.Metrics, Log: m.Log})
	m.Subscribers = subs
	if m.Audience == nil {
		m.Audience = subs
	}
	if !api.Configured() {
		if m.Messenger == nil {
			m.Log.Info("no wechat.app_id/app_secret: late replies are skipped, job events only logged")
		}
		return nil
	}
	if m.Messenger == nil {
		m.Messenger = api
	}
	m.goWork(func() { _ = subs.Run(ctx) })

	// The editors' notices: robot, e-mail, customer-service messages to
	// publish.admins; their retries stop with serve.
	notes := notify.FromConfig(m.Config, m.Store, api, m.Metrics, m.Log)
	m.Notices = notes
	m.goWork(func() { <-ctx.Done(); notes.Close() })

	pub, err := publisher.New(publisher.Options{
		Publish: m.Config.Publish, Render: m.Config.Render, Store: m.Store, API: api,
		Archive: m.Archive, Notifier: notes, Metrics: m.Metrics, Log: m.Log, Role: "serve",
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	m.Publisher = pub
	if m.JobEvents == nil {
		m.JobEvents = pub
	}
	// Run resumes unfinished issues, leads the scheduler when this replica
	// holds the lock, and releases it when the workers stop (Close).
	m.goWork(func() {
		if err := pub.Run(ctx); err != nil {
			m.Log.Error("publisher stopped", slog.Any("error", err))
		}
	})
	m.wireReadership(ctx, api, pub, subs)
	return nil
}

// httpServer is a server for one of the listeners, with every timeout set.
func (m *Main) httpServer(routes http.Handler) *http.Server {
	cfg := m.Config.HTTP
	return &http.Server{
		Handler:           withRequestLog(m.Log, cfg.WebhookPath, routes),
		ReadHeaderTimeout: cfg.ReadTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
}

// routes are the main listener's: the webhook, the probes and the admin
// pages, and — without http.ops_addr — /metrics and the detailed /readyz.
// With it, those two are only on the ops listener (opsRoutes), which the
// operator keeps off the public network, and /readyz here answers only
// ready or not ready.
func (m *Main) routes() http.Handler {
	ops := m.Config.HTTP.OpsAddr == ""
	mux := http.NewServeMux()
	mux.Handle(m.Config.HTTP.WebhookPath, m.Bot)
	mux.HandleFunc("GET /healthz", serveHealth)
	mux.HandleFunc("GET /readyz", m.readyHandler(ops))
	if m.Admin != nil {
		mux.Handle("/admin", m.Admin)
		mux.Handle("/admin/", m.Admin)
	}
	if ops && m.Metrics.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(m.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	return mux
}

// opsRoutes are the ops listener's: /metrics, /readyz with its details and
// ?verbose, and /healthz.
func (m *Main) opsRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", serveHealth)
	mux.HandleFunc("GET /readyz", m.readyHandler(true))
	if m.Metrics.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(m.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	return mux
}

func serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// Addr is the address the server listens on (the real port when :0).
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// OpsAddr is the address of the ops listener, "" without http.ops_addr.
func (m *Main) OpsAddr() string {
	if m.opsListener == nil {
		return ""
	}
	return m.opsListener.Addr().String()
}

// Close stops gracefully: the HTTP server drains (http.shutdown_timeout),
// then the workers stop, late replies finish, and Redis closes last.
// Calling it again does nothing and returns the first result.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	timeout := m.Config.HTTP.ShutdownTimeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	if m.server != nil {
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("serve: shutdown: %w", err))
		}
		if err := <-m.serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
	}
	if m.fast != nil {
		// Shutdown closes the listener (new connections are refused), closes
		// idle connections, answers the requests in flight with
		// Connection: close, and waits for them (CloseOnShutdown).
		if err := m.fast.ShutdownWithContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("serve: shutdown: %w", err))
		}
		// A Shutdown before Serve began does nothing: closing the listener
		// ends that Serve too.
		_ = m.listener.Close()
		if err := <-m.serveErr; err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
	}
	if m.opsServer != nil {
		if err := m.opsServer.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("serve: shutdown ops listener: %w", err))
		}
		if err := <-m.opsErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: ops listener: %w", err))
		}
	} else if m.opsListener != nil {
		_ = m.opsListener.Close()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.workers.Wait()
	if m.Bot != nil {
		if err := m.Bot.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("serve: close redis: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (m *Main) goWork(f func()) {
	m.workers.Add(1)
	go func() {
		defer m.workers.Done()
		f()
	}()
}

// DefaultDevTokenPath is the development token shared by `wxbot serve` and
// `wxbot chat` when wechat.token is not configured.
func DefaultDevTokenPath() string {
	dir, err := os.UserConfigDir()
	if err != nil || dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "wxbot", "dev-token")
}

// devToken reads the development token at path, creating it (0600) when
// missing. It is a random token in WeChat's format (letters and digits).
func devToken(path string) (tok string, created bool, err error) {
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); validToken(t) {
			return t, false, nil
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, err
	}
	for i, c := range raw {
		raw[i] = alphabet[int(c)%len(alphabet)]
	}
	tok = string(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", false, err
	}
	return tok, true, nil
}

// readDevToken reads an existing development token.
func readDevToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if !validToken(t) {
		return "", fmt.Errorf("%s does not hold a token", path)
	}
	return t, nil
}

func validToken(t string) bool {
	if len(t) < 3 || len(t) > 32 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// contactsFor lets the notifier hear when an admin writes (their
// customer-service window opens again); nil without a notifier.
func contactsFor(n *notify.Notifier) bot.Contacts {
	if n == nil {
		return nil
	}
	return n
}
