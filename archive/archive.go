// Package archive holds the newsletter issues the chat answers from and the
// publisher and admin pages look up: handed over by the inbox package
// (the folder's one reader and parser, or the built-in examples) through
// Replace, and pinned by the publisher after a broadcast; kept in Redis so
// that every replica answers alike, and cached in each process as an
// immutable Snapshot that is swapped whenever the shared version in Redis
// changes.
package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/store"
)

// Snapshot is one consistent view of the archive. It is never modified
// after it is built, so readers share it without locks.
type Snapshot struct {
	// Version is the archive version in Redis this view was read at; 0 for a
	// view built locally while Redis was unreachable.
	Version int64
	// issues are sorted newest (highest number) first.
	issues   []*newsletter.Issue
	byNumber map[int]*newsletter.Issue
	urls     map[int][]string
	// withheld are the issues subscribers must not see (the review gate):
	// number → reason. They are in none of the lists above.
	withheld map[int]string
	// all is every issue before the gate, kept for a local rebuild.
	all []*newsletter.Issue
}

// Reasons an issue is withheld from subscribers.
const (
	// WithheldUnsent: the publisher has the issue and has not sent it
	// (parsed, drafted, previewed, scheduled, cancelled, failed before
	// the send).
	WithheldUnsent = "unsent"
	// WithheldRetracted: the issue was withdrawn from WeChat after the send.
	WithheldRetracted = "retracted"
)

// NewSnapshot builds a view from issues and published URLs. Issues with the
// same number keep the first.
func NewSnapshot(version int64, issues []*newsletter.Issue, urls map[int][]string) *Snapshot {
	return newSnapshot(version, issues, urls, nil)
}

// newSnapshot builds a view in which the withheld issues do not appear.
func newSnapshot(version int64, issues []*newsletter.Issue, urls map[int][]string, withheld map[int]string) *Snapshot {
	s := &Snapshot{Version: version, byNumber: make(map[int]*newsletter.Issue, len(issues)), urls: map[int][]string{},
		withheld: map[int]string{}, all: issues}
	for n, why := range withheld {
		s.withheld[n] = why
	}
	for _, iss := range issues {
		if iss == nil || s.byNumber[iss.Number] != nil {
			continue
		}
		if _, gated := s.withheld[iss.Number]; gated {
			continue
		}
		s.byNumber[iss.Number] = iss
		s.issues = append(s.issues, iss)
	}
	sort.SliceStable(s.issues, func(i, j int) bool { return s.issues[i].Number > s.issues[j].Number })
	for n, u := range urls {
		s.urls[n] = append([]string(nil), u...)
	}
	return s
}

// Withheld reports whether issue n is kept from subscribers, and why
// (WithheldUnsent, WithheldRetracted).
func (s *Snapshot) Withheld(n int) (string, bool) {
	if s == nil {
		return "", false
	}
	why, ok := s.withheld[n]
	return why, ok
}

// Latest is the newest issue, or nil when the archive is empty.
func (s *Snapshot) Latest() *newsletter.Issue {
	if s == nil || len(s.issues) == 0 {
		return nil
	}
	return s.issues[0]
}

// Get returns issue n.
func (s *Snapshot) Get(n int) (*newsletter.Issue, bool) {
	if s == nil {
		return nil, false
	}
	iss, ok := s.byNumber[n]
	return iss, ok
}

// Recent returns up to k issues, newest first.
func (s *Snapshot) Recent(k int) []*newsletter.Issue {
	if s == nil || k <= 0 {
		return nil
	}
	if k > len(s.issues) {
		k = len(s.issues)
	}
	return s.issues[:k:k]
}

// All returns every issue, newest first. The slice must not be modified.
func (s *Snapshot) All() []*newsletter.Issue {
	if s == nil {
		return nil
	}
	return s.issues[:len(s.issues):len(s.issues)]
}

// URLs returns the published article URLs of issue n (nil when unpublished).
func (s *Snapshot) URLs(n int) []string {
	if s == nil {
		return nil
	}
	return s.urls[n]
}

// Len is the number of issues.
func (s *Snapshot) Len() int {
	if s == nil {
		return 0
	}
	return len(s.issues)
}

