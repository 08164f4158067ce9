package publisher

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// ErrUnknownIssue is returned for an issue number the pipeline never saw.
var ErrUnknownIssue = errors.New("publisher: no such issue in the pipeline")

// Get returns issue n's record, or ErrUnknownIssue.
func (p *Publisher) Get(ctx context.Context, n int) (*Record, error) {
	rec, err := p.load(ctx, n)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: No.%d", ErrUnknownIssue, n)
	}
	return rec, nil
}

// List returns every issue the pipeline knows, newest number first.
func (p *Publisher) List(ctx context.Context) ([]*Record, error) {
	nums, err := p.rdb.SMembers(ctx, p.keys.PublishIssues()).Result()
	if err != nil {
		return nil, fmt.Errorf("publisher: list issues: %w", err)
	}
	var out []*Record
	for _, s := range nums {
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		rec, err := p.load(ctx, n)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *Record) int { return cmp.Compare(b.Number, a.Number) })
	return out, nil
}

// NextAction is when the scheduler acts on issue n next (send, retry,
// poll), or zero when it has nothing to do.
func (p *Publisher) NextAction(ctx context.Context, n int) (int64, error) {
	score, err := p.rdb.ZScore(ctx, p.keys.PublishSchedule(), strconv.Itoa(n)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("publisher: read the schedule: %w", err)
	}
	return int64(score), nil
}

// Cancel unschedules issue n for by while it is not being sent: its state
// becomes cancelled (its draft stays in WeChat's drafts box). Once sending
// started it is refused (AlreadyBroadcast): the send cannot be taken back.
func (p *Publisher) Cancel(ctx context.Context, n int, by string) (*Record, error) {
	lk, lctx, err := p.lockIssue(ctx, n, p.lockWait)
	if err != nil {
		return nil, err
	}
	defer lk.release()
	var refusal *Refusal
	rec, err := p.update(lctx, guard{lockToken: lk.token}, n, func(x *Record) (string, []op, error) {
		refusal = nil
		switch {
		case x.State == "":
			refusal = p.refusal(NotInPipeline, n, nil)
		case x.State == StateCancelled:
			refusal = p.refusal(AlreadyCancelled, n, x)
		case x.sendStarted() || x.State.rank() >= StateSending.rank() || x.State == StateRetracted:
			refusal = p.at(p.refusal(AlreadyBroadcast, n, x), firstNonZero(x.SendStarted, x.SentAt))
		case x.State == StateFailed:
			refusal = p.refusal(NotScheduled, n, x)
			if x.ErrCode != 0 {
				refusal.Detail = strconv.Itoa(x.ErrCode)
			}
		}
		if refusal != nil {
			return "", nil, errNoChange
		}
		x.State = StateCancelled
		x.act = audit{Action: ActionCancelled, By: by}
		return "cancelled", []op{opZRem()}, nil
	})
	if err != nil {
		return rec, err
	}
	if refusal != nil {
		return rec, refusal
	}
	return rec, nil
}
