package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/bot"
	"github.com/lifang/wxbot/bot/refserver"
	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/inbox"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/store"
)

// The bench account: fixed, so runs compare; it never leaves loopback.
const (
	benchToken  = "wxbotBenchToken"
	benchAppID  = "wxbench000000000"
	benchAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the webhook against a reference server built on silenceper/wechat",
		Long: `bench starts, on loopback, wxbot's webhook (dedupe, session and preferences
on Redis) and a reference server built on silenceper/wechat's own server
package answering the same keyword with no Redis, pre-builds distinct
encrypted messages for each, sends them with a fixed number of concurrent
keep-alive connections, and reports requests per second, p50 and p99 for
both and their ratio. Every request is a first arrival (distinct MsgId), so
wxbot does a full claim, reply and session write each time.

Redis: --redis ADDR, else a redis-server started on a free loopback port when
one is installed, else the embedded store (not representative). Keys are
written under a bench-only prefix and removed afterwards.`,
		Args: cobra.NoArgs,
		RunE: runBench,
	}
	f := cmd.Flags()
	f.String("redis", "", "Redis address (default: start redis-server on a free loopback port)")
	f.Int("concurrency", 32, "concurrent connections")
	f.Duration("duration", 5*time.Second, "measuring time per server and round")
	f.Int("requests", 500000, "at most this many requests per server and round (messages are pre-built: as many as the warm-up rate says --duration needs, with room)")
	f.Int("rounds", 2, "rounds, each with fresh messages")
	f.Duration("slice", 500*time.Millisecond, "the servers take turns for this long, until each had --duration")
	f.String("mode", "safe", "message mode: plain, compat or safe")
	f.String("keyword", "GDPR", "what the subscribers send (a search: a reply and a session write)")
	f.Int("users", 1000, "distinct subscribers")
	f.Bool("floor", true, "also measure the floor: net/http answering a recorded reply with no work, to show what the load tool and HTTP cost")
	f.String("cpuprofile", "", "write a CPU profile of the measured rounds here (samples labelled server=reference|wxbot|floor, client=…)")
	return cmd
}