// Archive is the shared archive: Redis is the truth, Current the local copy.
type Archive struct {
	rdb  redis.UniversalClient
	keys store.Keys
	log  *slog.Logger

	cur atomic.Pointer[Snapshot]
	// onChange are called with each new snapshot (the bot builds its search
	// index there, once per change rather than per query). Copy on write:
	// swap reads the list without a lock.
	mu       sync.Mutex
	onChange atomic.Pointer[[]func(*Snapshot)]
	// missing is set when the last Refresh found no archive in Redis (a
	// fresh or emptied server), so the loader writes its issues again.
	missing atomic.Bool
	// pinned is the pinned issues as last read or written here: with the
	// current snapshot's article URLs, what Replace writes back when Redis
	// lost the archive (the inbox's issues come back from the folder,
	// these from nowhere else).
	pinnedMu sync.Mutex
	pinned   map[string]string
}

// Options are what an Archive is built with.
type Options struct {
	// Redis holds the shared archive under Keys (the {archive} keys).
	Redis redis.UniversalClient
	Keys  store.Keys
	Log   *slog.Logger // nil: discarded
}

// New returns an empty archive over Redis; call Refresh (or Run) to load it.
func New(o Options) *Archive {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Archive{rdb: o.Redis, keys: o.Keys, log: log}
	a.cur.Store(NewSnapshot(0, nil, nil))
	return a
}

// OnChange registers fn to run with every new snapshot, and once now.
// Every registered fn runs, in the order registered.
func (a *Archive) OnChange(fn func(*Snapshot)) {
	a.mu.Lock()
	var fns []func(*Snapshot)
	if old := a.onChange.Load(); old != nil {
		fns = append(fns, *old...)
	}
	fns = append(fns, fn)
	a.onChange.Store(&fns)
	a.mu.Unlock()
	fn(a.Current())
}

// Current is the latest snapshot this process has seen. Never nil.
func (a *Archive) Current() *Snapshot { return a.cur.Load() }

// Latest is the newest issue in the current snapshot.
func (a *Archive) Latest() *newsletter.Issue { return a.Current().Latest() }

// Get returns issue n from the current snapshot.
func (a *Archive) Get(n int) (*newsletter.Issue, bool) { return a.Current().Get(n) }

// Recent returns up to k issues, newest first.
func (a *Archive) Recent(k int) []*newsletter.Issue { return a.Current().Recent(k) }

// All returns every issue, newest first.
func (a *Archive) All() []*newsletter.Issue { return a.Current().All() }

// URLs returns the published article URLs of issue n.
func (a *Archive) URLs(n int) []string { return a.Current().URLs(n) }

func (a *Archive) swap(s *Snapshot) {
	a.cur.Store(s)
	if fns := a.onChange.Load(); fns != nil {
		for _, fn := range *fns {
			fn(s)
		}
	}
}

// setLocal serves issues from this process while Redis cannot take them.
func (a *Archive) setLocal(issues []*newsletter.Issue) {
	// The gate stays as last read, and an issue this replica has not seen
	// before is withheld until Redis answers again: whether the publisher
	// has sent it cannot be known meanwhile.
	cur := a.Current()
	known := map[int]bool{}
	for _, iss := range cur.all {
		if iss != nil {
			known[iss.Number] = true
		}
	}
	withheld := maps.Clone(cur.withheld)
	for _, iss := range issues {
		if iss != nil && !known[iss.Number] && cur.Version != 0 {
			withheld[iss.Number] = WithheldUnsent
		}
	}
	a.swap(newSnapshot(0, issues, cur.urls, withheld))
}

func issueField(n int) string { return strconv.Itoa(n) }

