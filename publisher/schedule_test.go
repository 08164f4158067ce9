package publisher

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/store"
)

// Three replicas run the scheduler; an issue scheduled a second ahead is
// sent once, by one of them, on time.
func TestThreeReplicasSendOnceOnTime(t *testing.T) {
	e := newEnv(t)
	replicas := []*Publisher{e.publisher("serve"), e.publisher("serve"), e.publisher("serve")}
	for _, r := range replicas {
		e.serve(r)
	}
	waitFor(t, 3*time.Second, "a leader", func() bool {
		n := 0
		for _, r := range replicas {
			if r.Leading() {
				n++
			}
		}
		return n == 1
	})
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	cli := e.publisher("cli")
	req := e.request(path, GoalSchedule)
	req.At = e.clock.Now().Add(1500 * time.Millisecond)
	res, err := cli.Publish(context.Background(), req)
	if err != nil || res.Record.State != StateScheduled {
		t.Fatalf("schedule: %v %+v", err, res)
	}
	if len(e.sb.MassSends()) != 0 {
		t.Fatal("sent before its time")
	}
	waitFor(t, 6*time.Second, "the broadcast", func() bool { return len(e.sb.MassSends()) > 0 })
	time.Sleep(500 * time.Millisecond) // room for a wrong second send
	sends := e.sb.MassSends()
	if len(sends) != 1 {
		t.Fatalf("%d mass sends, want 1", len(sends))
	}
	if lag := sends[0].Time.Sub(req.At); lag < 0 || lag > 2*time.Second {
		t.Fatalf("sent %s after its time (want within the poll interval)", lag)
	}
	leaders := 0
	for _, r := range replicas {
		if r.Leading() {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders", leaders)
	}
	if n := e.calls("message/mass/sendall"); n != 1 {
		t.Fatalf("%d sendall calls", n)
	}
}

// A leader that paused past its lock's expiry cannot write once another
// took over: its claim is fenced off and nothing is sent.
func TestStaleLeaderIsFenced(t *testing.T) {
	e := newEnv(t)
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	cli := e.publisher("cli")
	req := e.request(path, GoalSchedule)
	req.At = e.clock.Now().Add(200 * time.Millisecond)
	if _, err := cli.Publish(context.Background(), req); err != nil {
		t.Fatal(err)
	}

	a, b := e.publisher("serve"), e.publisher("serve")
	ctx := context.Background()
	// a takes the lock and then "pauses": no renewal.
	paused := store.NewLock(e.st, e.st.Keys.PublishLeader(), "paused-leader")
	if ok, err := paused.AcquireFenced(ctx, e.st.Keys.PublishFence(), 300*time.Millisecond); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	token, fence := paused.Token, paused.Fence
	time.Sleep(400 * time.Millisecond)
	lb, err := b.tryLead(ctx)
	if err != nil || lb == nil {
		t.Fatalf("b could not lead after a's lock expired: %v", err)
	}
	defer b.resign(lb)
	if lb.fence != fence+1 {
		t.Fatalf("fence %d after %d", lb.fence, fence)
	}
	stale := &leadership{token: token, fence: fence, ctx: ctx}
	err = a.runDue(stale, 54)
	if !errors.Is(err, errFenced) {
		t.Fatalf("stale leader's run: %v, want fenced", err)
	}
	if n := e.calls("message/mass/sendall"); n != 0 {
		t.Fatal("the stale leader sent")
	}
	// Even holding the leader key again with an old fence is not enough.
	if err := e.st.Set(ctx, e.st.Keys.PublishLeader(), token, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.runDue(stale, 54); !errors.Is(err, errFenced) {
		t.Fatalf("old fence with the key: %v", err)
	}
	if rec := e.record(a, 54); rec.State != StateScheduled || rec.Broadcast != BroadcastNone {
		t.Fatalf("record changed by a fenced leader: %s %s", rec.State, rec.Broadcast)
	}
	// The real leader sends it.
	_ = e.st.Del(ctx, e.st.Keys.PublishLeader()).Err()
	lb2, _ := b.tryLead(ctx)
	if lb2 == nil {
		t.Fatal("b could not lead")
	}
	defer b.resign(lb2)
	if err := b.runDue(lb2, 54); err != nil {
		t.Fatal(err)
	}
	if len(e.sb.MassSends()) != 1 {
		t.Fatal("the leader did not send")
	}
}

// publish.max_per_day defers extra issues to the next day's slot, in
// order; WeChat's own quota (45028) puts the issue back to the next slot
// without counting it.
func TestQuotaDefersToNextSlot(t *testing.T) {
	t.Run("max_per_day", func(t *testing.T) {
		e := newEnv(t)
		cli := e.publisher("cli")
		at := e.clock.Now().Add(300 * time.Millisecond)
		for _, n := range []int{55, 54} {
			data := example(t, "newsletter-no54.md")
			if n == 55 {
				data = renumber(data, 54, 55)
			}
			req := e.request(e.write("no"+itoa(n)+".md", data), GoalSchedule)
			req.At = at
			if _, err := cli.Publish(context.Background(), req); err != nil {
				t.Fatal(err)
			}
		}
		srv := e.publisher("serve")
		e.serve(srv)
		waitFor(t, 5*time.Second, "the first broadcast and the deferral", func() bool {
			return len(e.sb.MassSends()) == 1 && strings.Contains(e.record(cli, 55).Explanation, "deferred")
		})
		first, second := e.record(cli, 54), e.record(cli, 55)
		if first.State.rank() < StateSent.rank() || second.State != StateScheduled {
			t.Fatalf("No.54 %s, No.55 %s", first.State, second.State)
		}
		want := srv.nextDaySlot(e.clock.Now())
		if !second.Due.Equal(want) || second.Due.In(srv.Location()).Weekday() != time.Monday || second.Due.In(srv.Location()).Hour() != 9 {
			t.Fatalf("No.55 deferred to %s, want %s", second.Due, want)
		}
		if score, _ := srv.NextAction(context.Background(), 55); score != want.UnixMilli() {
			t.Fatalf("schedule entry %d", score)
		}
		e.waitNotice("No.55", "max_per_day")
	})
	t.Run("wechat_45028", func(t *testing.T) {
		e := newEnv(t, func(o *envOpts) { o.publish = func(p *config.PublishConfig) { p.MaxPerDay = 5 } })
		cli := e.publisher("cli")
		if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
			t.Fatal(err)
		}
		res, err := cli.Publish(context.Background(), e.request(e.write("no55.md", renumber(example(t, "newsletter-no54.md"), 54, 55)), GoalNow))
		if err != nil {
			t.Fatal(err)
		}
		rec := res.Record
		if rec.State != StateScheduled || rec.ErrCode != 45028 || rec.Broadcast != BroadcastNone ||
			!strings.Contains(rec.Explanation, "quota") || !strings.Contains(rec.Explanation, "next slot") {
			t.Fatalf("after 45028: %s %d %s %q", rec.State, rec.ErrCode, rec.Broadcast, rec.Explanation)
		}
		day := cli.day(e.clock.Now())
		if n, _ := e.st.Get(context.Background(), e.st.Keys.PublishSent(day)).Int(); n != 1 {
			t.Fatalf("day counter %d, want 1 (the refused send uncounted)", n)
		}
	})
}

// Slots missed while no replica ran are sent at start-up within
// publish.max_delay; older ones fail and the editors are told.
func TestMissedSlotAtStartup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		late  time.Duration
		sends int
		state State
	}{
		{"within max_delay", 30 * time.Minute, 1, StateSent},
		{"beyond max_delay", 3 * time.Hour, 0, StateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *envOpts) { o.publish = func(p *config.PublishConfig) { p.MaxDelay = time.Hour } })
			cli := e.publisher("cli")
			req := e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalSchedule)
			req.At = e.clock.Now().Add(time.Minute)
			if _, err := cli.Publish(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Minute + tc.late) // no serve ran meanwhile
			e.serve(e.publisher("serve"))
			waitFor(t, 5*time.Second, "the missed slot handled", func() bool {
				return e.record(cli, 54).State.rank() >= StateSent.rank() || e.record(cli, 54).State == StateFailed
			})
			rec := e.record(cli, 54)
			if rec.State != tc.state && !(tc.state == StateSent && rec.State == StateFinished) {
				t.Fatalf("state %s (%s)", rec.State, rec.Explanation)
			}
			if n := len(e.sb.MassSends()); n != tc.sends {
				t.Fatalf("%d sends, want %d", n, tc.sends)
			}
			if tc.sends == 0 {
				if !strings.Contains(rec.Explanation, "max_delay") || rec.Broadcast != BroadcastNone {
					t.Fatalf("explanation %q", rec.Explanation)
				}
				e.waitNotice("No.54 needs attention")
			}
		})
	}
}

