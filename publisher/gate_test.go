package publisher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/inbox"
	"github.com/lifang/wxbot/newsletter"
)

func parseExample(t *testing.T, name string) *newsletter.Issue {
	t.Helper()
	iss, _, err := newsletter.Parse(name, example(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// visibleIn reports whether a replica reading the archive from Redis
// (not this process's snapshot) lets subscribers see issue n.
func visibleIn(t *testing.T, e *env, n int) bool {
	t.Helper()
	other := archive.New(archive.Options{Redis: e.st.UniversalClient, Keys: e.st.Keys})
	if err := other.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, ok := other.Get(n)
	inRecent := slices.ContainsFunc(other.Recent(100), func(i *newsletter.Issue) bool { return i.Number == n })
	inAll := slices.ContainsFunc(other.All(), func(i *newsletter.Issue) bool { return i.Number == n })
	if ok != inRecent || ok != inAll {
		t.Fatalf("issue %d: Get %v, Recent %v, All %v: the gate must hide it everywhere or nowhere", n, ok, inRecent, inAll)
	}
	return ok
}

// The review gate: an issue the publisher has and has not sent is kept
// from subscribers (by number, 最新, 往期, search all read the same
// snapshot); it appears once WeChat accepted its broadcast; a retracted
// issue disappears again, is never sent again, and issues the publisher
// never handled (No.54 here) stay visible throughout.
func TestReviewGateUnsentHiddenSentShownRetractedHidden(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.arch.Replace(ctx, []*newsletter.Issue{parseExample(t, "newsletter-no54.md"), parseExample(t, "newsletter-no55.md")}); err != nil {
		t.Fatal(err)
	}
	if !visibleIn(t, e, 55) || !visibleIn(t, e, 54) {
		t.Fatal("issues the publisher never handled must be visible")
	}
	p := e.publisher("cli")
	path := e.write("no55.md", example(t, "newsletter-no55.md"))

	res, err := p.Publish(ctx, e.request(path, GoalDraft))
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.State != StatePreviewed && res.Record.State != StateDrafted {
		t.Fatalf("state %s after a draft run", res.Record.State)
	}
	if visibleIn(t, e, 55) {
		t.Fatal("a drafted, unsent issue is visible to subscribers")
	}
	if why, _ := e.arch.Current().Withheld(55); why != archive.WithheldUnsent {
		t.Fatalf("withheld reason %q, want %q", why, archive.WithheldUnsent)
	}
	if l := e.arch.Latest(); l == nil || l.Number != 54 {
		t.Fatalf("最新 would answer %v, want No.54", l)
	}
	if !visibleIn(t, e, 54) {
		t.Fatal("No.54, never handled by the publisher, disappeared")
	}

	// Cancelled before the send: still hidden.
	if _, err := p.Publish(ctx, e.request(path, GoalSchedule)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Cancel(ctx, 55, "editor"); err != nil {
		t.Fatal(err)
	}
	if visibleIn(t, e, 55) {
		t.Fatal("a cancelled issue is visible")
	}

	res, err = p.Publish(ctx, e.request(path, GoalNow))
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.Broadcast != BroadcastYes {
		t.Fatalf("broadcast %q after --now", res.Record.Broadcast)
	}
	if !visibleIn(t, e, 55) {
		t.Fatal("a sent issue is not visible")
	}

	// Retraction: WeChat's mass/delete once, hidden, never sent again.
	rt, err := p.Retract(ctx, 55, 0, "test-editor")
	if err != nil {
		t.Fatal(err)
	}
	if !rt.Mass || !rt.Whole || rt.Record.State != StateRetracted || rt.Record.RetractedBy != "test-editor" {
		t.Fatalf("retraction %+v, record state %s by %q", rt, rt.Record.State, rt.Record.RetractedBy)
	}
	sends := e.sb.MassSends()
	if len(sends) != 1 || !slices.Equal(sends[0].Deleted, []int{0}) || e.calls("message/mass/delete") != 1 {
		t.Fatalf("sandbox: %d sends, deleted %v, %d mass/delete calls; want 1 send withdrawn whole by one call",
			len(sends), sends[0].Deleted, e.calls("message/mass/delete"))
	}
	if visibleIn(t, e, 55) {
		t.Fatal("a retracted issue is still visible")
	}
	if why, _ := e.arch.Current().Withheld(55); why != archive.WithheldRetracted {
		t.Fatalf("withheld reason %q, want %q", why, archive.WithheldRetracted)
	}
	last := rt.Record.History[len(rt.Record.History)-1]
	if last.State != StateRetracted || last.By != "test-editor" || last.Action != ActionRetracted {
		t.Fatalf("history ends with %+v, want the retraction with who did it", last)
	}
	if _, err := p.Publish(ctx, e.request(path, GoalNow)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sb.MassSends()); n != 1 {
		t.Fatalf("%d mass sends after publishing a retracted issue again, want still 1", n)
	}
	var rf *Refusal
	if _, err := p.Retract(ctx, 55, 0, "again"); !errors.As(err, &rf) || rf.Reason != AlreadyRetracted || rf.By == "" || rf.When.IsZero() {
		t.Fatalf("second retract: %v, want a refusal", err)
	}
	if e.calls("message/mass/delete") != 1 {
		t.Fatal("a second retract called WeChat again")
	}
	// The leader's sweep finds nothing to repair.
	before := e.arch.Current().Version
	p.syncGate(ctx)
	if e.arch.Current().Version != before {
		t.Fatal("syncGate rewrote an agreeing gate")
	}
}

// Retract refuses what it cannot withdraw, saying why, without calling WeChat.
func TestRetractRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.publisher("cli")
	var rf *Refusal
	if _, err := p.Retract(ctx, 77, 0, "x"); !errors.As(err, &rf) || rf.Reason != NotInPipeline || rf.Number != 77 {
		t.Fatalf("unknown issue: %v", err)
	}
	path := e.write("no55.md", example(t, "newsletter-no55.md"))
	if _, err := p.Publish(ctx, e.request(path, GoalDraft)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retract(ctx, 55, 0, "x"); !errors.As(err, &rf) || rf.Reason != NotSent || rf.State != StateDrafted {
		t.Fatalf("unsent issue: %v", err)
	}
	if _, err := p.Publish(ctx, e.request(path, GoalNow)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retract(ctx, 55, 9, "x"); !errors.As(err, &rf) || rf.Reason != NoSuchArticle || rf.Article != 9 || rf.Articles < 1 {
		t.Fatalf("article beyond the issue: %v", err)
	}
	if e.calls("message/mass/delete") != 0 {
		t.Fatal("a refused retract called WeChat")
	}
	// Withdrawing the only article withdraws the issue.
	rt, err := p.Retract(ctx, 55, 1, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !rt.Whole || rt.Record.State != StateRetracted || !slices.Equal(e.sb.MassSends()[0].Deleted, []int{1}) {
		t.Fatalf("article 1 of a 1-article issue: whole %v, state %s, deleted %v", rt.Whole, rt.Record.State, e.sb.MassSends()[0].Deleted)
	}
}

// A new inbox issue taken by publish.auto: draft never reaches the chat,
// not even for an instant: every snapshot any reader got is checked.
func TestReviewGateInboxIssueNeverShown(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.publish = func(c *config.PublishConfig) { c.Auto = "draft" }
	})
	ctx := context.Background()
	inboxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(inboxDir, "no54.md"), example(t, "newsletter-no54.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	shown := false
	e.arch.OnChange(func(s *archive.Snapshot) {
		if _, ok := s.Get(56); ok {
			mu.Lock()
			shown = true
			mu.Unlock()
		}
	})
	p := e.publisher("serve")
	e.serve(p)
	// The files are written whole before each Load: no settling.
	l := inbox.New(inbox.Options{Dir: inboxDir, Parse: newsletter.Parse, Archive: e.arch, Consumers: []inbox.Consumer{p}})
	if err := l.Load(ctx); err != nil { // the first look: No.54 is the back catalogue
		t.Fatal(err)
	}
	if !visibleIn(t, e, 54) {
		t.Fatal("the back catalogue is hidden")
	}
	if err := os.WriteFile(filepath.Join(inboxDir, "no56.md"), renumber(example(t, "newsletter-no54.md"), 54, 56), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Load(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "No.56 drafted", func() bool {
		rec, _ := p.Get(ctx, 56)
		return rec != nil && rec.DraftMediaID != ""
	})
	mu.Lock()
	defer mu.Unlock()
	if shown || visibleIn(t, e, 56) {
		t.Fatal("a new inbox issue under publish.auto: draft reached the chat before it was sent")
	}
	if !visibleIn(t, e, 54) {
		t.Fatal("No.54 disappeared")
	}
}
