package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// RecordNoticeFailure puts one delivery failure (its JSON) at the head of
// channel's failure list and keeps only the newest keep, in one MULTI.
func RecordNoticeFailure(ctx context.Context, rdb redis.Cmdable, k Keys, channel string, failure []byte, keep int) error {
	key := k.NotifyFailures(channel)
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, key, failure)
		p.LTrim(ctx, key, 0, int64(keep)-1)
		return nil
	})
	return err
}