// A send still unconfirmed near the end of WeChat's 24 h clientmsgid
// window is not asked again. With an unanswered attempt the outcome is
// unknown: editors told, and a re-run sends nothing unless --force. With
// every attempt refused, it was not sent.
func TestSendWindowRunsOut(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     sandbox.Fault
		broadcast string
		expl      string
	}{
		{"unanswered", sandbox.Fault{Kind: sandbox.FaultLatency, Endpoint: "message/mass/sendall", Delay: sandbox.Duration(time.Second), Count: 100},
			BroadcastMaybe, "outcome is unknown"},
		{"refused", sandbox.Fault{Kind: sandbox.FaultFail, Endpoint: "message/mass/sendall", Code: -1, Count: 100},
			BroadcastNone, "NOT sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *envOpts) {
				o.maxRetries = 0
				o.timeout = 300 * time.Millisecond
				o.sandbox.Faults = []sandbox.Fault{tc.fault}
			})
			path := e.write("no54.md", example(t, "newsletter-no54.md"))
			cli := e.publisher("cli")
			res, err := cli.Publish(context.Background(), e.request(path, GoalNow))
			if err != nil || res.Record.State != StateSending || !res.Pending {
				t.Fatalf("%v %+v", err, res)
			}
			e.clock.Advance(23*time.Hour + time.Minute)
			calls := e.calls("message/mass/sendall")
			e.serve(e.publisher("serve"))
			waitFor(t, 5*time.Second, "the window to close", func() bool { return e.record(cli, 54).State == StateFailed })
			rec := e.record(cli, 54)
			if rec.Broadcast != tc.broadcast || !strings.Contains(rec.Explanation, tc.expl) {
				t.Fatalf("%s %q", rec.Broadcast, rec.Explanation)
			}
			time.Sleep(100 * time.Millisecond)
			if e.calls("message/mass/sendall") != calls {
				t.Fatal("asked again after the window")
			}
			if len(e.sb.MassSends()) != 0 {
				t.Fatal("sent")
			}
			if tc.broadcast == BroadcastNone {
				return
			}
			e.waitNotice("No.54 needs attention")
			again, err := cli.Publish(context.Background(), e.request(path, GoalNow))
			if err != nil || !again.AlreadySent || again.Outcome != OutcomeSendUnknown {
				t.Fatalf("re-run: %v %+v", err, again)
			}
			if e.calls("message/mass/sendall") != calls {
				t.Fatal("a re-run sent")
			}
		})
	}
}

