package publisher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/sandbox"
)

// 53501 (publishing too often) is temporary: a publish-mode issue whose
// first freepublish/submit gets it is submitted again later and ends
// published, and the editors are not told it failed.
func TestPublishTooOftenIsRetried(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.maxRetries = 0
		o.publish = func(p *config.PublishConfig) { p.Mode = "publish" }
		o.sandbox.Faults = []sandbox.Fault{{Kind: sandbox.FaultFail, Endpoint: "freepublish/submit", Code: 53501}}
	})
	cli := e.publisher("cli")
	res, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow))
	if err != nil {
		t.Fatalf("first submit answered 53501: %v", err)
	}
	if rec := res.Record; rec.State != StateSending || !res.Pending || rec.ErrCode != 53501 || !strings.Contains(rec.Explanation, "publishing too often (53501)") {
		t.Fatalf("after 53501: state %s pending %v errcode %d %q", rec.State, res.Pending, rec.ErrCode, rec.Explanation)
	}
	e.serve(e.publisher("serve"))
	waitFor(t, 8*time.Second, "the publication", func() bool { return e.record(cli, 54).State == StateFinished })
	rec := e.record(cli, 54)
	if rec.PublishStep != PublishDone || len(rec.URLs) == 0 || rec.Broadcast != BroadcastYes {
		t.Fatalf("publish step %s, urls %v, broadcast %s", rec.PublishStep, rec.URLs, rec.Broadcast)
	}
	if n := e.calls("freepublish/submit"); n != 2 {
		t.Fatalf("freepublish/submit asked %d times, want 2", n)
	}
	if pubs := e.sb.Snapshot().Publications; len(pubs) != 1 {
		t.Fatalf("%d publications, want 1", len(pubs))
	}
	for _, n := range e.notices() {
		if strings.Contains(n, "failed") {
			t.Fatalf("editors told of a failure: %q", n)
		}
	}
}

// A temporary refusal that never ends is not asked forever: after
// maxPublishAttempts submits the issue fails, nothing was published, and
// the editors are told.
func TestPublishRefusedForNowIsBounded(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.maxRetries = 0
		o.publish = func(p *config.PublishConfig) { p.Mode = "publish" }
		o.sandbox.Faults = []sandbox.Fault{{Kind: sandbox.FaultFail, Endpoint: "freepublish/submit", Code: 53501, Count: 100}}
	})
	cli := e.publisher("cli", func(o *Options) { o.RetryDelay = time.Millisecond })
	if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	e.serve(e.publisher("serve", func(o *Options) { o.RetryDelay = time.Millisecond }))
	waitFor(t, 10*time.Second, "the failure", func() bool { return e.record(cli, 54).State == StateFailed })
	rec := e.record(cli, 54)
	if n := e.calls("freepublish/submit"); n != maxPublishAttempts {
		t.Fatalf("freepublish/submit asked %d times, want %d", n, maxPublishAttempts)
	}
	if rec.Broadcast != BroadcastNone || !strings.Contains(rec.Explanation, "refused the publication 10 times") {
		t.Fatalf("broadcast %s, %q", rec.Broadcast, rec.Explanation)
	}
	e.waitNotice("No.54", "53501")
}
