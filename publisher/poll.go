package publisher

import (
	"context"
	"log/slog"
	"time"
)

// Polling for an outcome no job report told. message/mass/get and
// freepublish/get have daily call limits (45009; about 100 a day reported
// for freepublish/get, WECHAT.md §5), so the asks are sparse and bounded:
// per broadcast at most Options.MaxPolls, spaced by a doubling delay; per
// endpoint and Beijing day at most Options.PollBudget across replicas. A
// 45009 or a spent budget waits for the next day; polls that run out leave
// the outcome "unknown — check the platform". A late job report still
// completes the record.

// beijing is the zone of WeChat's daily quotas.
var beijing = time.FixedZone("CST", 8*3600)

// maxPollDelay is the longest wait between two polls of one broadcast.
const maxPollDelay = 2 * time.Hour

// pollDelay is the wait after the polls-th poll: a fifth of OutcomeAfter,
// doubling, at most maxPollDelay.
func (p *Publisher) pollDelay(polls int) time.Duration {
	d := p.outcomeAfter / 5
	for i := 1; i < polls && d < maxPollDelay; i++ {
		d *= 2
	}
	return min(d, maxPollDelay)
}

// quotaDay is the Beijing date WeChat counts a call against.
func quotaDay(t time.Time) string { return t.In(beijing).Format(time.DateOnly) }

// nextQuotaDay is shortly after the next Beijing midnight, when WeChat's
// daily quotas start again.
func nextQuotaDay(t time.Time) time.Time {
	b := t.In(beijing)
	midnight := time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, beijing)
	return midnight.Add(5 * time.Minute)
}

// pollAllowed counts one poll of endpoint against today's budget and
// reports whether it may be asked, and whether the day's budget is spent.
// When Redis cannot count, it says no (without spending): a missed poll
// costs a delay, a burst of them the day's quota.
func (p *Publisher) pollAllowed(ctx context.Context, endpoint string) (allowed, spent bool) {
	key := p.keys.PublishPolls(endpoint, quotaDay(p.now()))
	n, err := p.rdb.Incr(ctx, key).Result()
	if err != nil {
		p.log.Warn("publisher: could not count the poll against the day's budget; not polling now",
			slog.String("endpoint", endpoint), slog.Any("error", err))
		return false, false
	}
	if n == 1 {
		_ = p.rdb.Expire(ctx, key, 48*time.Hour).Err()
	}
	if n > int64(p.pollBudget) {
		return false, true
	}
	return true, false
}
