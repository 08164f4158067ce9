package publisher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/notify"
)

// A scheduled issue tells the editors its time, then that it was sent and
// WeChat's counts; scheduled and sent do not spend the admins'
// customer-service quota.
func TestScheduledSentFinishedNotices(t *testing.T) {
	e := newEnv(t)
	replica := e.publisher("serve")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = replica.Run(ctx) }()
	cli := e.publisher("cli")
	req := e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalSchedule)
	req.At = e.clock.Now().Add(1500 * time.Millisecond)
	if _, err := cli.Publish(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	sch, texts := e.told.of(notify.Scheduled)
	if len(sch) != 1 || sch[0].Number != 54 || sch[0].When.Sub(req.At).Abs() > time.Second || !strings.Contains(texts[0], "No.54 is scheduled for ") {
		t.Fatalf("scheduled notices %+v %q", sch, texts)
	}
	waitFor(t, 8*time.Second, "the finished notice", func() bool { n, _ := e.told.of(notify.Finished); return len(n) == 1 })
	sent, texts := e.told.of(notify.Sent)
	if len(sent) != 1 || sent[0].Number != 54 || !strings.HasPrefix(texts[0], "No.54 was sent") {
		t.Fatalf("sent notices %+v %q", sent, texts)
	}
	for _, n := range e.notices() {
		if strings.Contains(n, "is scheduled for") || strings.Contains(n, "was sent") {
			t.Fatalf("the admins got %q", n)
		}
	}
}
