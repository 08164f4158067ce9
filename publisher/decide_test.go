package publisher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// Fast table tests of the publisher's decisions over a record, with the
// records in memory (memrecords_test.go): no Redis, no WeChat.

func opsText(ops []op) string {
	var out []string
	for _, o := range ops {
		switch o.Op {
		case store.OpSchedule:
			out = append(out, fmt.Sprintf("zadd@%s", time.UnixMilli(o.Score).UTC().Format("15:04")))
		default:
			out = append(out, o.Op)
		}
	}
	return strings.Join(out, " ")
}

// What a request means for the record it finds: admit.
func TestAdmitDecides(t *testing.T) {
	at := decisionNow.Add(3 * time.Hour) // 12:00
	due := decisionNow.Add(time.Hour)    // 10:00
	sent := func(x *Record) {
		x.State, x.Broadcast, x.ContentHash, x.MsgID, x.SentAt = StateSent, BroadcastYes, "h1", 1000, decisionNow
	}
	scheduled := func(x *Record) {
		x.State, x.Broadcast, x.ContentHash, x.Goal, x.Due = StateScheduled, BroadcastNone, "h1", GoalSchedule, due
		x.ToAll, x.DraftHash, x.PreviewedHash = true, "d1", "d1"
	}
	unknown := func(x *Record) {
		x.State, x.Broadcast, x.ContentHash, x.SendAttempts, x.QuotaDay = StateFailed, BroadcastMaybe, "h1", 2, "2026-12-02"
		x.SendStarted = decisionNow.Add(-time.Hour)
	}
	cases := []struct {
		name  string
		rec   func(*Record)
		req   Request
		hash  string
		err   error
		kind  admitKind
		ops   string
		check func(t *testing.T, x *Record, v admission)
	}{
		{name: "a new issue is parsed, not sent", req: Request{File: "no54.md", Goal: GoalSchedule, Origin: "cli"}, hash: "h1",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.State != StateParsed || x.Broadcast != BroadcastNone || x.ClientMsgID != "wxbot54-h1" || x.Origin != "cli" || !x.ToAll {
					t.Errorf("%s %s %q %s to_all %v", x.State, x.Broadcast, x.ClientMsgID, x.Origin, x.ToAll)
				}
			}},
		{name: "the same content again after the send: already done", rec: sent, hash: "h1", err: errNoChange, kind: admitDone},
		{name: "an edit after the send is refused, once", rec: sent, hash: "h2", kind: admitRefused,
			check: func(t *testing.T, x *Record, v admission) {
				if !v.newRefusal || x.RefusedHash != "h2" || x.ContentHash != "h1" || x.State != StateSent {
					t.Errorf("new refusal %v, refused %q, content %q, state %s", v.newRefusal, x.RefusedHash, x.ContentHash, x.State)
				}
			}},
		{name: "the same refused edit again changes nothing", rec: func(x *Record) { sent(x); x.RefusedHash = "h2" }, hash: "h2",
			err: errNoChange, kind: admitRefused},
		{name: "an unfinished send is resumed as it is",
			rec: func(x *Record) { x.State, x.Broadcast, x.ContentHash = StateSending, BroadcastMaybe, "h1" }, hash: "h1", err: errNoChange},
		{name: "a send of unknown outcome is not asked again", rec: unknown, hash: "h1", err: errNoChange, kind: admitDone},
		{name: "--force after the editor checked: a fresh send", rec: unknown, req: Request{Force: true, Goal: GoalSchedule}, hash: "h1",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.State != StateParsed || x.Broadcast != BroadcastNone || x.SendAttempts != 0 || x.QuotaDay != "" || !x.SendStarted.IsZero() {
					t.Errorf("%s %s attempts %d quota %q", x.State, x.Broadcast, x.SendAttempts, x.QuotaDay)
				}
			}},
		{name: "an edit before the send leaves the schedule and starts over", rec: scheduled, req: Request{Goal: GoalSchedule}, hash: "h2", ops: "zrem",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.State != StateParsed || x.ContentHash != "h2" || x.ClientMsgID != "wxbot54-h2" {
					t.Errorf("%s %q %q", x.State, x.ContentHash, x.ClientMsgID)
				}
			}},
		{name: "--now moves a scheduled issue to now", rec: scheduled, req: Request{Goal: GoalNow}, hash: "h1", ops: "zadd@09:00",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.State != StateScheduled || !x.Due.Equal(decisionNow) || x.Goal != GoalNow {
					t.Errorf("%s due %v goal %s", x.State, x.Due, x.Goal)
				}
			}},
		{name: "--draft-only unschedules", rec: scheduled, req: Request{Goal: GoalDraft}, hash: "h1", ops: "zrem",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.State != StatePreviewed {
					t.Errorf("state %s", x.State)
				}
			}},
		{name: "--at reschedules", rec: scheduled, req: Request{Goal: GoalSchedule, At: at}, hash: "h1", ops: "zadd@12:00",
			check: func(t *testing.T, x *Record, _ admission) {
				if !x.Due.Equal(at) {
					t.Errorf("due %v", x.Due)
				}
			}},
		{name: "a new reviewer gets the draft before the send", rec: scheduled, req: Request{Goal: GoalSchedule, PreviewTo: []string{"oNew"}}, hash: "h1", ops: "zrem",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.State != StateDrafted || !slices.Equal(x.PreviewTo, []string{"oNew"}) {
					t.Errorf("%s %v", x.State, x.PreviewTo)
				}
			}},
		{name: "a failed run before the send runs again",
			rec: func(x *Record) {
				x.State, x.Broadcast, x.ContentHash, x.Error, x.ErrCode = StateFailed, BroadcastNone, "h1", "draft add", 40007
			},
			req: Request{Goal: GoalSchedule}, hash: "h1",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.State != StateParsed || x.Error != "" || x.ErrCode != 0 {
					t.Errorf("%s %q %d", x.State, x.Error, x.ErrCode)
				}
			}},
		{name: "the inbox never lowers an editor's goal", rec: scheduled, req: Request{Goal: GoalDraft, Origin: "inbox"}, hash: "h1",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.Goal != GoalSchedule || x.State != StateScheduled {
					t.Errorf("goal %s state %s", x.Goal, x.State)
				}
			}},
		{name: "another target forgets the tag id",
			rec: func(x *Record) { scheduled(x); x.ToAll, x.Tag, x.TagID = false, "readers", 7 },
			req: Request{Goal: GoalSchedule, Tag: "editors"}, hash: "h1",
			check: func(t *testing.T, x *Record, _ admission) {
				if x.Tag != "editors" || x.TagID != 0 {
					t.Errorf("tag %q id %d", x.Tag, x.TagID)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _, _ := decider(t, nil)
			x := &Record{Number: 54}
			if c.rec != nil {
				c.rec(x)
			}
			if c.req.File == "" {
				c.req.File = "no54.md"
			}
			_, ops, v, err := p.admit(x, c.req, c.hash)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if v.kind != c.kind {
				t.Errorf("admission %d, want %d", v.kind, c.kind)
			}
			if got := opsText(ops); got != c.ops {
				t.Errorf("ops %q, want %q", got, c.ops)
			}
			if c.check != nil {
				c.check(t, x, v)
			}
		})
	}
}

