package publisher

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Slot is one publish.schedule slot and how much of its day's
// publish.max_per_day is used: an issue scheduled into a day whose quota
// is used is deferred to the next day's slot when its time comes.
type Slot struct {
	At time.Time // in publish.timezone
	// Sent counts the broadcasts already counted against the slot's day
	// (publish.timezone), Max is publish.max_per_day; QuotaUsed is Sent >= Max.
	Sent, Max int
	QuotaUsed bool
}

// MaxSlots bounds the slots one Slots call lists.
const MaxSlots = 100

// Slots lists the next k publish.schedule slots after from (at most
// MaxSlots), each with its day's broadcast count.
func (p *Publisher) Slots(ctx context.Context, from time.Time, k int) ([]Slot, error) {
	k = min(k, MaxSlots)
	if k <= 0 {
		return []Slot{}, nil
	}
	out := make([]Slot, 0, k)
	sent := map[string]int{}
	t := from
	for len(out) < k {
		s := p.NextSlot(t)
		if s.IsZero() || !s.After(t) {
			break // a schedule with no next time
		}
		t = s
		day := p.day(s)
		n, ok := sent[day]
		if !ok {
			v, err := p.rdb.Get(ctx, p.keys.PublishSent(day)).Result()
			switch {
			case errors.Is(err, redis.Nil):
			case err != nil:
				return nil, fmt.Errorf("publisher: read the day's broadcasts: %w", err)
			default:
				if n, err = strconv.Atoi(v); err != nil {
					return nil, fmt.Errorf("publisher: the broadcasts counted on %s: %w", day, err)
				}
			}
			sent[day] = n
		}
		out = append(out, Slot{At: s.In(p.loc), Sent: n, Max: p.cfg.MaxPerDay, QuotaUsed: n >= p.cfg.MaxPerDay})
	}
	return out, nil
}
