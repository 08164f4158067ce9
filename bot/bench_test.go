package bot

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/bot/refserver"
	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/store"
)

// benchPushes pre-builds n distinct safe-mode pushes of keyword from
// 1,000 subscribers: every one is a first arrival.
func benchPushes(b *testing.B, acct wechatsim.Account, keyword string, n int) []wechatsim.Push {
	b.Helper()
	out := make([]wechatsim.Push, n)
	now := time.Now()
	for i := range out {
		p, err := acct.Seal(wechatsim.Text(fmt.Sprintf("oBench%022d", i%1000), testAccount, keyword, nextMsgID(), now.Unix()), wechatsim.Safe, now)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// BenchmarkWebhook is the handler path in safe mode on a real redis-server:
// verify, decrypt, claim, search, session write, stored reply, encrypt.
// BenchmarkReference is silenceper/wechat's server doing the same chat work
// with no Redis; compare the two in one run:
//
//	go test ./bot -run '^$' -bench 'Webhook|Reference' -benchmem
func BenchmarkWebhook(b *testing.B) {
	h := newHarness(b, harnessOpt{rdb: benchStore(b)})
	pushes := benchPushes(b, h.acct, "GDPR", b.N)
	defer measureCPU(b, h.rdb)()
	for i := 0; i < b.N; i++ {
		serveOnce(b, h.bot, h.url(), pushes[i])
	}
}

func BenchmarkReference(b *testing.B) {
	h := newHarness(b, harnessOpt{})
	ref := refserver.New(testAppID, testToken, testAESKey, h.bot.ReplyTo)
	pushes := benchPushes(b, h.acct, "GDPR", b.N)
	defer measureCPU(b, nil)()
	for i := 0; i < b.N; i++ {
		serveOnce(b, ref, h.url(), pushes[i])
	}
}

// The same two under concurrency (16 goroutines per CPU), which is how
// WeChat's traffic arrives: concurrent commits share Redis round trips.
func BenchmarkWebhookParallel(b *testing.B) {
	h := newHarness(b, harnessOpt{rdb: benchStore(b)})
	pushes := benchPushes(b, h.acct, "GDPR", b.N)
	var i atomic.Int64
	b.SetParallelism(16)
	defer measureCPU(b, h.rdb)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveOnce(b, h.bot, h.url(), pushes[i.Add(1)-1])
		}
	})
}

func BenchmarkReferenceParallel(b *testing.B) {
	h := newHarness(b, harnessOpt{})
	ref := refserver.New(testAppID, testToken, testAESKey, h.bot.ReplyTo)
	pushes := benchPushes(b, h.acct, "GDPR", b.N)
	var i atomic.Int64
	b.SetParallelism(16)
	defer measureCPU(b, nil)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveOnce(b, ref, h.url(), pushes[i.Add(1)-1])
		}
	})
}

// measureCPU starts the measurement (allocations, time) and returns what
// ends it: besides ns/op it reports the CPU time per message of this process
// (cpu-µs/op) and, given Redis, of redis-server (redis-cpu-µs/op) — on a
// machine whose cores the benchmark shares with redis-server and other jobs,
// CPU time says more about a server's cost than wall time.
func measureCPU(b *testing.B, rdb redis.UniversalClient) func() {
	b.Helper()
	runtime.GC() // the garbage of building the pushes is not the handler's
	own0, red0 := processCPU(), redisCPU(b, rdb)
	b.ReportAllocs()
	b.ResetTimer()
	return func() {
		b.StopTimer()
		own, red := processCPU()-own0, redisCPU(b, rdb)-red0
		b.ReportMetric(float64(own.Microseconds())/float64(b.N), "cpu-µs/op")
		if rdb != nil {
			b.ReportMetric(float64(red.Microseconds())/float64(b.N), "redis-cpu-µs/op")
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time redis-server has used (INFO cpu).
func redisCPU(b *testing.B, rdb redis.UniversalClient) time.Duration {
	if rdb == nil {
		return 0
	}
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			sec, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += time.Duration(sec * float64(time.Second))
		}
	}
	return total
}

// benchStore is a real redis-server reached through store.Open: the client
// options wxbot serve runs with.
func benchStore(b *testing.B) redis.UniversalClient {
	b.Helper()
	srv := redistest.Start(b)
	s, err := store.Open(context.Background(), config.RedisConfig{Addr: srv.Addr, Prefix: "wxbot:"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s.UniversalClient
}

func serveOnce(b *testing.B, h http.Handler, url string, p wechatsim.Push) {
	req := httptest.NewRequest(http.MethodPost, url+"?"+p.Query, bytes.NewReader(p.Body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() < 100 {
		b.Fatalf("answer %d %q", rec.Code, rec.Body.String())
	}
}

// BenchmarkAnswer is the quick path's answer alone (no HTTP, no Redis):
// worked out afresh (route, search, encoding, digest) against remembered
// for the archive snapshot (answers.go), for another subscriber each time:
//
//	go test ./bot -run '^$' -bench Answer -benchmem
func BenchmarkAnswer(b *testing.B) {
	h := newHarness(b, harnessOpt{})
	ctx := context.Background()
	for _, kw := range []string{"GDPR", "最新"} {
		ins := make([]*inbound, 1000)
		for i := range ins {
			ins[i] = question(fmt.Sprintf("oBench%022d", i), kw, false, false)
		}
		b.Run("afresh/"+kw, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				in := ins[i%len(ins)]
				p, _ := h.bot.pureRoute(in, "")
				_ = h.bot.encode(ctx, &p, in, langByte(""))
			}
		})
		b.Run("remembered/"+kw, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, ok := h.bot.answerFor(ctx, ins[i%len(ins)], ""); !ok {
					b.Fatal("not a question")
				}
			}
		})
	}
}