func runBench(cmd *cobra.Command, _ []string) error {
	cfg, err := loadConfig(cmd, map[string]string{})
	if err != nil {
		return err
	}
	f := cmd.Flags()
	redisAddr, _ := f.GetString("redis")
	conc, _ := f.GetInt("concurrency")
	dur, _ := f.GetDuration("duration")
	maxReq, _ := f.GetInt("requests")
	rounds, _ := f.GetInt("rounds")
	modeFlag, _ := f.GetString("mode")
	keyword, _ := f.GetString("keyword")
	users, _ := f.GetInt("users")
	mode, err := wechatsim.ParseMode(modeFlag)
	if err != nil {
		return &exitError{code: 2, msg: "wxbot bench: --mode: " + err.Error()}
	}
	if conc < 1 || conc > 1024 || maxReq < conc || rounds < 1 || rounds > 10 || dur <= 0 || dur > 5*time.Minute || users < 1 {
		return &exitError{code: 2, msg: "wxbot bench: need 1 ≤ --concurrency ≤ 1024 ≤ …, --requests ≥ concurrency, 1 ≤ --rounds ≤ 10, 0 < --duration ≤ 5m, --users ≥ 1"}
	}
	out := cmd.OutOrStdout()
	log := newLogger(cfg.Log, cmd.ErrOrStderr())
	ctx := cmd.Context()

	// Redis: given, else our own redis-server, else embedded.
	redisKind := "given"
	if redisAddr == "" {
		addr, stop, err := startRedisServer()
		switch {
		case err == nil:
			defer stop()
			redisAddr, redisKind = addr, "redis-server started by bench"
		default:
			redisKind = "embedded (no redis-server found: figures not representative)"
			fmt.Fprintln(cmd.ErrOrStderr(), "wxbot bench:", err)
		}
	}
	if host, _, err := net.SplitHostPort(redisAddr); redisAddr != "" && (err != nil || !isLoopback(host)) {
		return &exitError{code: 2, msg: "wxbot bench: --redis must be a loopback address (bench only loads this machine)"}
	}
	rcfg := cfg.Redis
	rcfg.Addr, rcfg.Addrs, rcfg.Cluster, rcfg.MasterName = redisAddr, nil, false, ""
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	rcfg.Prefix = "wxbench:" + hex.EncodeToString(suffix[:]) + ":"
	s, err := store.Open(ctx, rcfg, nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer s.Close()
	defer cleanupPrefix(s.UniversalClient, rcfg.Prefix)

	wcfg := *cfg
	wcfg.Redis = rcfg
	wcfg.WeChat.Token, wcfg.WeChat.AppID, wcfg.WeChat.EncodingAESKey, wcfg.WeChat.PreviousEncodingAESKey =
		benchToken, benchAppID, benchAESKey, ""
	wcfg.WeChat.MessageMode = string(mode) // the server takes the pushes bench sends
	arch := archive.New(s.UniversalClient, s.Keys, nil)
	if err := inbox.New(inbox.Options{FS: examples.FS, Parse: newsletter.Parse, Archive: arch, Log: log}).Load(ctx); err != nil {
		return fmt.Errorf("bench: load examples: %w", err)
	}
	var b *bot.Bot
	m := metrics.New() // the commit histograms are read below
	// Goroutines inherit profiler labels: the bot's committers count as wxbot.
	pprof.Do(ctx, pprof.Labels("server", "wxbot"), func(context.Context) {
		b, err = bot.New(bot.Options{Config: &wcfg, Redis: s.UniversalClient, Keys: s.Keys, Archive: arch,
			Metrics: m, Log: slog.New(slog.DiscardHandler)})
	})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer b.Close(context.Background())
	ref := refserver.New(benchAppID, benchToken, benchAESKey, b.ReplyTo)

	wxURL, stopWX, err := serveLoopback(ctx, "wxbot", b)
	if err != nil {
		return err
	}
	defer stopWX()
	refURL, stopRef, err := serveLoopback(ctx, "reference", ref)
	if err != nil {
		return err
	}
	defer stopRef()

	acct := wechatsim.Account{Token: benchToken, AppID: benchAppID, AESKey: benchAESKey, UserName: "gh_bench"}
	// Both servers must give the subscriber the same answer.
	want, recorded, err := sameAnswer(acct, mode, keyword, wxURL, refURL)
	if err != nil {
		return err
	}
	withFloor, _ := f.GetBool("floor")
	var floorURL string
	if withFloor {
		// The floor does no work at all: it reads the request and answers a
		// reply wxbot gave, byte for byte, so the load tool, net/http and
		// loopback TCP move exactly the same bytes as for the two servers.
		u, stop, err := serveLoopback(ctx, "floor", fixedAnswer(recorded))
		if err != nil {
			return err
		}
		defer stop()
		floorURL = u
	}

	fmt.Fprintf(out, "wxbot bench: %s mode, keyword %q, %d concurrent connections, %s per server per round, Redis %s (%s), GOMAXPROCS %d\n",
		mode, keyword, conc, dur, redisAddrOr(redisAddr), redisKind, runtimeProcs())
	var msgID atomic.Int64
	msgID.Store(time.Now().UnixNano() / 1000)
	build := func(n int) ([][]byte, error) {
		return buildRequests(acct, mode, keyword, n, users, &msgID)
	}
	check := func(body []byte) error {
		r, err := acct.Open(http.StatusOK, body)
		if err != nil {
			return err
		}
		if r.Content != want {
			return fmt.Errorf("answered %q, want %q", r.Content, want)
		}
		return nil
	}
	mkTargets := func() []*benchTarget {
		ts := []*benchTarget{{name: "reference", url: refURL}, {name: "wxbot", url: wxURL}}
		if floorURL != "" {
			ts = append(ts, &benchTarget{name: "floor", url: floorURL})
		}
		return ts
	}
	// Warm-up: connections, caches and pools to fill; and the rate, to
	// know how many messages a round needs.
	need := map[string]int{}
	for _, t := range mkTargets() {
		reqs, err := build(min(maxReq, 20000))
		if err != nil {
			return err
		}
		s, _, err := load(ctx, t.url, reqs, conc, time.Second, t.name, check)
		if err != nil {
			return err
		}
		need[t.name] = min(maxReq, int(float64(len(s.lat))/s.elapsed.Seconds()*dur.Seconds()*1.5)+conc)
	}
	// The servers take turns in short slices, so that whatever else the
	// machine does at the time weighs on all alike.
	slice, _ := f.GetDuration("slice")
	if slice < 50*time.Millisecond {
		return &exitError{code: 2, msg: "wxbot bench: --slice must be at least 50ms"}
	}
	cpu := cpuMeter{rdb: s.UniversalClient}
	if profPath, _ := f.GetString("cpuprofile"); profPath != "" {
		pf, err := os.Create(profPath)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	all := mkTargets()
	commits0 := readCommitStats(m)
	for round := 1; round <= rounds; round++ {
		targets := mkTargets()
		pprof.Do(ctx, pprof.Labels("bench", "build"), func(context.Context) {
			for _, t := range targets {
				n := need[t.name]
				if t.name == "floor" {
					// The floor does nothing with a message: it may see one twice.
					n = min(n, 60000)
					t.cyclic = true
				}
				if t.reqs, err = build(n); err != nil {
					return
				}
			}
			// The garbage of building is collected now, not during a slice.
			runtime.GC()
		})
		if err != nil {
			return err
		}
		for {
			ran := false
			for _, t := range targets {
				if t.s.elapsed >= dur || (!t.cyclic && t.next >= len(t.reqs)) {
					continue
				}
				ran = true
				if err := t.run(ctx, &cpu, conc, min(slice, dur-t.s.elapsed), check); err != nil {
					return fmt.Errorf("bench: %s: %w", t.name, err)
				}
			}
			if !ran {
				break // every server had --duration, or ran out of pre-built messages (raise --requests)
			}
		}
		for i, t := range targets {
			r := t.s.result()
			fmt.Fprintf(out, "  round %d %-9s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests, %d errors, %d replies decrypted and checked)\n",
				round, t.name, r.rps, ms(r.p50), ms(r.p99), r.n, r.errors, t.s.checked)
			all[i].add(t)
		}
	}
	rr, wr := all[0].s.result(), all[1].s.result()
	fmt.Fprintf(out, "reference (silenceper/wechat server, no Redis):   %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", rr.rps, ms(rr.p50), ms(rr.p99))
	fmt.Fprintf(out, "wxbot (safe mode, Redis dedupe+session):          %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", wr.rps, ms(wr.p50), ms(wr.p99))
	if len(all) > 2 {
		fr := all[2].s.result()
		fmt.Fprintf(out, "floor (net/http + load tool, a recorded answer):  %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", fr.rps, ms(fr.p50), ms(fr.p99))
	}
	fmt.Fprintf(out, "throughput ratio wxbot/reference: %.2f×\n", wr.rps/rr.rps)
	// Where the CPU goes: every process on this machine shares its cores,
	// so CPU time per request, not wall time, says what each server costs.
	// Cores busy (CPU time over wall time) says whether a server is held
	// back by CPU or by waiting.
	fmt.Fprintf(out, "CPU per request (this process: load tool + server; redis-server), and cores busy meanwhile:\n")
	for _, t := range all {
		n := float64(len(t.s.lat))
		if n == 0 || t.s.elapsed <= 0 {
			continue
		}
		own, red := us(t.cpu)/n, us(t.redisCPU)/n
		fmt.Fprintf(out, "  %-9s %6.1f µs + %5.1f µs = %6.1f µs   %.2f of %d cores busy\n", t.name, own, red, own+red,
			float64(t.cpu+t.redisCPU)/float64(t.s.elapsed), runtime.NumCPU())
	}
	if len(all) > 2 && len(all[2].s.lat) > 0 {
		per := func(t *benchTarget) float64 { return us(t.cpu+t.redisCPU) / float64(len(t.s.lat)) }
		floor := per(all[2])
		fmt.Fprintf(out, "above the floor: reference %.1f µs, wxbot %.1f µs per request (ratio reference/wxbot %.2f×)\n",
			per(all[0])-floor, per(all[1])-floor, (per(all[0])-floor)/(per(all[1])-floor))
	}
	if c := readCommitStats(m).minus(commits0); c.waits > 0 && c.calls > 0 {
		fmt.Fprintf(out, "wxbot's Redis commits: %.2f ms average wait (queue and round trip) in an average answer of %.2f ms; %.1f questions per script call\n",
			c.waitSum/c.waits*1e3, ms(all[1].s.mean()), c.batchSum/c.calls)
	}
	return nil
}

// commitStats are the bot's commit histograms' sums and counts.
type commitStats struct{ waitSum, waits, batchSum, calls float64 }

func (c commitStats) minus(o commitStats) commitStats {
	return commitStats{c.waitSum - o.waitSum, c.waits - o.waits, c.batchSum - o.batchSum, c.calls - o.calls}
}

func readCommitStats(m *metrics.Metrics) commitStats {
	var c commitStats
	families, err := m.Registry.Gather()
	if err != nil {
		return c
	}
	for _, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		switch f.GetName() {
		case "wxbot_webhook_commit_wait_seconds":
			c.waitSum, c.waits = h.GetSampleSum(), float64(h.GetSampleCount())
		case "wxbot_webhook_commit_batch_messages":
			c.batchSum, c.calls = h.GetSampleSum(), float64(h.GetSampleCount())
		}
	}
	return c
}

func redisAddrOr(a string) string {
	if a == "" {
		return "embedded"
	}
	return a
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// benchTarget is one server under test, its pre-built requests and what
// its slices measured.
type benchTarget struct {
	name          string
	url           string
	reqs          [][]byte
	next          int
	cyclic        bool // may send its messages again (the floor)
	s             sample
	cpu, redisCPU time.Duration // CPU used while this target was loaded
}

func (t *benchTarget) run(ctx context.Context, cpu *cpuMeter, conc int, d time.Duration, check func([]byte) error) error {
	if t.cyclic && len(t.reqs)-t.next < len(t.reqs)/2 {
		t.next = 0
	}
	c0, r0 := cpu.read(ctx)
	s, used, err := load(ctx, t.url, t.reqs[t.next:], conc, d, t.name, check)
	c1, r1 := cpu.read(ctx)
	if err != nil {
		return err
	}
	t.next += used
	t.s.add(s)
	t.cpu += c1 - c0
	t.redisCPU += r1 - r0
	return nil
}

func (t *benchTarget) add(o *benchTarget) {
	t.s.add(o.s)
	t.cpu += o.cpu
	t.redisCPU += o.redisCPU
}

// cpuMeter reads the CPU time this process and the Redis server have used.
type cpuMeter struct {
	rdb     redis.UniversalClient
	noRedis bool
}

func (m *cpuMeter) read(ctx context.Context) (own, red time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		own = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if m.noRedis {
		return own, 0
	}
	info, err := m.rdb.Info(ctx, "cpu").Result()
	if err != nil {
		m.noRedis = true
		return own, 0
	}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		sec, err := strconv.ParseFloat(v, 64)
		if err == nil {
			red += time.Duration(sec * float64(time.Second))
		}
	}
	if red == 0 {
		m.noRedis = true // the embedded store does not report its CPU
	}
	return own, red
}

// sample is what slices of load measured: every latency and the time spent.
type sample struct {
	lat     []time.Duration
	errors  int
	checked int
	elapsed time.Duration
}

func (s *sample) add(o sample) {
	s.lat = append(s.lat, o.lat...)
	s.errors += o.errors
	s.checked += o.checked
	s.elapsed += o.elapsed
}

func (s *sample) mean() time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range s.lat {
		sum += d
	}
	return sum / time.Duration(len(s.lat))
}