func versionOf(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

func isNil(err error) bool { return errors.Is(err, redis.Nil) }

func encode(iss *newsletter.Issue) (string, error) {
	b, err := json.Marshal(iss)
	return string(b), err
}

func urlsJSON(u []string) (string, error) {
	b, err := json.Marshal(u)
	return string(b), err
}

func decodeURLs(s string) (u []string, err error) {
	err = json.Unmarshal([]byte(s), &u)
	return u, err
}

func decodeIssue(s string) (iss *newsletter.Issue, err error) {
	err = json.Unmarshal([]byte(s), &iss)
	return iss, err
}

// Refresh reads the archive from Redis when its version changed since the
// last read. The three keys are read in one MULTI so the view is consistent.
func (a *Archive) Refresh(ctx context.Context) error {
	ver, err := a.rdb.Get(ctx, a.keys.ArchiveVersion()).Result()
	if err != nil && !isNil(err) {
		return fmt.Errorf("archive: read version: %w", err)
	}
	a.missing.Store(versionOf(ver) == 0)
	if cur := a.Current(); cur.Version != 0 && versionOf(ver) == cur.Version {
		return nil
	}
	if versionOf(ver) == 0 && a.Current().Len() > 0 {
		// Nothing in Redis yet (fresh server) but issues held locally: keep them.
		return nil
	}
	got, err := store.ReadArchive(ctx, a.rdb, a.keys)
	if err != nil {
		return fmt.Errorf("archive: read: %w", err)
	}
	issues := make([]*newsletter.Issue, 0, len(got.Issues))
	for field, raw := range got.Issues {
		iss, err := decodeIssue(raw)
		if err != nil || iss == nil {
			a.log.Error("archive: skipping an undecodable issue in redis", slog.String("field", field), slog.Any("error", err))
			continue
		}
		issues = append(issues, iss)
	}
	urls := map[int][]string{}
	for field, raw := range got.URLs {
		n, err1 := strconv.Atoi(field)
		u, err2 := decodeURLs(raw)
		if err1 != nil || err2 != nil {
			a.log.Error("archive: skipping undecodable urls in redis", slog.String("field", field))
			continue
		}
		urls[n] = u
	}
	withheld := map[int]string{}
	for field, why := range got.Withheld {
		n, err := strconv.Atoi(field)
		if err != nil {
			a.log.Error("archive: skipping an undecodable withheld entry in redis", slog.String("field", field))
			continue
		}
		withheld[n] = why
	}
	a.swap(newSnapshot(got.Version, issues, urls, withheld))
	return nil
}

// Withhold keeps issue n from subscribers (the review gate): it leaves
// 最新, 往期, search and the answer by number until Release. The
// publisher withholds an issue before it first records it, so no reader
// sees an unsent issue in between.
func (a *Archive) Withhold(ctx context.Context, n int, why string) error {
	if why == "" {
		why = WithheldUnsent
	}
	if cur, ok := a.Current().Withheld(n); ok && cur == why {
		return nil
	}
	if err := store.WithholdIssue(ctx, a.rdb, a.keys, n, why); err != nil {
		return fmt.Errorf("archive: withhold issue %d: %w", n, err)
	}
	return a.Refresh(ctx)
}

// Release lets subscribers see issue n again: the publisher releases an
// issue once WeChat accepted its broadcast.
func (a *Archive) Release(ctx context.Context, n int) error {
	if err := store.ReleaseIssue(ctx, a.rdb, a.keys, n); err != nil {
		return fmt.Errorf("archive: release issue %d: %w", n, err)
	}
	return a.Refresh(ctx)
}

// Run refreshes the archive every interval until ctx ends, so a replica sees
// what another replica's inbox loaded within one interval.
func (a *Archive) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, interval)
			err := a.Refresh(rctx)
			cancel()
			if err != nil && !failing && ctx.Err() == nil {
				a.log.Warn("archive: refresh from redis failed; answering from the last snapshot", slog.Any("error", err))
			}
			failing = err != nil
		}
	}
}

// Missing reports that the last Refresh found no archive in Redis (it
// restarted empty): the inbox writes its issues again at once.
func (a *Archive) Missing() bool { return a.missing.Load() }

// Replace makes issues the whole archive (the inbox is the source of truth)
// and reports whether anything changed. Published URLs are kept. When Redis
// is unreachable the issues still become this process's snapshot, so the
// replica answers from them, and the error is returned for a later retry.
func (a *Archive) Replace(ctx context.Context, issues []*newsletter.Issue) (bool, error) {
	want, err := encodeAll(issues)
	if err != nil {
		return false, err
	}
	// Issues published from outside the inbox (wxbot publish FILE) stay in
	// the archive; an inbox file with the same number wins.
	pinned, err := a.rdb.HGetAll(ctx, a.keys.ArchivePinned()).Result()
	if err != nil {
		a.setLocal(issues)
		return true, fmt.Errorf("archive: read pinned issues: %w", err)
	}
	// Redis lost the archive: the pinned issues and the article URLs this
	// process knew are written back with the inbox's issues.
	var restorePinned map[string]string
	var restoreURLs map[string]string
	ver, err := a.rdb.Get(ctx, a.keys.ArchiveVersion()).Result()
	if err != nil && !isNil(err) {
		a.setLocal(issues)
		return true, fmt.Errorf("archive: read version: %w", err)
	}
	if versionOf(ver) == 0 {
		restorePinned, restoreURLs = a.remembered(pinned)
	}
	a.pinnedMu.Lock()
	a.pinned = pinned
	a.pinnedMu.Unlock()
	for field, raw := range pinned {
		if _, inInbox := want[field]; !inInbox {
			want[field] = raw
		}
	}
	have, err := a.rdb.HGetAll(ctx, a.keys.ArchiveIssues()).Result()
	if err != nil {
		a.setLocal(issues)
		return true, fmt.Errorf("archive: read issues: %w", err)
	}
	if sameMap(have, want) && restorePinned == nil && restoreURLs == nil {
		// Several replicas watching one shared inbox converge here without
		// bumping the version again and again.
		return false, a.Refresh(ctx)
	}
	// After Redis lost the archive, the review gate is written again from
	// this replica's memory with the issues, so what was withheld stays
	// withheld.
	var withheld map[int]string
	if versionOf(ver) == 0 {
		withheld = a.Current().withheld
	}
	if err := a.write(ctx, want, withheld, restorePinned, restoreURLs); err != nil {
		a.setLocal(issues)
		return true, fmt.Errorf("archive: write issues: %w", err)
	}
	return true, a.Refresh(ctx)
}