// What a mass-send report (MASSSENDJOBFINISH) means for the issue.
func TestMassEventMeans(t *testing.T) {
	sent := func(mode string) *Record {
		return &Record{Number: 54, State: StateSent, Mode: mode, Broadcast: BroadcastYes, MsgID: 1000, ContentHash: "h1", SentAt: decisionNow}
	}
	ok := wechat.MassSendJobEvent{MsgID: 1000, Status: "send success", TotalCount: 10, FilterCount: 9, SentCount: 9}
	cases := []struct {
		name    string
		rec     *Record
		ev      wechat.MassSendJobEvent
		changed bool
		state   State
		notices string
	}{
		{"the report finishes a sent issue", sent("mass"), ok, true, StateFinished, "finished"},
		{"a report of another send is not this issue's", sent("mass"), wechat.MassSendJobEvent{MsgID: 999, Status: "send success", SentCount: 1}, false, StateSent, ""},
		{"WeChat's retry of a report changes nothing", func() *Record {
			r := sent("mass")
			r.State, r.MassStatus, r.ReportedAt, r.TotalCount, r.FilterCount, r.SentCount = StateFinished, ok.Status, decisionNow, 10, 9, 9
			return r
		}(), ok, false, StateFinished, ""},
		{"a failure report nobody can confirm is ignored", sent("mass"), wechat.MassSendJobEvent{MsgID: 1000, Status: "send_fail"}, false, StateSent, ""},
		{"mode both waits for the publication too", func() *Record { r := sent("both"); r.PublishStep, r.PublishID = PublishSubmitted, "p1"; return r }(),
			ok, true, StateSent, ""},
		{"a success after WeChat said it failed is not believed", func() *Record {
			r := sent("mass")
			r.State, r.MassStatus, r.ReportedAt = StateFailed, "send_fail", decisionNow
			return r
		}(), ok, false, StateFailed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, mem, told := decider(t, nil)
			mem.put(t, c.rec)
			mem.schedule[54] = decisionNow.UnixMilli()
			before := mem.commits
			if err := p.applyMassEvent(context.Background(), 54, c.ev); err != nil {
				t.Fatal(err)
			}
			got := mem.get(t, 54)
			if changed := mem.commits != before; changed != c.changed {
				t.Errorf("record written %v, want %v", changed, c.changed)
			}
			if got.State != c.state {
				t.Errorf("state %s, want %s", got.State, c.state)
			}
			if k := strings.Join(told.kinds(), " "); k != c.notices {
				t.Errorf("notices %q, want %q", k, c.notices)
			}
			if c.changed && (got.SentCount != c.ev.SentCount || got.TotalCount != c.ev.TotalCount || got.MassStatus != c.ev.Status) {
				t.Errorf("figures %d/%d %q", got.SentCount, got.TotalCount, got.MassStatus)
			}
			if _, scheduled := mem.schedule[54]; scheduled != (got.State == StateSent || got.State == StateScheduled) && c.changed {
				t.Errorf("schedule entry kept %v in state %s", scheduled, got.State)
			}
		})
	}
}

