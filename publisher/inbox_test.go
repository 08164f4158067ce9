package publisher

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/inbox"
	"github.com/lifang/wxbot/internal/issuetest"
	"github.com/lifang/wxbot/newsletter"
)

// watchInbox runs the inbox Loader on the env's folder with the
// publisher as its consumer, as `wxbot serve` does.
func (e *env) watchInbox(p *Publisher) {
	e.t.Helper()
	e.watchInboxSettle(p, 100*time.Millisecond)
}

// watchInboxSettle is watchInbox with newsletter.inbox_settle = settle.
func (e *env) watchInboxSettle(p *Publisher, settle time.Duration) {
	e.t.Helper()
	l := inbox.New(inbox.Options{Dir: e.dir, Parse: newsletter.Parse, Archive: e.arch, Consumers: []inbox.Consumer{p},
		Debounce: 50 * time.Millisecond, Settle: settle})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Watch(ctx)
	}()
	e.t.Cleanup(func() { cancel(); <-done })
}

func TestInboxAutoDraft(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.publish = func(p *config.PublishConfig) { p.Auto = "draft"; p.PreviewTo = []string{"oReviewer"} }
	})
	e.write("no55.md", example(t, "newsletter-no55.md")) // there before: recorded, not published
	p := e.publisher("serve")
	e.serve(p)
	e.watchInbox(p)
	ctx := context.Background()
	waitFor(t, 5*time.Second, "the first look at the inbox", func() bool {
		n, _ := e.st.HExists(ctx, e.st.Keys.PublishInboxSeen(), baselineField).Result()
		return n
	})
	time.Sleep(300 * time.Millisecond)
	if n := e.calls("draft/add"); n != 0 {
		t.Fatalf("an issue already in the inbox was drafted (%d draft/add)", n)
	}

	// A new issue arrives: drafted and previewed, not sent.
	data := renumber(example(t, "newsletter-no54.md"), 54, 56)
	e.write("no56.md", data)
	waitFor(t, 5*time.Second, "No.56 drafted", func() bool {
		rec, err := p.Get(ctx, 56)
		return err == nil && rec.State == StatePreviewed
	})
	rec := e.record(p, 56)
	if rec.Origin != "inbox" || rec.Goal != GoalDraft || len(rec.Previewed) != 1 {
		t.Fatalf("%+v", rec)
	}
	// A broken file: shown with its located error, editors told, nothing made.
	broken := bytes.Replace(renumber(example(t, "newsletter-no54.md"), 54, 57), []byte("国内要闻 Domestic News"), []byte("国内 要闻"), 1)
	e.write("no57.md", broken)
	waitFor(t, 5*time.Second, "the problem recorded", func() bool {
		probs, _ := p.InboxProblems(ctx)
		return len(probs) == 1
	})
	probs, _ := p.InboxProblems(ctx)
	if !strings.HasPrefix(probs[0].Error, filepath.Join(e.dir, "no57.md")+":") {
		t.Fatalf("problem not located: %q", probs[0].Error)
	}
	if _, err := p.Get(ctx, 57); err == nil {
		t.Fatal("a broken file entered the pipeline")
	}
	waitFor(t, 3*time.Second, "the notice", func() bool { return strings.Contains(strings.Join(e.notices(), "\n"), "no57.md:") })
	// Fixed: the problem goes away.
	e.write("no57.md", renumber(example(t, "newsletter-no54.md"), 54, 57))
	waitFor(t, 5*time.Second, "the problem cleared and No.57 drafted", func() bool {
		probs, _ := p.InboxProblems(ctx)
		rec, err := p.Get(ctx, 57)
		return len(probs) == 0 && err == nil && rec.State == StatePreviewed
	})

	// An edit of No.56 updates its draft.
	e.write("no56.md", bytes.Replace(data, []byte("2021年5月"), []byte("2021年6月"), 1))
	waitFor(t, 5*time.Second, "No.56's draft updated", func() bool { return e.calls("draft/update") > 0 && e.record(p, 56).PreviewedHash != rec.PreviewedHash })
	if e.record(p, 56).DraftMediaID != rec.DraftMediaID || len(e.sb.MassSends()) != 0 {
		t.Fatal("edit made a new draft or a send")
	}
}