// cancel unschedules an issue until sending starts; after that it refuses.
func TestCancel(t *testing.T) {
	e := newEnv(t)
	cli := e.publisher("cli")
	ctx := context.Background()
	req := e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalSchedule)
	req.At = e.clock.Now().Add(400 * time.Millisecond)
	if _, err := cli.Publish(ctx, req); err != nil {
		t.Fatal(err)
	}
	rec, err := cli.Cancel(ctx, 54, "editor")
	if err != nil || rec.State != StateCancelled {
		t.Fatalf("cancel: %v %+v", err, rec)
	}
	if score, _ := cli.NextAction(ctx, 54); score != 0 {
		t.Fatal("still in the schedule")
	}
	e.serve(e.publisher("serve"))
	time.Sleep(800 * time.Millisecond)
	if len(e.sb.MassSends()) != 0 {
		t.Fatal("a cancelled issue was sent")
	}
	var rf *Refusal
	if _, err := cli.Cancel(ctx, 54, "editor"); !errors.As(err, &rf) || rf.Reason != AlreadyCancelled {
		t.Fatalf("cancel twice: %v", err)
	}
	if _, err := cli.Cancel(ctx, 99, "editor"); !errors.As(err, &rf) || rf.Reason != NotInPipeline {
		t.Fatalf("cancel unknown: %v", err)
	}
	// Published again, sent, then cancel is refused.
	if _, err := cli.Publish(ctx, e.request(req.File, GoalNow)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Cancel(ctx, 54, "editor"); !errors.As(err, &rf) || rf.Reason != AlreadyBroadcast || rf.When.IsZero() {
		t.Fatalf("cancel after send: %v", err)
	}
	if len(e.sb.MassSends()) != 1 {
		t.Fatal("want one send")
	}
}

