package store

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Failure windows: a counter that starts a window of fixed length at its
// first failure and is gone when the window ends (the admin login limit).

var (
	// KEYS: 1 counter   ARGV: 1 max, 2 window ms
	windowBlockedScript = redis.NewScript(`
local n = tonumber(redis.call("GET", KEYS[1]) or "0")
if n < tonumber(ARGV[1]) then return 0 end
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return ttl`)
	// KEYS: 1 counter   ARGV: 1 window ms
	countFailureScript = redis.NewScript(`
local n = redis.call("INCR", KEYS[1])
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`)
)

// WindowBlocked returns how long until the window at key ends when it holds
// at least max failures, else 0. A counter that lost its TTL gets a fresh
// window rather than blocking forever.
func WindowBlocked(ctx context.Context, rdb redis.Scripter, key string, max int, window time.Duration) (time.Duration, error) {
	ms, err := windowBlockedScript.Run(ctx, rdb, []string{key}, max, window.Milliseconds()).Int64()
	if err != nil {
		return 0, err
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// CountFailure counts one failure at key, starting the window at the first,
// and returns the failures so far and the time left in the window.
func CountFailure(ctx context.Context, rdb redis.Scripter, key string, window time.Duration) (int64, time.Duration, error) {
	res, err := countFailureScript.Run(ctx, rdb, []string{key}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, redis.Nil
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}
