package bot

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifang/wxbot/bot/refserver"
	"github.com/lifang/wxbot/bot/wechatsim"
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
	h := newHarness(b, harnessOpt{})
	pushes := benchPushes(b, h.acct, "GDPR", b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serveOnce(b, h.bot, h.url(), pushes[i])
	}
}

func BenchmarkReference(b *testing.B) {
	h := newHarness(b, harnessOpt{})
	ref := refserver.New(testAppID, testToken, testAESKey, h.bot.ReplyTo)
	pushes := benchPushes(b, h.acct, "GDPR", b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serveOnce(b, ref, h.url(), pushes[i])
	}
}

// The same two under concurrency (16 goroutines per CPU), which is how
// WeChat's traffic arrives: concurrent commits share Redis round trips.
func BenchmarkWebhookParallel(b *testing.B) {
	h := newHarness(b, harnessOpt{})
	pushes := benchPushes(b, h.acct, "GDPR", b.N)
	var i atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
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
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveOnce(b, ref, h.url(), pushes[i.Add(1)-1])
		}
	})
}

func serveOnce(b *testing.B, h http.Handler, url string, p wechatsim.Push) {
	req := httptest.NewRequest(http.MethodPost, url+"?"+p.Query, bytes.NewReader(p.Body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() < 100 {
		b.Fatalf("answer %d %q", rec.Code, rec.Body.String())
	}
}
