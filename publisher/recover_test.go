package publisher

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
)

// After Redis comes back empty (FLUSHALL on the real server), the issue
// the inbox had scheduled is back in the schedule at its time, a new
// inbox issue is handled per publish.auto (not taken for a first look),
// the files handled before are not published again, and the editors are
// told once, by name, what was scheduled — with two replicas noticing.
func TestRedisWipeRestoresScheduleAndInbox(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.publish = func(p *config.PublishConfig) { p.Auto = "schedule" } })
	e.write("no55.md", example(t, "newsletter-no55.md")) // there before: recorded, not published
	p := e.publisher("serve")
	q := e.publisher("serve")
	e.serve(p)
	e.serve(q)
	e.watchInbox(p)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.logs.String())
		}
	})
	ctx := context.Background()
	waitFor(t, 5*time.Second, "the first look", func() bool {
		ok, _ := e.st.HExists(ctx, e.st.Keys.PublishInboxSeen(), baselineField).Result()
		return ok
	})
	e.write("no54.md", example(t, "newsletter-no54.md"))
	waitFor(t, 5*time.Second, "No.54 scheduled", func() bool {
		rec, err := p.Get(ctx, 54)
		return err == nil && rec.State == StateScheduled
	})
	before := e.record(p, 54)
	drafts := e.calls("draft/add")

	if err := e.st.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// A new issue arrives while the replicas have not looked yet.
	e.write("no56.md", renumber(example(t, "newsletter-no54.md"), 54, 56))
	waitFor(t, 8*time.Second, "No.56 scheduled after the wipe", func() bool {
		rec, err := p.Get(ctx, 56)
		return err == nil && rec != nil && rec.State == StateScheduled
	})
	waitFor(t, 5*time.Second, "No.54 back in the schedule", func() bool {
		score, err := e.st.ZScore(ctx, e.st.Keys.PublishSchedule(), "54").Result()
		return err == nil && int64(score) == before.Due.UnixMilli()
	})
	after := e.record(p, 54)
	if after.State != StateScheduled || !after.Due.Equal(before.Due) || after.DraftMediaID != before.DraftMediaID ||
		after.ClientMsgID != before.ClientMsgID {
		t.Fatalf("No.54 after the wipe: %s due %s draft %s; before: due %s draft %s",
			after.State, after.Due, after.DraftMediaID, before.Due, before.DraftMediaID)
	}
	e.waitNoticeWithin(8*time.Second, "Redis lost", "No.54 scheduled for "+p.fmtTime(before.Due))
	time.Sleep(noticeGrace + 500*time.Millisecond) // room for a second notice
	n := 0
	for _, s := range e.notices() {
		if strings.Contains(s, "Redis lost") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d notices of the loss, want 1", n)
	}
	// Only No.56 was drafted since: No.55 and No.54 were not taken again.
	if got := e.calls("draft/add") - drafts; got != 1 {
		t.Fatalf("%d drafts made after the wipe, want 1 (No.56)", got)
	}
	if rec, err := p.Get(ctx, 55); err == nil && rec != nil {
		t.Fatalf("No.55, in the inbox before the first look, entered the pipeline: %s", rec.State)
	}
	if len(e.sb.MassSends()) != 0 {
		t.Fatal("something was sent")
	}
}

// A record the pipeline wrote after the loss is never replaced by one a
// replica remembers; a record restored from an older memory is.
func TestRestoreNeverOverwritesNewerRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.publisher("serve")
	p.checkRedis(ctx)
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	if _, err := p.Publish(ctx, e.request(path, GoalDraft)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// After the loss, another process publishes No.54 afresh before p looks.
	other := e.publisher("cli")
	data, _ := os.ReadFile(path)
	edited := bytes.Replace(data, []byte("2021年5月"), []byte("2021年6月"), 1)
	if err := os.WriteFile(filepath.Join(e.dir, "no54b.md"), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := other.Publish(ctx, e.request(filepath.Join(e.dir, "no54b.md"), GoalDraft))
	if err != nil {
		t.Fatal(err)
	}
	if !p.checkRedis(ctx) {
		t.Fatal("the loss was not noticed")
	}
	if got := e.record(p, 54); got.ContentHash != res.Record.ContentHash {
		t.Fatal("the record written after the loss was replaced by the remembered one")
	}
}

// waitNoticeWithin is waitNotice with a longer wait.
func (e *env) waitNoticeWithin(d time.Duration, parts ...string) {
	e.t.Helper()
	waitFor(e.t, d, "a notice with "+strings.Join(parts, ", "), func() bool {
		for _, n := range e.notices() {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(n, p)
			}
			if ok {
				return true
			}
		}
		return false
	})
}

// What a replica knew only from longer ago (it may have changed since: a
// send by another replica) is not written back, but the editors are told
// of it by name.
func TestRedisWipeOldMemoryNotRestoredButTold(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.publisher("serve")
	p.checkRedis(ctx)
	res, err := p.Publish(ctx, e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalSchedule))
	if err != nil || res.Record.State != StateScheduled {
		t.Fatalf("schedule: %v %+v", err, res)
	}
	p.memMu.Lock()
	k := p.mem.records[54]
	k.at = time.Now().Add(-2 * freshFor)
	p.mem.records[54] = k
	p.memMu.Unlock()
	if err := e.st.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if !p.checkRedis(ctx) {
		t.Fatal("the loss was not noticed")
	}
	if rec, err := p.Get(ctx, 54); err == nil && rec != nil {
		t.Fatalf("a record known %s ago was written back: %s", 2*freshFor, rec.State)
	}
	time.Sleep(noticeGrace)
	p.checkRedis(ctx)
	e.waitNotice("Redis lost", "no issue was scheduled", "NOT restored", "No.54 scheduled for "+p.fmtTime(res.Record.Due))
}
