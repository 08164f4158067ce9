package bot

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
)

// Many questions at once share pipelines (on Cluster, split per node):
// every message is still committed on its own terms — its reply stored
// once, a wrong language guess corrected before the answer, its session
// written — and every arrival of one message, concurrent ones in the same
// batch included, gets one answer.
func TestCommitBatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		rdb  func(t *testing.T) redis.UniversalClient
	}{
		{"redis", func(t *testing.T) redis.UniversalClient { return redistest.Start(t).Client() }},
		{"cluster", func(t *testing.T) redis.UniversalClient {
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: redistest.StartCluster(t).Addrs})
			t.Cleanup(func() { _ = c.Close() })
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := tc.rdb(t)
			h := newHarness(t, harnessOpt{rdb: rdb})

			// 24 subscribers; a third chose English on another replica (this
			// one's hint says nothing), a third Chinese and English.
			const users, arrivals = 24, 3
			// What each one's answer holds, and what it must not.
			type expect struct{ has, hasNot []string }
			zh, en := "“数据安全法”：共 1 条", "“数据安全法”: 1 result"
			want := map[string]expect{}
			for i := 0; i < users; i++ {
				u := fmt.Sprintf("oBatch%02d", i)
				switch i % 3 {
				case 1:
					want[u] = expect{[]string{en}, []string{zh}}
					if err := rdb.HSet(ctx, h.keys.Prefs(u), "lang", langEN).Err(); err != nil {
						t.Fatal(err)
					}
				case 2:
					want[u] = expect{[]string{zh, en}, nil}
					if err := rdb.HSet(ctx, h.keys.Prefs(u), "lang", langBoth).Err(); err != nil {
						t.Fatal(err)
					}
				default:
					want[u] = expect{[]string{zh}, []string{en}}
				}
			}
			// One subscriber's preferences key is not a hash (whatever put it
			// there): their commit fails and is answered without Redis, and
			// it fails alone.
			const poisoned = "oBatchPoisoned"
			want[poisoned] = expect{[]string{zh}, []string{en}}
			if err := rdb.Set(ctx, h.keys.Prefs(poisoned), "not a hash", 0).Err(); err != nil {
				t.Fatal(err)
			}
			// Each message arrives three times at once (WeChat's retries
			// racing the first try).
			type result struct {
				user  string
				reply *wechatsim.Reply
				err   error
			}
			results := make(chan result, len(want)*arrivals)
			var wg sync.WaitGroup
			for u := range want {
				p, err := h.acct.Seal(wechatsim.Text(u, testAccount, "数据安全法", nextMsgID(), time.Now().Unix()), wechatsim.Safe, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				for a := 0; a < arrivals; a++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r, err := h.acct.Send(http.DefaultClient, h.url(), p)
						results <- result{u, r, err}
					}()
				}
			}
			wg.Wait()
			close(results)
			got := map[string][][]byte{}
			for r := range results {
				if r.err != nil {
					t.Fatal(r.err)
				}
				for _, s := range want[r.user].has {
					contains(t, r.reply.Content, s)
				}
				for _, s := range want[r.user].hasNot {
					if strings.Contains(r.reply.Content, s) {
						t.Fatalf("%s: answer in the wrong language:\n%s", r.user, r.reply.Content)
					}
				}
				got[r.user] = append(got[r.user], r.reply.Plain)
			}
			for u, replies := range got {
				if u == poisoned {
					continue
				}
				for _, p := range replies[1:] {
					if !bytes.Equal(p, replies[0]) {
						t.Fatalf("%s: arrivals of one message answered differently:\n%s\n%s", u, replies[0], p)
					}
				}
				// The English guess was wrong for English subscribers: the
				// answer is English all the same (checked above), and the
				// session holds the search (written with the claim).
				waitUntil(t, func() bool {
					sess, err := rdb.Get(ctx, h.keys.Session(u)).Result()
					return err == nil && sess == "1:数据安全法"
				})
			}
			if n := testutil.ToFloat64(h.m.Degraded.WithLabelValues("claim")); n != arrivals {
				t.Fatalf("%v commits degraded, want the poisoned subscriber's %d", n, arrivals)
			}
			if hits := testutil.ToFloat64(h.m.DedupeHits); hits != users*(arrivals-1) {
				t.Fatalf("dedupe hits %v, want %d", hits, users*(arrivals-1))
			}
			// Every commit's wait and every script call's size is measured.
			if n := testutil.CollectAndCount(h.m.CommitWait); n != 1 {
				t.Fatalf("commit wait histogram: %d series", n)
			}
			if got := histogramCount(t, h.m.CommitWait); got < float64(len(want)) {
				t.Fatalf("%v commit waits observed for at least %d commits", got, len(want))
			}
			pipelines, claims := histogramCount(t, h.m.CommitBatch), histogramSum(t, h.m.CommitBatch)
			if pipelines < 1 {
				t.Fatal("no commit pipeline observed")
			}
			t.Logf("%d messages × %d arrivals: %v claims in %v pipelines", len(want), arrivals, claims, pipelines)
			if claims != float64(len(want)*arrivals) {
				t.Errorf("%v claims sent for %d arrivals", claims, len(want)*arrivals)
			}
			if pipelines >= claims {
				t.Errorf("%v pipelines for %v claims: none shared", pipelines, claims)
			}
		})
	}
}

func histogramCount(t *testing.T, h prometheus.Histogram) float64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return float64(m.GetHistogram().GetSampleCount())
}

func histogramSum(t *testing.T, h prometheus.Histogram) float64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleSum()
}