func (s *sample) result() benchResult {
	r := benchResult{n: len(s.lat), errors: s.errors}
	if len(s.lat) == 0 || s.elapsed <= 0 {
		return r
	}
	all := append([]time.Duration(nil), s.lat...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r.rps = float64(len(all)) / s.elapsed.Seconds()
	r.p50 = all[len(all)*50/100]
	r.p99 = all[min(len(all)-1, len(all)*99/100)]
	return r
}

type benchResult struct {
	n, errors int
	rps       float64
	p50, p99  time.Duration
}

// serveLoopback serves h on a free loopback port, its goroutines labelled
// server=name in CPU profiles.
func serveLoopback(ctx context.Context, name string, h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("bench: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go pprof.Do(context.WithoutCancel(ctx), pprof.Labels("server", name), func(context.Context) { _ = srv.Serve(ln) })
	return "http://" + ln.Addr().String() + "/wechat", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// fixedAnswer answers every request with body, after reading the request.
func fixedAnswer(body []byte) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("Content-Length", length)
		_, _ = w.Write(body)
	})
}

// sameAnswer checks both servers answer keyword alike and returns the
// answer's text and wxbot's raw response body.
func sameAnswer(acct wechatsim.Account, mode wechatsim.Mode, keyword, wxURL, refURL string) (string, []byte, error) {
	var got []string
	var raw []byte
	for _, u := range []string{wxURL, refURL} {
		p, err := acct.Seal(wechatsim.Text("oBenchCheck", acct.UserName, keyword, time.Now().UnixNano(), time.Now().Unix()), mode, time.Now())
		if err != nil {
			return "", nil, err
		}
		resp, err := http.Post(u+"?"+p.Query, "text/xml", bytes.NewReader(p.Body))
		if err != nil {
			return "", nil, fmt.Errorf("bench: %s: %w", u, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return "", nil, fmt.Errorf("bench: %s: %w", u, err)
		}
		r, err := acct.Open(resp.StatusCode, body)
		if err != nil {
			return "", nil, fmt.Errorf("bench: %s: %w", u, err)
		}
		if raw == nil {
			raw = body
		}
		got = append(got, r.Content)
	}
	if got[0] != got[1] || got[0] == "" {
		return "", nil, fmt.Errorf("bench: the two servers answer %q differently:\nwxbot:     %q\nreference: %q", keyword, got[0], got[1])
	}
	return got[0], raw, nil
}

// buildRequests pre-builds n raw HTTP requests carrying distinct messages.
func buildRequests(acct wechatsim.Account, mode wechatsim.Mode, keyword string, n, users int, msgID *atomic.Int64) ([][]byte, error) {
	reqs := make([][]byte, n)
	now := time.Now()
	for i := range reqs {
		openid := fmt.Sprintf("oBench%022d", i%users)
		p, err := acct.Seal(wechatsim.Text(openid, acct.UserName, keyword, msgID.Add(1), now.Unix()), mode, now)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "POST /wechat?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n", p.Query, len(p.Body))
		b.Write(p.Body)
		reqs[i] = b.Bytes()
	}
	return reqs, nil
}