// A busy issue lock makes another run wait, then give up with who holds it.
func TestIssueLockExcludesConcurrentRuns(t *testing.T) {
	e := newEnv(t)
	a := e.publisher("cli")
	b := e.publisher("cli", func(o *Options) { o.LockWait = 200 * time.Millisecond })
	ctx := context.Background()
	lk, _, err := a.lockIssue(ctx, 54, 0)
	if err != nil {
		t.Fatal(err)
	}
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	_, err = b.Publish(ctx, e.request(path, GoalNow))
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "/cli") {
		t.Fatalf("concurrent run: %v", err)
	}
	// The lock is renewed while held: still held after its TTL.
	time.Sleep(e.cfg.Publish.LockTTL + 300*time.Millisecond)
	if _, _, err := b.lockIssue(ctx, 54, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("lock not renewed: %v", err)
	}
	lk.release()
	var ran atomic.Bool
	if _, err := b.Publish(ctx, e.request(path, GoalNow)); err == nil {
		ran.Store(true)
	}
	if !ran.Load() || len(e.sb.MassSends()) != 1 {
		t.Fatal("run after release did not send")
	}
}

// Five processes publish the same file --now at once, with a replica's
// scheduler running: one broadcast; the others are told it went out.
func TestConcurrentRunsSendOnce(t *testing.T) {
	e := newEnv(t)
	e.serve(e.publisher("serve"))
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	type outcome struct {
		res *Result
		err error
	}
	results := make(chan outcome, 5)
	for i := 0; i < 5; i++ {
		p := e.publisher("cli", func(o *Options) { o.LockWait = 10 * time.Second })
		go func() {
			res, err := p.Publish(context.Background(), e.request(path, GoalNow))
			results <- outcome{res, err}
		}()
	}
	sent, told := 0, 0
	for i := 0; i < 5; i++ {
		o := <-results
		switch {
		case o.err != nil:
			t.Fatalf("run: %v", o.err)
		case o.res.AlreadySent:
			told++
		case o.res.Record.State.rank() >= StateSent.rank():
			sent++
		}
	}
	if sent != 1 || told != 4 {
		t.Fatalf("%d runs sent, %d were told it was sent", sent, told)
	}
	if n := len(e.sb.MassSends()); n != 1 {
		t.Fatalf("%d broadcasts", n)
	}
}

// 45066 (the same clientmsgid retried too fast) keeps the send and asks
// again with the same id after at least a minute.
func TestRetriedTooFastWaitsAMinute(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.maxRetries = 0
		o.sandbox.Faults = []sandbox.Fault{{Kind: sandbox.FaultFail, Endpoint: "message/mass/sendall", Code: 45066}}
	})
	cli := e.publisher("cli")
	ctx := context.Background()
	res, err := cli.Publish(ctx, e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow))
	if err != nil {
		t.Fatal(err)
	}
	rec := res.Record
	if rec.State != StateSending || rec.ErrCode != 45066 || !res.Pending || rec.Broadcast != BroadcastMaybe {
		t.Fatalf("%s %d %v %s", rec.State, rec.ErrCode, res.Pending, rec.Broadcast)
	}
	next, _ := cli.NextAction(ctx, 54)
	if wait := time.UnixMilli(next).Sub(e.clock.Now()); wait < 55*time.Second || wait > 2*time.Minute {
		t.Fatalf("asks again in %s, want about a minute", wait)
	}
	e.clock.Advance(62 * time.Second)
	e.serve(e.publisher("serve"))
	waitFor(t, 5*time.Second, "the send", func() bool { return e.record(cli, 54).State.rank() >= StateSent.rank() })
	if sends := e.sb.MassSends(); len(sends) != 1 || sends[0].ClientMsgID != rec.ClientMsgID {
		t.Fatalf("sends %+v", sends)
	}
}

