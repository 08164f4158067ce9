package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// A durable work queue: producers LPUSH onto a list; one worker moves a
// batch to a processing list, applies it and deletes it. A worker that
// dies leaves its batch there, and the next one finishes it first.

// KEYS: 1 queue, 2 processing   ARGV: 1 most items
var takeBatchScript = redis.NewScript(`
if redis.call("LLEN", KEYS[2]) > 0 then return 0 end
local n = 0
for i = 1, tonumber(ARGV[1]) do
  if not redis.call("LMOVE", KEYS[1], KEYS[2], "RIGHT", "LEFT") then break end
  n = n + 1
end
return n`)

// TakeBatch moves up to max of the oldest items from queue to processing
// (both on one Cluster slot), unless processing still holds an unfinished
// batch; it returns how many it moved. The batch in processing is oldest
// last (LMOVE … LEFT).
func TakeBatch(ctx context.Context, rdb redis.Scripter, queue, processing string, max int) (int, error) {
	return takeBatchScript.Run(ctx, rdb, []string{queue, processing}, max).Int()
}
