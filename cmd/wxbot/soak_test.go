package main

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
)

// soakDurationEnv lengthens or shortens the soak (a Go duration); the
// suite (and CI) runs the default 20 s, the longest test of the suite
// otherwise; WXBOT_SOAK_DURATION=1m or more for a real soak.
const soakDurationEnv = "WXBOT_SOAK_DURATION"

// soakResult is what the soak saw of one request.
type soakResult struct {
	at      time.Time
	took    time.Duration
	status  int
	err     error
	kind    string
	content string
}

// TestSoak runs a bounded mixed chat load (latest, search, paging,
// language, subscribe events, WeChat's retries) on loopback against serve
// on a real redis-server for 20 s (soakDurationEnv), and restarts Redis (empty) a
// third of the way in. Outside the degraded window every answer is a 200
// with content; inside it the webhook still answers 200 within the
// deadline. Afterwards goroutines and the live heap return near where they
// were before the load.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s of load")
	}
	total := 20 * time.Second
	if s := os.Getenv(soakDurationEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%s: %v", soakDurationEnv, err)
		}
		total = d
	}
	quietRedisLog(slog.New(slog.DiscardHandler)) // go-redis would print every failed dial
	srv := redistest.Start(t)
	m, logs := startMainLogged(t, opsEnv(srv.Addr), slog.LevelWarn, false)
	base := "http://" + m.Addr()
	acct := safeAccount()
	deadline := m.Config.Bot.Deadline

	transport := &http.Transport{MaxIdleConnsPerHost: 16}
	client := &http.Client{Timeout: 10 * time.Second, Transport: transport}
	var msgID atomic.Int64
	msgID.Store(time.Now().UnixNano())

	// One exchange of the mix for subscriber u, chosen by r.
	type step struct {
		kind string
		msg  func(openid string, now time.Time) []byte
	}
	text := func(kind, s string) step {
		return step{kind, func(o string, now time.Time) []byte {
			return wechatsim.Text(o, "gh_soak", s, msgID.Add(1), now.Unix())
		}}
	}
	mix := []step{
		text("latest", "最新"), text("latest", "latest"), text("search", "GDPR"), text("search", "数据"),
		text("search", "个人信息保护"), text("page", "下一页"), text("archive", "往期"), text("number", "No.54"),
		text("lang", "English"), text("lang", "中文"), text("help", "help"),
		{"subscribe", func(o string, now time.Time) []byte {
			return wechatsim.Event(o, "gh_soak", "subscribe", "qrscene_soak", now.Unix())
		}},
	}
	exchange := func(r *rand.Rand, openid string) []soakResult {
		s := mix[r.IntN(len(mix))]
		now := time.Now()
		p, err := acct.Seal(s.msg(openid, now), wechatsim.Safe, now)
		if err != nil {
			return []soakResult{{at: now, kind: s.kind, err: err}}
		}
		sends := 1
		if r.IntN(10) == 0 { // a WeChat retry of the same message
			sends = 2
		}
		var out []soakResult
		for i := 0; i < sends; i++ {
			kind := s.kind
			if i > 0 {
				kind = "retry"
			}
			start := time.Now()
			rep, err := acct.Send(client, base+"/wechat", p)
			res := soakResult{at: start, took: time.Since(start), kind: kind, err: err}
			if rep != nil {
				res.status, res.content = rep.Status, rep.Content+fmt.Sprint(len(rep.Articles))
			}
			out = append(out, res)
		}
		return out
	}
	run := func(d time.Duration, workers int, pause time.Duration) []soakResult {
		var (
			mu  sync.Mutex
			all []soakResult
			wg  sync.WaitGroup
		)
		stop := time.Now().Add(d)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				var mine []soakResult
				for n := 0; time.Now().Before(stop); n++ {
					openid := fmt.Sprintf("oSoak%02d_%03d", w, n%50)
					mine = append(mine, exchange(r, openid)...)
					time.Sleep(pause)
				}
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return all
	}

	// Warm up, then take the baseline with the load stopped.
	run(3*time.Second, 4, 10*time.Millisecond)
	transport.CloseIdleConnections()
	baseG, baseHeap := settle(t, 0, 0)
	t.Logf("baseline: %d goroutines, %.1f MiB live heap", baseG, float64(baseHeap)/(1<<20))

	var (
		windowStart, windowEnd time.Time
		restartDone            = make(chan struct{})
	)
	go func() {
		defer close(restartDone)
		time.Sleep(total / 3)
		windowStart = time.Now()
		srv.Stop()
		time.Sleep(2 * time.Second) // Redis away for a while
		srv.Restart()
		for {
			if code, _ := getQuiet(client, base+"/readyz"); code == 200 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		windowEnd = time.Now().Add(time.Second) // requests that began before readiness
	}()
	results := run(total, 8, 15*time.Millisecond)
	<-restartDone

	var (
		inWindow, outside, bad, late int
		lat                          []time.Duration
		byKind                       = map[string]int{}
	)
	for _, r := range results {
		byKind[r.kind]++
		lat = append(lat, r.took)
		if r.took > deadline {
			late++
			t.Errorf("%s at %s took %s (deadline %s)", r.kind, r.at.Format("15:04:05.000"), r.took, deadline)
		}
		in := !r.at.Before(windowStart) && r.at.Before(windowEnd)
		if in {
			inWindow++
		} else {
			outside++
		}
		switch {
		case r.err != nil:
			bad++
			t.Errorf("%s at %s (degraded window %v): %v", r.kind, r.at.Format("15:04:05.000"), in, r.err)
		case r.status >= 500:
			bad++
			if !in {
				t.Errorf("%s at %s: status %d outside the degraded window", r.kind, r.at.Format("15:04:05.000"), r.status)
			}
		case r.status != 200:
			bad++
			t.Errorf("%s at %s: status %d", r.kind, r.at.Format("15:04:05.000"), r.status)
		case !in && r.kind != "page" && r.kind != "retry" && r.kind != "subscribe" && r.content == "0":
			t.Errorf("%s at %s: empty answer outside the degraded window", r.kind, r.at.Format("15:04:05.000"))
		}
		if t.Failed() && bad > 20 {
			t.Fatalf("stopping after %d bad answers:\n%s", bad, logs.String())
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	t.Logf("%d exchanges in %s (%.0f/s): %d inside the degraded window (%s), %d outside; p50 %s p99 %s max %s; %v",
		len(results), total, float64(len(results))/total.Seconds(), inWindow, windowEnd.Sub(windowStart).Round(time.Millisecond),
		outside, pct(.5), pct(.99), lat[len(lat)-1], byKind)
	if inWindow == 0 || outside < 10*inWindow/2 {
		t.Errorf("the load did not cover the outage and the rest: %d inside, %d outside", inWindow, outside)
	}
	if got := metricValue(t, base, `wxbot_webhook_duration_seconds_count{result="degraded"}`); got == 0 {
		t.Error("no degraded answer counted during the Redis restart")
	}

	transport.CloseIdleConnections()
	g, heap := settle(t, baseG, baseHeap)
	t.Logf("after: %d goroutines, %.1f MiB live heap", g, float64(heap)/(1<<20))
}

// settle waits (up to 25 s) for goroutines and the live heap to come back
// within bounds of the baseline, and fails when they do not; with a zero
// baseline it only measures. fasthttp's idle workers are not counted: the
// server keeps them (at most its concurrency) for reuse and ends those idle
// for 10 s at its next 10-second sweep.
func settle(t *testing.T, baseG int, baseHeap uint64) (int, uint64) {
	t.Helper()
	var (
		g    int
		heap uint64
		ms   runtime.MemStats
	)
	until := time.Now().Add(25 * time.Second)
	for {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		g, heap = runtime.NumGoroutine()-idleFastWorkers(), ms.HeapAlloc
		if baseG == 0 || (g <= baseG+5 && heap <= baseHeap+baseHeap/2+4<<20) {
			return g, heap
		}
		if time.Now().After(until) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("not back to baseline: %d goroutines (baseline %d), %.1f MiB live heap (baseline %.1f)\n%s",
				g, baseG, float64(heap)/(1<<20), float64(baseHeap)/(1<<20), strings.TrimSpace(string(buf[:n])))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func getQuiet(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// idleFastWorkers counts fasthttp's pooled workers waiting for a connection.
func idleFastWorkers() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "[chan receive") && strings.Contains(g, "fasthttp.(*workerPool).workerFunc") {
			n++
		}
	}
	return n
}