// What a publication report (PUBLISHJOBFINISH) means for the issue.
func TestPublishEventMeans(t *testing.T) {
	submitted := func() *Record {
		return &Record{Number: 54, State: StateSent, Mode: "publish", Broadcast: BroadcastYes, PublishStep: PublishSubmitted,
			PublishID: "p1", ContentHash: "h1", SentAt: decisionNow}
	}
	published := func(urls ...string) *Record {
		r := submitted()
		r.State, r.PublishStep, r.URLs = StateFinished, PublishDone, urls
		return r
	}
	urls := []string{"https://mp.weixin.qq.com/s/a"}
	cases := []struct {
		name    string
		rec     *Record
		ev      wechat.PublishJobEvent
		changed bool
		state   State
		step    string
		urls    int
		notices string
	}{
		{"published: the issue is finished with its links", submitted(), wechat.PublishJobEvent{PublishID: "p1", Status: 0, ArticleURLs: urls},
			true, StateFinished, PublishDone, 1, "finished"},
		{"still publishing is no news", submitted(), wechat.PublishJobEvent{PublishID: "p1", Status: 1}, false, StateSent, PublishSubmitted, 0, ""},
		{"another publication is not this issue's", submitted(), wechat.PublishJobEvent{PublishID: "p2", Status: 0, ArticleURLs: urls},
			false, StateSent, PublishSubmitted, 0, ""},
		{"links once recorded stay", published("https://mp.weixin.qq.com/s/old"), wechat.PublishJobEvent{PublishID: "p1", Status: 0, ArticleURLs: urls},
			false, StateFinished, PublishDone, 1, ""},
		{"a later report may fill in missing links", published(), wechat.PublishJobEvent{PublishID: "p1", Status: 0, ArticleURLs: urls},
			true, StateFinished, PublishDone, 1, ""},
		{"a success after WeChat said it failed is not believed", func() *Record { r := submitted(); r.PublishStep = PublishFailed; return r }(),
			wechat.PublishJobEvent{PublishID: "p1", Status: 0, ArticleURLs: urls}, false, StateSent, PublishFailed, 0, ""},
		{"a failure report nobody can confirm is ignored", submitted(), wechat.PublishJobEvent{PublishID: "p1", Status: 4},
			false, StateSent, PublishSubmitted, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, mem, told := decider(t, nil)
			mem.put(t, c.rec)
			before := mem.commits
			if err := p.applyPublishEvent(context.Background(), 54, c.ev); err != nil {
				t.Fatal(err)
			}
			got := mem.get(t, 54)
			if changed := mem.commits != before; changed != c.changed {
				t.Errorf("record written %v, want %v", changed, c.changed)
			}
			if got.State != c.state || got.PublishStep != c.step || len(got.URLs) != c.urls {
				t.Errorf("state %s step %s urls %v, want %s %s %d", got.State, got.PublishStep, got.URLs, c.state, c.step, c.urls)
			}
			if k := strings.Join(told.kinds(), " "); k != c.notices {
				t.Errorf("notices %q, want %q", k, c.notices)
			}
		})
	}
}

