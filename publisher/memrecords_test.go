package publisher

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/store"
)

// memRecords is the records interface in memory, for the decision tests:
// what store.Records does in Redis (the rev check, the guard, the quota,
// the side effects), without a Redis. store's own tests hold the real
// one to the same behaviour.
type memRecords struct {
	mu       sync.Mutex
	recs     map[int]map[string]string
	schedule map[int]int64  // issue → unix ms
	links    map[string]int // link key → issue
	sent     map[string]int // day → sends counted
	locks    map[int]string // issue → lock token held
	leader   string
	fence    int64
	commits  int
}

var _ records = (*memRecords)(nil)

func newMemRecords() *memRecords {
	return &memRecords{recs: map[int]map[string]string{}, schedule: map[int]int64{}, links: map[string]int{},
		sent: map[string]int{}, locks: map[int]string{}}
}

func (m *memRecords) LoadRecord(_ context.Context, n int) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.recs[n]), nil
}

func (m *memRecords) CommitRecord(_ context.Context, g store.RecordGuard, n int, rev int64, _, next map[string]string, ops []store.RecordOp) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	have := m.recs[n]
	if have["rev"] != strconv.FormatInt(rev, 10) && !(rev == 0 && have == nil) {
		return store.ErrRecordChanged
	}
	if g.LockToken != "" && m.locks[n] != g.LockToken {
		return store.ErrLockLost
	}
	if g.LeaderToken != "" && (m.leader != g.LeaderToken || m.fence != g.Fence) {
		return store.ErrFenced
	}
	for _, o := range ops {
		if o.Op == store.OpQuota && m.sent[o.Day] >= o.Max {
			return store.ErrQuotaUsed
		}
	}
	rec := maps.Clone(next)
	rec["rev"] = strconv.FormatInt(rev+1, 10)
	m.recs[n] = rec
	for _, o := range ops {
		switch o.Op {
		case store.OpSchedule:
			m.schedule[n] = o.Score
		case store.OpUnschedule:
			delete(m.schedule, n)
		case store.OpQuota:
			m.sent[o.Day]++
		case store.OpUnquota:
			if m.sent[o.Day] > 0 {
				m.sent[o.Day]--
			}
		case store.OpLink:
			m.links[o.Link] = n
		}
	}
	m.commits++
	return nil
}

// put stores rec as the record, as another writer would: its rev
// moves on.
func (m *memRecords) put(t *testing.T, rec *Record) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	rev, _ := strconv.ParseInt(m.recs[rec.Number]["rev"], 10, 64)
	f := rec.fields()
	f["rev"] = strconv.FormatInt(rev+1, 10)
	m.recs[rec.Number] = f
}

func (m *memRecords) get(t *testing.T, n int) *Record {
	t.Helper()
	f, _ := m.LoadRecord(context.Background(), n)
	if f == nil {
		return nil
	}
	rec, err := decodeRecord(f)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// noted records the notices a decision sends.
type noted struct {
	mu  sync.Mutex
	all []Notice
}

func (n *noted) Notify(_ context.Context, x Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.all = append(n.all, x)
	return nil
}

func (n *noted) kinds() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, x := range n.all {
		out = append(out, string(x.Kind))
	}
	return out
}

// decisionNow is the decision tests' clock.
var decisionNow = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

// decider is a Publisher over in-memory records, with no Redis, no
// WeChat and no archive: enough for the decisions over a record.
func decider(t *testing.T, mod func(*config.PublishConfig)) (*Publisher, *memRecords, *noted) {
	t.Helper()
	cfg, err := config.Load(config.Options{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&cfg.Publish)
	}
	mem, told := newMemRecords(), &noted{}
	p := &Publisher{
		cfg: cfg.Publish, recs: mem, notifier: told, m: metrics.Discard(),
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: func() time.Time { return decisionNow },
		loc: time.UTC, mem: memory{records: map[int]known{}, seen: map[string]string{}}, sentOK: map[string]time.Time{},
	}
	return p, mem, told
}