// checkEvery: one response in this many per connection is decrypted and
// its text compared with the expected answer (after the slice, outside the
// measured time); every response's status and framing is checked.
const checkEvery = 64

// load sends reqs over conc keep-alive connections until they run out or
// dur passes, and measures each request's latency. It is a lean HTTP/1.1
// client (pre-serialised requests, Content-Length framing, no per-request
// allocation) so that the load tool weighs as little as possible on the
// servers it measures, which share its CPU.
func load(ctx context.Context, rawURL string, reqs [][]byte, conc int, dur time.Duration, name string, check func([]byte) error) (sample, int, error) {
	addr := strings.TrimPrefix(rawURL, "http://")
	addr = addr[:strings.IndexByte(addr, '/')]
	var next atomic.Int64
	lat := make([][]time.Duration, conc)
	errs := make([]int, conc)
	kept := make([][][]byte, conc)
	var wg sync.WaitGroup
	start := time.Now()
	stopAt := start.Add(dur)
	var firstErr error
	var errOnce sync.Once
	labels := pprof.Labels("client", name)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go pprof.Do(ctx, labels, func(context.Context) {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				return
			}
			defer conn.Close()
			br := bufio.NewReaderSize(conn, 16<<10)
			lat[w] = make([]time.Duration, 0, len(reqs)/conc+1)
			for n := 0; ctx.Err() == nil; n++ {
				i := next.Add(1) - 1
				if int(i) >= len(reqs) || time.Now().After(stopAt) {
					return
				}
				t0 := time.Now()
				if _, err := conn.Write(reqs[i]); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				keep := n%checkEvery == checkEvery/2
				status, body, err := readResponse(br, keep)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				switch {
				case status != 200:
					errs[w]++
				case keep:
					kept[w] = append(kept[w], body)
				}
			}
		})
	}
	wg.Wait()
	s := sample{elapsed: time.Since(start)}
	if firstErr != nil {
		return s, 0, firstErr
	}
	for w := range lat {
		s.lat = append(s.lat, lat[w]...)
		s.errors += errs[w]
		for _, body := range kept[w] {
			if err := check(body); err != nil {
				return s, 0, fmt.Errorf("a reply is wrong: %w", err)
			}
			s.checked++
		}
	}
	if len(s.lat) == 0 {
		return s, 0, errors.New("no request completed")
	}
	return s, min(int(next.Load()), len(reqs)), nil
}

