package publisher

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/internal/logtest"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

const admin = "oAdminEditor0001"

// clock is the publisher's clock in tests: the wall clock moved forward
// by Advance, so slots can be missed and 24 h windows run out.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// env is one test's world: a real redis-server, the WeChat sandbox over
// real HTTP pushing its job reports to a receiver that hands them to the
// publishers, the archive, and the editors' notices (customer-service
// messages the sandbox records).
type env struct {
	t     *testing.T
	rs    *redistest.Server
	st    *store.Store
	sb    *sandboxtest.Sandbox
	api   *wechat.Client
	arch  *archive.Archive
	notes *notify.Notifier
	told  *recorder // every notice, on any channel
	clock *clock
	cfg   *config.Config
	dir   string
	logs  *logtest.Buffer
	m     *metrics.Metrics

	mu       sync.Mutex
	handlers []*Publisher // receive the sandbox's pushes
	pushes   int
}

type envOpts struct {
	sandbox    sandbox.Options
	maxRetries int
	timeout    time.Duration
	noWebhook  bool
	cluster    bool // a 3-master Redis Cluster instead of one server
	publish    func(*config.PublishConfig)
}

func newEnv(t *testing.T, opts ...func(*envOpts)) *env {
	t.Helper()
	o := envOpts{maxRetries: 3, timeout: 3 * time.Second}
	o.sandbox.PushDelay = 150 * time.Millisecond
	for _, f := range opts {
		f(&o)
	}
	e := &env{t: t, clock: &clock{}, dir: t.TempDir(), logs: &logtest.Buffer{}, m: metrics.Discard()}
	cfg, err := config.Load(config.Options{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Publish.PollInterval = 50 * time.Millisecond
	cfg.Publish.LockTTL = 1500 * time.Millisecond
	cfg.Publish.Admins = []string{admin}
	if o.publish != nil {
		o.publish(&cfg.Publish)
	}
	e.cfg = cfg

	recv := httptest.NewServer(http.HandlerFunc(e.receive))
	t.Cleanup(recv.Close)
	if !o.noWebhook {
		o.sandbox.Webhook = recv.URL
	}
	e.sb = sandboxtest.Start(t, o.sandbox)

	rc := config.RedisConfig{Prefix: "wxbot:"}
	if o.cluster {
		rc.Addrs, rc.Cluster = redistest.StartCluster(t).Addrs, true
	} else {
		e.rs = redistest.Start(t)
		rc.Addr = e.rs.Addr
	}
	e.st, err = store.Open(context.Background(), rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.st.Close() })
	wc := e.sb.WeChatConfig()
	wc.MaxRetries = o.maxRetries
	wc.Timeout = o.timeout
	e.api, err = wechat.New(wechat.Options{Config: wc, Store: e.st})
	if err != nil {
		t.Fatal(err)
	}
	e.api.SetRetryBackoff(5 * time.Millisecond)
	e.arch = archive.New(archive.Options{Redis: e.st.UniversalClient, Keys: e.st.Keys})
	loc, _ := time.LoadLocation(cfg.Publish.Timezone)
	e.told = &recorder{}
	e.notes = notify.New(notify.Options{Store: e.st, Channels: []notify.Channel{&notify.Admins{API: e.api, Store: e.st, OpenID: cfg.Publish.Admins}, e.told},
		Location: loc, Backoff: 50 * time.Millisecond, Tries: 2})
	t.Cleanup(e.notes.Close)
	return e
}

// publisher builds a publisher (a CLI run or a serve replica) on the env.
func (e *env) publisher(role string, mod ...func(*Options)) *Publisher {
	e.t.Helper()
	o := Options{
		Publish: e.cfg.Publish, Render: e.cfg.Render, Store: e.st, API: e.api,
		Archive: e.arch, Notifier: e.notes, Metrics: e.m, Role: role, Now: e.clock.Now,
		Log:        slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryDelay: 200 * time.Millisecond, OutcomeAfter: 2 * time.Second, LockWait: 3 * time.Second,
	}
	for _, f := range mod {
		f(&o)
	}
	p, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.handlers = append(e.handlers, p)
	e.mu.Unlock()
	return p
}

// serve runs p as a `wxbot serve` replica until the test ends.
func (e *env) serve(p *Publisher) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	stop := func() { cancel(); <-done }
	e.t.Cleanup(stop)
	return stop
}

