package publisher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
)

// With no job report and WeChat answering SENDING forever, the mass send's
// status is asked at most MaxPolls times, with growing gaps; then the
// record says "unknown — check the platform", the editors are told once,
// and nothing more is asked.
func TestOutcomePollingIsBounded(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.noWebhook = true
		o.sandbox.PushDelay = 24 * time.Hour // mass/get answers SENDING
	})
	opts := func(o *Options) { o.OutcomeAfter = 500 * time.Millisecond; o.MaxPolls = 4 }
	cli := e.publisher("cli", opts)
	if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	e.serve(e.publisher("serve", opts))
	waitFor(t, 8*time.Second, "polling to stop", func() bool { return e.record(cli, 54).PollsStopped })
	rec := e.record(cli, 54)
	if rec.State != StateSent || rec.Polls != 4 || !strings.Contains(rec.Explanation, "unknown — check the platform (群发记录)") {
		t.Fatalf("state %s, %d polls, %q", rec.State, rec.Polls, rec.Explanation)
	}
	var at []time.Time
	for _, c := range e.sb.Calls() {
		if c.Endpoint == "message/mass/get" {
			at = append(at, c.Time)
		}
	}
	if len(at) != 4 {
		t.Fatalf("message/mass/get asked %d times, want 4", len(at))
	}
	if first, last := at[1].Sub(at[0]), at[3].Sub(at[2]); last < 2*first {
		t.Errorf("gaps between polls %s then %s: want them to grow (doubling)", first, last)
	}
	e.waitNotice("No.54 needs attention", "unknown — check the platform")
	if next, _ := cli.NextAction(context.Background(), 54); next != 0 {
		t.Errorf("still scheduled at %d after polling stopped", next)
	}
	time.Sleep(500 * time.Millisecond)
	if n := e.calls("message/mass/get"); n != 4 {
		t.Fatalf("message/mass/get asked %d times after polling stopped", n)
	}
	if outcomeOf(rec) != OutcomeSent || !rec.PollsStopped || !strings.Contains(rec.Explanation, "unknown — check the platform") {
		t.Errorf("outcome %s, polls stopped %v, explanation %q", outcomeOf(rec), rec.PollsStopped, rec.Explanation)
	}
}

// freepublish/get's daily limit: WeChat's 45009 (the sandbox answers it
// past PublishGetPerDay) makes the publisher wait for the next Beijing day
// instead of asking again, and the poll then completes the record.
func TestPublishPollWaitsForNextDayAfter45009(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.noWebhook = true
		o.maxRetries = 0
		o.publish = func(p *config.PublishConfig) { p.Mode = "publish" }
		o.sandbox.PushDelay = 2 * time.Hour // freepublish/get answers "publishing"
		o.sandbox.PublishGetPerDay = 2
	})
	opts := func(o *Options) { o.OutcomeAfter = 100 * time.Millisecond }
	cli := e.publisher("cli", opts)
	if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	stop := e.serve(e.publisher("serve", opts))
	waitFor(t, 5*time.Second, "the 45009", func() bool { return e.calls("freepublish/get") >= 3 })
	time.Sleep(300 * time.Millisecond)
	if n := e.calls("freepublish/get"); n != 3 {
		t.Fatalf("freepublish/get asked %d times, want 2 answered and one 45009, then none", n)
	}
	next, _ := cli.NextAction(context.Background(), 54)
	want := nextQuotaDay(e.clock.Now())
	if got := time.UnixMilli(next); got.Before(want.Add(-time.Minute)) || got.After(want.Add(time.Minute)) {
		t.Fatalf("next poll at %s, want after the next Beijing midnight, %s", got, want)
	}
	stop()
	// The next day: the publication is done and the quota fresh.
	wait := want.Sub(e.clock.Now()) + time.Second
	e.clock.Advance(wait)
	e.sb.Advance(wait)
	e.serve(e.publisher("serve", opts))
	waitFor(t, 5*time.Second, "the outcome", func() bool { return e.record(cli, 54).State == StateFinished })
	if rec := e.record(cli, 54); rec.PublishStep != PublishDone || len(rec.URLs) == 0 {
		t.Fatalf("publish step %s, urls %v", rec.PublishStep, rec.URLs)
	}
}

// wxbot's own daily budget, shared by the replicas, stops polls before
// WeChat's limit is reached.
func TestPollBudgetPerDay(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.noWebhook = true
		o.sandbox.PushDelay = 24 * time.Hour
	})
	opts := func(o *Options) { o.OutcomeAfter = 100 * time.Millisecond; o.PollBudget = 3 }
	cli := e.publisher("cli", opts)
	if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	e.serve(e.publisher("serve", opts))
	e.serve(e.publisher("serve", opts))
	waitFor(t, 5*time.Second, "the budget spent", func() bool { return e.calls("message/mass/get") >= 3 })
	time.Sleep(400 * time.Millisecond)
	if n := e.calls("message/mass/get"); n != 3 {
		t.Fatalf("message/mass/get asked %d times, want the budget of 3", n)
	}
	if rec := e.record(cli, 54); rec.PollsStopped || rec.State != StateSent {
		t.Fatalf("budget spent: polls stopped %v, state %s; want a wait for the next day", rec.PollsStopped, rec.State)
	}
}