// A send interrupted before its answer was recorded (the process stopped
// mid-call) counts as possibly sent: a later refusal does not prove the
// issue did not go out, so it fails as "may have been sent".
func TestInterruptedAttemptIsNeverProofOfNotSent(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.maxRetries = 0
		o.sandbox.Faults = []sandbox.Fault{
			{Kind: sandbox.FaultLatency, Endpoint: "message/mass/sendall", Delay: sandbox.Duration(3 * time.Second), Count: 1},
			{Kind: sandbox.FaultFail, Endpoint: "message/mass/sendall", Code: 40007, After: 1},
		}
	})
	cli := e.publisher("cli")
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, 5*time.Second, "the send asked", func() bool {
			rec, err := cli.Get(context.Background(), 54)
			return err == nil && rec.AttemptOpen
		})
		cancel()
	}()
	if _, err := cli.Publish(ctx, e.request(path, GoalNow)); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if rec := e.record(cli, 54); rec.State != StateSending || !rec.AttemptOpen {
		t.Fatalf("after the interruption: %s open=%v", rec.State, rec.AttemptOpen)
	}
	e.serve(e.publisher("serve"))
	waitFor(t, 5*time.Second, "the refusal", func() bool { return e.record(cli, 54).State == StateFailed })
	rec := e.record(cli, 54)
	if rec.Broadcast != BroadcastMaybe || !rec.Unanswered || !strings.Contains(rec.Explanation, "may have sent it") {
		t.Fatalf("%s unanswered=%v %q", rec.Broadcast, rec.Unanswered, rec.Explanation)
	}
	// So an edit is refused too.
	edited := e.write("no54.md", append(example(t, "newsletter-no54.md"), '\n', ' '))
	_, err := cli.Publish(context.Background(), e.request(edited, GoalNow))
	var rf *Refusal
	if !errors.As(err, &rf) || rf.Reason != EditMaybeSent {
		t.Fatalf("edit after a possible send: %v", err)
	}
}

// On Redis Cluster every script and transaction of the pipeline stays on
// one slot ({publish}): a scheduled issue goes out once through a replica.
func TestPipelineOnRedisCluster(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.cluster = true })
	e.serve(e.publisher("serve"))
	cli := e.publisher("cli")
	req := e.request(e.write("no55.md", example(t, "newsletter-no55.md")), GoalSchedule)
	req.At = e.clock.Now().Add(300 * time.Millisecond)
	if _, err := cli.Publish(context.Background(), req); err != nil {
		t.Fatalf("publish on cluster: %v", err)
	}
	waitFor(t, 8*time.Second, "finished on cluster", func() bool { return e.record(cli, 55).State == StateFinished })
	if n := len(e.sb.MassSends()); n != 1 {
		t.Fatalf("%d sends", n)
	}
	if _, err := cli.Cancel(context.Background(), 55, "editor"); err == nil {
		t.Fatal("cancel after the send accepted")
	}
}

// Redis restarted empty after a send (no persistence): publishing the same
// content again within 24 h asks with the same clientmsgid, which WeChat
// answers with 45065 — no second broadcast.
func TestRedisLostAfterSendNoSecondBroadcast(t *testing.T) {
	e := newEnv(t)
	cli := e.publisher("cli")
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	first, err := cli.Publish(context.Background(), e.request(path, GoalNow))
	if err != nil || first.Record.State != StateSent {
		t.Fatalf("%v %+v", err, first)
	}
	e.rs.Restart()
	waitFor(t, 5*time.Second, "redis back", func() bool { return e.st.Ping(context.Background()).Err() == nil })
	if _, err := cli.Get(context.Background(), 54); !errors.Is(err, ErrUnknownIssue) {
		t.Fatalf("record survived a restart without persistence: %v", err)
	}
	again, err := cli.Publish(context.Background(), e.request(path, GoalNow))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Record.Duplicate || again.Record.MsgID != first.Record.MsgID || len(e.sb.MassSends()) != 1 {
		t.Fatalf("after Redis lost the record: duplicate=%v msg_id %d (first %d), %d sends",
			again.Record.Duplicate, again.Record.MsgID, first.Record.MsgID, len(e.sb.MassSends()))
	}
}