// receive is the webhook the sandbox pushes job reports to; the first
// publisher built takes them, as the bot hands them to its publisher.
func (e *env) receive(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var x struct {
		Event       string   `xml:"Event"`
		MsgID       int64    `xml:"MsgID"`
		Status      string   `xml:"Status"`
		TotalCount  int      `xml:"TotalCount"`
		FilterCount int      `xml:"FilterCount"`
		SentCount   int      `xml:"SentCount"`
		ErrorCount  int      `xml:"ErrorCount"`
		URLs        []string `xml:"ArticleUrlResult>ResultList>item>ArticleUrl"`
		Publish     struct {
			ID     string   `xml:"publish_id"`
			Status int      `xml:"publish_status"`
			URLs   []string `xml:"article_detail>item>article_url"`
			Fail   []int    `xml:"fail_idx"`
		} `xml:"PublishEventInfo"`
	}
	if err := xml.Unmarshal(body, &x); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.pushes++
	var p *Publisher
	if len(e.handlers) > 0 {
		p = e.handlers[0]
	}
	e.mu.Unlock()
	if p != nil {
		switch x.Event {
		case "MASSSENDJOBFINISH":
			_ = p.MassSendJobFinished(r.Context(), wechat.MassSendJobEvent{MsgID: x.MsgID, Status: x.Status,
				TotalCount: x.TotalCount, FilterCount: x.FilterCount, SentCount: x.SentCount, ErrorCount: x.ErrorCount, ArticleURLs: x.URLs})
		case "PUBLISHJOBFINISH":
			_ = p.PublishJobFinished(r.Context(), wechat.PublishJobEvent{PublishID: x.Publish.ID, Status: x.Publish.Status, ArticleURLs: x.Publish.URLs, FailIdx: x.Publish.Fail})
		}
	}
	_, _ = w.Write([]byte("success"))
}

// example returns an example issue's text.
func example(t testing.TB, name string) []byte {
	t.Helper()
	b, err := examples.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renumber makes another issue of an example by changing its series number.
func renumber(data []byte, from, to int) []byte {
	return bytes.Replace(data, []byte("\nNo."+itoa(from)+"\n"), []byte("\nNo."+itoa(to)+"\n"), 1)
}

func itoa(n int) string { return strconv.Itoa(n) }

// write puts an issue file into the env's folder (with the image No.55
// refers to) and returns its path.
func (e *env) write(name string, data []byte) string {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Join(e.dir, "images"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "images", "miit-batch4.png"), testPNG(e.t, 64, 40, color.RGBA{200, 30, 30, 255}), 0o644); err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func testPNG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (x/8+y/8)%2 == 0 {
				img.Set(x, y, c)
			} else {
				img.Set(x, y, color.White)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// request is a publish request for a file written into the env.
func (e *env) request(path string, goal Goal) Request {
	e.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	return Request{File: path, Data: data, Goal: goal}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// record reads issue n's record.
func (e *env) record(p *Publisher, n int) *Record {
	e.t.Helper()
	rec, err := p.Get(context.Background(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

// notices returns the texts of the customer-service messages to the admin.
func (e *env) notices() []string {
	var out []string
	for _, m := range e.sb.Snapshot().Customs {
		if m.ToUser == admin {
			out = append(out, m.Text)
		}
	}
	return out
}

func (e *env) calls(endpoint string) int {
	n := 0
	for _, c := range e.sb.Calls() {
		if c.Endpoint == endpoint {
			n++
		}
	}
	return n
}

// states lists the record's history states in order.
func states(r *Record) string {
	var out []string
	for _, h := range r.History {
		if len(out) == 0 || out[len(out)-1] != string(h.State) {
			out = append(out, string(h.State))
		}
	}
	return strings.Join(out, " ")
}

// waitNotice waits for a notice to the editors containing all of parts:
// notices are sent just after the record is written.
func (e *env) waitNotice(parts ...string) {
	e.t.Helper()
	waitFor(e.t, 3*time.Second, fmt.Sprintf("a notice with %q", parts), func() bool {
		for _, n := range e.notices() {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(n, p)
			}
			if ok {
				return true
			}
		}
		return false
	})
}

// recorder is a notice channel that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	notices []Notice
	texts   []string
}

func (r *recorder) Name() string      { return "test" }
func (r *recorder) Targets() []string { return []string{""} }
func (r *recorder) Send(_ context.Context, _ string, n Notice, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices, r.texts = append(r.notices, n), append(r.texts, text)
	return nil
}

// of returns the notices of kind k and their words.
func (r *recorder) of(k notify.Kind) (ns []Notice, texts []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, n := range r.notices {
		if n.Kind == k {
			ns, texts = append(ns, n), append(texts, r.texts[i])
		}
	}
	return ns, texts
}