// encodeAll encodes issues as the archive's hash fields; a number seen
// twice keeps the first.
func encodeAll(issues []*newsletter.Issue) (map[string]string, error) {
	want := make(map[string]string, len(issues))
	for _, iss := range issues {
		if iss == nil {
			continue
		}
		if _, dup := want[issueField(iss.Number)]; dup {
			continue
		}
		raw, err := encode(iss)
		if err != nil {
			return nil, fmt.Errorf("archive: encode issue %d: %w", iss.Number, err)
		}
		want[issueField(iss.Number)] = raw
	}
	return want, nil
}

// remembered is what this process knew that Redis lost: the pinned issues
// missing from pinned (added to it) and the article URLs.
func (a *Archive) remembered(pinned map[string]string) (restorePinned, restoreURLs map[string]string) {
	a.pinnedMu.Lock()
	for f, raw := range a.pinned {
		if _, ok := pinned[f]; !ok {
			if restorePinned == nil {
				restorePinned = map[string]string{}
			}
			restorePinned[f], pinned[f] = raw, raw
		}
	}
	a.pinnedMu.Unlock()
	for n, u := range a.Current().urls {
		if raw, err := urlsJSON(u); err == nil && len(u) > 0 {
			if restoreURLs == nil {
				restoreURLs = map[string]string{}
			}
			restoreURLs[issueField(n)] = raw
		}
	}
	return restorePinned, restoreURLs
}

// write makes want the archive's issues and bumps the version, in one
// transaction; after Redis lost the archive it also writes back the
// review gate (withheld), the pinned issues and the URLs, never over
// what is there.
func (a *Archive) write(ctx context.Context, want map[string]string, withheld map[int]string, restorePinned, restoreURLs map[string]string) error {
	return store.ReplaceArchiveIssues(ctx, a.rdb, a.keys, store.ArchiveWrite{
		Issues: want, Withheld: withheld, Pinned: restorePinned, URLs: restoreURLs})
}

// Pin keeps issue iss in the archive even though no inbox file holds it:
// the publisher pins each issue it broadcasts, so an issue published with
// `wxbot publish FILE` from outside the inbox reaches the chat and survives
// the inbox's next Replace. An inbox file with the same number still wins.
func (a *Archive) Pin(ctx context.Context, iss *newsletter.Issue) error {
	if iss == nil || iss.Number <= 0 {
		return errors.New("archive: pin: no issue number")
	}
	raw, err := encode(iss)
	if err != nil {
		return fmt.Errorf("archive: encode issue %d: %w", iss.Number, err)
	}
	a.pinnedMu.Lock()
	if a.pinned == nil {
		a.pinned = map[string]string{}
	}
	a.pinned[issueField(iss.Number)] = raw
	a.pinnedMu.Unlock()
	if _, err := store.PinIssue(ctx, a.rdb, a.keys, iss.Number, raw); err != nil {
		return fmt.Errorf("archive: pin issue %d: %w", iss.Number, err)
	}
	return a.Refresh(ctx)
}

// SetURLs records the published article URLs of issue n (the publisher calls
// it when WeChat reports them), so the chat answers with a card linking there.
func (a *Archive) SetURLs(ctx context.Context, number int, urls []string) error {
	raw, err := urlsJSON(urls)
	if err != nil {
		return fmt.Errorf("archive: encode urls of issue %d: %w", number, err)
	}
	if len(urls) == 0 {
		raw = ""
	}
	if err := store.SetIssueURLs(ctx, a.rdb, a.keys, number, raw); err != nil {
		return fmt.Errorf("archive: set urls of issue %d: %w", number, err)
	}
	return a.Refresh(ctx)
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
