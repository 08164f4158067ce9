package store

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Small multi-key shapes more than one flow could use.

var (
	// KEYS: 1 values hash, 2 arrival zset
	// ARGV: 1 field, 2 value, 3 now (ms), 4 ttl (ms), 5 most fields kept
	keepBoundedScript = redis.NewScript(`
local now, ttl, max = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
for _, f in ipairs(old) do
  redis.call('HDEL', KEYS[1], f)
  redis.call('ZREM', KEYS[2], f)
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  local over = redis.call('ZCARD', KEYS[2]) - max + 1
  if over > 0 then
    for _, f in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do
      redis.call('HDEL', KEYS[1], f)
      redis.call('ZREM', KEYS[2], f)
    end
  end
end
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1`)
	// KEYS: 1 hash   ARGV: 1 field, 2 value
	setIfChangedScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`)
)

// KeepBounded puts field=value into a bounded, aging set: the hash at
// values with each field's arrival time in the sorted set at arrivals
// (both on one Cluster slot). Fields older than ttl go first, then the
// oldest while more than max would be kept; both keys expire ttl after the
// last write.
func KeepBounded(ctx context.Context, rdb redis.Scripter, values, arrivals, field string, value []byte, now time.Time, ttl time.Duration, max int) error {
	return keepBoundedScript.Run(ctx, rdb, []string{values, arrivals}, field, value, now.UnixMilli(), ttl.Milliseconds(), max).Err()
}

// SetIfChanged sets the hash field to value and reports true, unless it
// already held value (false): the first of several replicas to record a
// value is the one that acts on it.
func SetIfChanged(ctx context.Context, rdb redis.Scripter, key, field, value string) (bool, error) {
	n, err := setIfChangedScript.Run(ctx, rdb, []string{key}, field, value).Int()
	return n == 1, err
}

// DropBounded takes field out of the bounded set KeepBounded keeps at
// values and arrivals, in one MULTI.
func DropBounded(ctx context.Context, rdb redis.Cmdable, values, arrivals, field string) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, values, field)
		p.ZRem(ctx, arrivals, field)
		return nil
	})
	return err
}