// The in-memory records keep the guard as Redis does: a stale rev, a lost
// lock and a used quota are refused, and update re-reads on a conflict.
func TestUpdateOverMemoryRecords(t *testing.T) {
	p, mem, _ := decider(t, nil)
	ctx := context.Background()
	mem.put(t, &Record{Number: 54, State: StateScheduled, Broadcast: BroadcastNone})
	mem.locks[54] = "cli/1"
	if _, err := p.update(ctx, guard{lockToken: "cli/2"}, 54, func(x *Record) (string, []op, error) { return "", nil, nil }); !errors.Is(err, errLockLost) {
		t.Fatalf("a write under a lost lock: %v", err)
	}
	calls := 0
	rec, err := p.update(ctx, guard{lockToken: "cli/1"}, 54, func(x *Record) (string, []op, error) {
		calls++
		if calls == 1 {
			// Another writer (a job event) changes the record meanwhile.
			mem.put(t, &Record{Number: 54, State: StateScheduled, Broadcast: BroadcastNone, Explanation: "other"})
		}
		x.State = StateSending
		return "sending", []op{{Op: store.OpQuota, Max: 1, Day: "2026-12-02", TTL: 1}}, nil
	})
	if err != nil || calls != 2 || rec.State != StateSending || rec.Explanation != "other" || rec.Rev != 3 {
		t.Fatalf("after a conflict: %v, %d calls, %+v", err, calls, rec)
	}
	if last := rec.History[len(rec.History)-1]; last.State != StateSending || last.Note != "sending" {
		t.Fatalf("history %+v", rec.History)
	}
	if _, err := p.update(ctx, guard{lockToken: "cli/1"}, 54, func(x *Record) (string, []op, error) {
		return "again", []op{{Op: store.OpQuota, Max: 1, Day: "2026-12-02"}}, nil
	}); !errors.Is(err, errQuotaUsed) {
		t.Fatalf("a second send of the day: %v", err)
	}
}

// What advance does next for a record: nextStep.
func TestNextStep(t *testing.T) {
	drafted := func(x *Record) { x.DraftHash, x.DraftMediaID = "d1", "m1" }
	cases := []struct {
		name string
		rec  func(*Record)
		want prepStep
	}{
		{"parsed: render", func(x *Record) { x.State, x.Goal = StateParsed, GoalSchedule }, prepRender},
		{"rendered: upload the pictures", func(x *Record) { x.State, x.Goal = StateRendered, GoalSchedule }, prepUpload},
		{"uploaded: make the draft", func(x *Record) { x.State, x.Goal = StateUploaded, GoalDraft }, prepDraft},
		{"drafted, reviewers waiting: preview", func(x *Record) {
			x.State, x.Goal, x.PreviewTo = StateDrafted, GoalSchedule, []string{"oRev"}
			drafted(x)
		}, prepPreview},
		{"drafted, a reviewer's preview failed: it counts as done", func(x *Record) {
			x.State, x.Goal, x.PreviewTo = StateDrafted, GoalSchedule, []string{"oRev", "oGone"}
			drafted(x)
			x.PreviewedHash, x.Previewed, x.PreviewErrors = "d1", []string{"oRev"}, []string{"oGone: 43004"}
		}, prepSchedule},
		{"previewed an older draft: preview again", func(x *Record) {
			x.State, x.Goal, x.PreviewTo = StatePreviewed, GoalSchedule, []string{"oRev"}
			drafted(x)
			x.PreviewedHash, x.Previewed = "d0", []string{"oRev"}
		}, prepPreview},
		{"no reviewers, goal draft: done once drafted", func(x *Record) {
			x.State, x.Goal = StateDrafted, GoalDraft
			drafted(x)
		}, prepDone},
		{"no reviewers, goal schedule: schedule", func(x *Record) {
			x.State, x.Goal = StateDrafted, GoalSchedule
			drafted(x)
		}, prepSchedule},
		{"goal now: schedule (the send is the leader's)", func(x *Record) {
			x.State, x.Goal = StatePreviewed, GoalNow
			drafted(x)
		}, prepSchedule},
		{"awaiting approval: nothing to prepare", func(x *Record) { x.State, x.Goal = StateAwaiting, GoalSchedule }, prepDone},
		{"scheduled: nothing to prepare", func(x *Record) { x.State, x.Goal = StateScheduled, GoalSchedule }, prepDone},
		{"sent", func(x *Record) { x.State = StateSent }, prepDone},
		{"failed", func(x *Record) { x.State = StateFailed }, prepDone},
		{"cancelled", func(x *Record) { x.State = StateCancelled }, prepDone},
		{"rejected", func(x *Record) { x.State = StateRejected }, prepDone},
		{"retracted", func(x *Record) { x.State = StateRetracted }, prepDone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := &Record{Number: 54}
			c.rec(x)
			if got := nextStep(x); got != c.want {
				t.Fatalf("nextStep = %d, want %d (state %s, goal %s)", got, c.want, x.State, x.Goal)
			}
		})
	}
}