func TestInboxAutoScheduleAndEditAfterSend(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.publish = func(p *config.PublishConfig) { p.Auto = "schedule" } })
	p := e.publisher("serve")
	e.serve(p)
	e.watchInbox(p)
	ctx := context.Background()
	waitFor(t, 5*time.Second, "the first look", func() bool {
		ok, _ := e.st.HExists(ctx, e.st.Keys.PublishInboxSeen(), baselineField).Result()
		return ok
	})
	data := example(t, "newsletter-no54.md")
	path := e.write("no54.md", data)
	waitFor(t, 5*time.Second, "No.54 scheduled", func() bool {
		rec, err := p.Get(ctx, 54)
		return err == nil && rec.State == StateScheduled
	})
	rec := e.record(p, 54)
	if want := p.NextSlot(rec.Created); !rec.Due.Equal(want) {
		t.Fatalf("due %s, want the next slot %s", rec.Due, want)
	}
	// The editor sends it now; then edits the file in the inbox.
	cli := e.publisher("cli")
	if _, err := cli.Publish(ctx, e.request(path, GoalNow)); err != nil {
		t.Fatal(err)
	}
	e.write("no54.md", bytes.Replace(data, []byte("2021年5月"), []byte("2021年6月"), 1))
	waitFor(t, 5*time.Second, "the refusal told", func() bool {
		return strings.Contains(strings.Join(e.notices(), "\n"), "already broadcast")
	})
	if n := len(e.sb.MassSends()); n != 1 {
		t.Fatalf("%d sends", n)
	}
	if e.record(p, 54).RefusedHash == "" {
		t.Fatal("refusal not recorded")
	}
}

// An issue written into the inbox in two parts 1.5 s apart — the first
// part a valid issue on its own, cut short — is drafted and previewed
// once, complete: the loader waits for the file to settle (2 s).
func TestInboxTwoPartWriteNotDraftedCutShort(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.publish = func(p *config.PublishConfig) { p.Auto = "draft"; p.PreviewTo = []string{"oReviewer"} }
	})
	p := e.publisher("serve")
	e.serve(p)
	e.watchInboxSettle(p, 2*time.Second)
	ctx := context.Background()
	waitFor(t, 5*time.Second, "the first look", func() bool {
		ok, _ := e.st.HExists(ctx, e.st.Keys.PublishInboxSeen(), baselineField).Result()
		return ok
	})
	full, part := issuetest.HalfWritten(t, "newsletter-no54.md")
	issuetest.WriteInTwoParts(t, filepath.Join(e.dir, "no54.md"), full, part, 1500*time.Millisecond)
	waitFor(t, 8*time.Second, "No.54 previewed", func() bool {
		rec, err := p.Get(ctx, 54)
		return err == nil && rec.State == StatePreviewed
	})
	time.Sleep(300 * time.Millisecond) // room for a second version
	rec := e.record(p, 54)
	if rec.ContentHash != contentHash(full) {
		t.Fatalf("drafted content %s, not the whole file (%d of %d bytes were there first)", short(rec.ContentHash), len(part), len(full))
	}
	if a, u, pv := e.calls("draft/add"), e.calls("draft/update"), e.calls("message/mass/preview"); a != 1 || u != 0 || pv != 1 {
		t.Fatalf("draft/add %d, draft/update %d, previews %d; want the complete issue drafted and previewed once", a, u, pv)
	}
}

// An issue the inbox parsed reaches the pipeline as it is (Request.Parsed):
// Publish does not parse the file's bytes again.
func TestPublishTakesTheInboxParse(t *testing.T) {
	e := newEnv(t)
	cli := e.publisher("cli")
	data := example(t, "newsletter-no54.md")
	iss, _, err := newsletter.Parse("no57.md", renumber(data, 54, 57))
	if err != nil {
		t.Fatal(err)
	}
	req := e.request(e.write("no54.md", data), GoalDraft)
	req.Parsed = iss
	res, err := cli.Publish(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Number != 57 || res.Record == nil || res.Record.Number != 57 {
		t.Fatalf("published No.%d (record %+v), want the parsed No.57 rather than a parse of the bytes (No.54)", res.Number, res.Record)
	}
}