// readResponse reads one HTTP/1.1 response with a Content-Length body (all
// servers here send one; anything else is an error) and returns its status,
// and its body when keep is set.
func readResponse(br *bufio.Reader, keep bool) (int, []byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 16 && bytes.EqualFold(h[:15], []byte("Content-Length:")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[15:])))
			if err != nil || length < 0 || length > 1<<20 {
				return 0, nil, fmt.Errorf("bad Content-Length %q", h)
			}
		}
		if len(h) > 19 && bytes.EqualFold(h[:18], []byte("Transfer-Encoding:")) {
			return 0, nil, fmt.Errorf("unexpected %q", h)
		}
	}
	if length < 0 {
		return 0, nil, errors.New("response without Content-Length")
	}
	if !keep {
		_, err := br.Discard(length)
		return status, nil, err
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return 0, nil, err
	}
	return status, body, nil
}

// startRedisServer runs redis-server on a free loopback port, keeping nothing on disk.
func startRedisServer() (string, func(), error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, errors.New("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir, err := os.MkdirTemp("", "wxbot-bench-redis")
	if err != nil {
		return "", nil, err
	}
	c := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	c.Stdout, c.Stderr = io.Discard, io.Discard
	if err := c.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = c.Process.Kill()
		_, _ = c.Process.Wait()
		_ = os.RemoveAll(filepath.Clean(dir))
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer client.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		pctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := client.Ping(pctx).Err()
		cancel()
		if err == nil {
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server not ready: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cleanupPrefix removes the bench's keys, so a run against a shared Redis
// leaves nothing behind.
func cleanupPrefix(rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Unlink(ctx, batch...)
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
