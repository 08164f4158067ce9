package bot

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/config"
)

// TestStalledBodies: 200 connections each declare a body of http.max_body_bytes
// (1 MiB), send part of it over real TCP and stall. Whether their query is
// forged or captured from a real push, the webhook's heap stays small and an
// ordinary push is still answered within a second.
func TestStalledBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 connections per case")
	}
	const conns = 200
	const declared = 1 << 20
	cases := []struct {
		name   string
		signed bool // the query of a real push, as read from an access log
		send   int  // body bytes sent before stalling
		// busy: at least this many are answered 503 (the large lane is full)
		busy int
	}{
		{"forged query, a few bytes", false, 16, 0},
		{"forged query, all but the last bytes", false, declared - 64, 0},
		{"captured query, all but the last bytes", true, declared - 64, conns - largeSlots(declared)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, harnessOpt{})
			now := time.Now()
			captured, _ := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "help", nextMsgID(), now.Unix()), wechatsim.Safe, now)
			query := captured.Query
			if !c.signed {
				// The attack: encrypt_type=aes and any msg_signature.
				q, _ := url.ParseQuery(query)
				q.Set("signature", strings.Repeat("0", 40))
				query = q.Encode()
			}
			head := []byte("POST /wechat?" + query + " HTTP/1.1\r\nHost: wx\r\nContent-Type: text/xml\r\nContent-Length: " +
				strconv.Itoa(declared) + "\r\n\r\n")
			body := bytes.Repeat([]byte("A"), c.send)

			base := liveHeap()
			baseRSS := vmRSS()
			addr := h.srv.Listener.Addr().String()
			var (
				wg, sent sync.WaitGroup
				mu       sync.Mutex
				held     []net.Conn
				statuses = map[int]int{}
			)
			for i := 0; i < conns; i++ {
				wg.Add(1)
				sent.Add(1)
				go func() {
					defer wg.Done()
					once := sync.OnceFunc(sent.Done)
					defer once()
					conn, err := net.Dial("tcp", addr)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					held = append(held, conn)
					mu.Unlock()
					// Bounded: the write fails once the server closes, and
					// gives up at the deadline otherwise.
					_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
					if _, err := conn.Write(head); err != nil {
						return
					}
					_, _ = conn.Write(body)
					once()
					// A refused request is answered at once; a body being
					// read is answered only when it ends.
					// A forged query is refused before its body whatever the
					// wait, so its wait is long enough for a loaded machine;
					// any answer other than 403 still fails the test.
					wait := 1500 * time.Millisecond
					if !c.signed {
						wait = 4 * time.Second
					}
					_ = conn.SetReadDeadline(time.Now().Add(wait))
					resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
					status := 0
					if err == nil {
						status = resp.StatusCode
						resp.Body.Close()
					}
					mu.Lock()
					statuses[status]++
					mu.Unlock()
				}()
			}
			// While the stalled connections are open: the heap they cost…
			sent.Wait()
			time.Sleep(100 * time.Millisecond)
			grown := liveHeap() - base
			// …and an ordinary push is answered.
			client := &http.Client{Timeout: time.Second}
			start := time.Now()
			p, _ := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "最新", nextMsgID(), time.Now().Unix()), wechatsim.Safe, time.Now())
			r, err := h.acct.Send(client, h.url(), p)
			took := time.Since(start)
			wg.Wait()
			grownAfter := liveHeap() - base
			rss := vmRSS() - baseRSS
			mu.Lock()
			for _, conn := range held {
				conn.Close()
			}
			mu.Unlock()

			t.Logf("live heap +%d MB while stalled (+%d MB later), VmRSS +%d MB; answered in %s; statuses %v",
				grown>>20, grownAfter>>20, rss>>20, took.Round(time.Millisecond), statuses)
			if err != nil || !strings.Contains(r.Content, "No.54") {
				t.Fatalf("ordinary push during the stall: %+v %v", r, err)
			}
			if took > time.Second {
				t.Errorf("ordinary push answered in %s, want under a second", took)
			}
			// The large lane may hold largeSlots × 1 MiB (32 MiB); the
			// connections themselves a few KB each.
			if limit := int64(100 << 20); max(grown, grownAfter) > limit {
				t.Errorf("live heap grew by %d MB under %d stalled bodies, want under %d MB", max(grown, grownAfter)>>20, conns, limit>>20)
			}
			// The figure: a 256 MiB container must survive this.
			if limit := int64(200 << 20); rss > limit {
				t.Errorf("VmRSS grew by %d MB under %d stalled bodies, want under %d MB", rss>>20, conns, limit>>20)
			}
			if !c.signed && statuses[http.StatusForbidden] != conns {
				t.Errorf("forged queries: %d of %d answered 403 before their body (statuses %v)", statuses[http.StatusForbidden], conns, statuses)
			}
			if c.busy > 0 {
				if statuses[http.StatusServiceUnavailable] < c.busy {
					t.Errorf("%d answered 503, want at least %d (statuses %v)", statuses[http.StatusServiceUnavailable], c.busy, statuses)
				}
				if got := testutil.ToFloat64(h.m.WebhookRefused.WithLabelValues(refusedBusy)); got != float64(statuses[http.StatusServiceUnavailable]) {
					t.Errorf("wxbot_webhook_refused_total{reason=busy} = %v, want %d", got, statuses[http.StatusServiceUnavailable])
				}
			}
		})
	}
}

// liveHeap is the heap in use after a collection: what is still held.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// vmRSS is the process's resident set from /proc/self/status (0 elsewhere).
func vmRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestSlowBodyGivesUpItsSlot: a body that has not arrived by bot.deadline
// is dropped and its place in the large lane freed, so a full lane empties
// by itself.
func TestSlowBodyGivesUpItsSlot(t *testing.T) {
	h := newHarness(t, harnessOpt{cfg: func(c *config.Config) { c.Bot.Deadline = 600 * time.Millisecond }})
	now := time.Now()
	captured, _ := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "help", nextMsgID(), now.Unix()), wechatsim.Safe, now)
	head := "POST /wechat?" + captured.Query + " HTTP/1.1\r\nHost: wx\r\nContent-Type: text/xml\r\nContent-Length: 500000\r\n\r\n<xml>"
	slots := largeSlots(h.bot.maxBody)
	answers := make(chan int, slots+1)
	for i := 0; i < slots+1; i++ {
		conn, err := net.Dial("tcp", h.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte(head)); err != nil {
			t.Fatal(err)
		}
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				answers <- 0
				return
			}
			resp.Body.Close()
			answers <- resp.StatusCode
		}()
	}
	got := map[int]int{}
	for i := 0; i < slots+1; i++ {
		got[<-answers]++
	}
	// One found the lane full at once; the others were cut off at the
	// deadline, not left holding their place.
	if got[http.StatusServiceUnavailable] != 1 || got[http.StatusBadRequest] != slots {
		t.Fatalf("answers %v, want one 503 and %d × 400", got, slots)
	}
	// The lane is free again: a large, genuine push is read and answered.
	long := strings.Repeat("数据合规 ", 2000) // ~26 KB sealed: the large lane
	p, _ := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, long, nextMsgID(), time.Now().Unix()), wechatsim.Safe, time.Now())
	if len(p.Body) <= smallBody {
		t.Fatalf("body of %d bytes does not test the large lane", len(p.Body))
	}
	if _, err := h.acct.Send(http.DefaultClient, h.url(), p); err != nil {
		t.Fatalf("large push after the stall: %v", err)
	}
}
