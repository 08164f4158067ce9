package publisher

import (
	"context"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
)

// Slots lists the next publish.schedule slots with their day's broadcasts:
// after a send today, today's slots say the quota is used (an issue put
// there would be deferred) and tomorrow's do not.
func TestSlotsWithAUsedQuota(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.publish = func(c *config.PublishConfig) { c.Schedule, c.MaxPerDay = "0 */2 * * *", 1 }
	})
	ctx := context.Background()
	p := e.publisher("cli")
	loc := p.Location()
	now := e.clock.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	today := p.day(now)

	before, err := p.Slots(ctx, midnight.Add(-time.Second), 24)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 24 {
		t.Fatalf("%d slots, want 24", len(before))
	}
	for _, s := range before {
		if s.QuotaUsed || s.Sent != 0 || s.Max != 1 {
			t.Fatalf("slot %+v before any send: want the quota free", s)
		}
	}

	if _, err := p.Publish(ctx, e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
		t.Fatal(err)
	}
	if len(e.sb.MassSends()) != 1 {
		t.Fatal("not sent")
	}
	slots, err := p.Slots(ctx, midnight.Add(-time.Second), 24)
	if err != nil {
		t.Fatal(err)
	}
	prev := midnight.Add(-time.Second)
	usedToday, freeLater := 0, 0
	for _, s := range slots {
		if !s.At.After(prev) || s.At.Minute() != 0 || s.At.Hour()%2 != 0 || s.At.Location() != loc {
			t.Fatalf("slot %s after %s: want the next even hour in %s", s.At, prev, loc)
		}
		prev = s.At
		switch p.day(s.At) {
		case today:
			if !s.QuotaUsed || s.Sent != 1 || s.Max != 1 {
				t.Fatalf("today's slot %+v: want the quota used (1 of 1)", s)
			}
			usedToday++
		default:
			if s.QuotaUsed || s.Sent != 0 {
				t.Fatalf("tomorrow's slot %+v: want the quota free", s)
			}
			freeLater++
		}
	}
	if usedToday != 12 || freeLater != 12 {
		t.Fatalf("%d used slots today and %d free tomorrow, want 12 and 12", usedToday, freeLater)
	}
	if first := slots[0].At; !first.Equal(p.NextSlot(midnight.Add(-time.Second))) {
		t.Fatalf("first slot %s, want NextSlot's %s", first, p.NextSlot(midnight))
	}

	for _, k := range []int{0, -3} {
		if s, err := p.Slots(ctx, now, k); err != nil || len(s) != 0 {
			t.Fatalf("Slots(k=%d): %v %v, want none", k, s, err)
		}
	}
	if s, err := p.Slots(ctx, now, 1_000_000); err != nil || len(s) != MaxSlots {
		t.Fatalf("Slots(k=1e6): %d slots, %v, want the bound %d", len(s), err, MaxSlots)
	}
}
