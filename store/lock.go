package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Locks: the one lock implementation every package uses (the publisher's
// per-issue and leader locks, the tag worker, the access-token fetch).
//
// A lock is a Redis key set with NX and a TTL, holding a token unique to
// one acquisition ("owner/random"), renewed by compare-and-extend and
// released by compare-and-delete, so a holder can only ever extend or free
// its own lock. A fenced acquisition also hands out the next number of a
// fencing counter in the same script, so no two holders of one lock ever
// share a fence.

var (
	// KEYS: 1 lock   ARGV: 1 token, 2 ttl ms
	acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`)
	// KEYS: 1 lock, 2 fence counter   ARGV: 1 token, 2 ttl ms
	acquireFencedScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0`)
	// hold: take the lock when free, extend it when the token holds it.
	holdScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`)
	extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// Lock is one would-be or actual holder of the lock at Key. The zero
// fence means the acquisition was not fenced.
type Lock struct {
	rdb   redis.Scripter
	Key   string
	Token string
	Fence int64
}

// NewLock makes a holder for key named owner (shown to others who find the
// lock taken: "held by serve@host"); each Lock has its own random token.
func NewLock(rdb redis.Scripter, key, owner string) *Lock {
	return &Lock{rdb: rdb, Key: key, Token: owner + "/" + RandomToken(8)}
}

// Acquire takes the lock if it is free.
func (l *Lock) Acquire(ctx context.Context, ttl time.Duration) (bool, error) {
	n, err := acquireScript.Run(ctx, l.rdb, []string{l.Key}, l.Token, ttl.Milliseconds()).Int()
	return n == 1, err
}

// AcquireFenced takes the lock if it is free and, in the same step, the
// next number of the counter at fenceKey (kept in l.Fence), which must
// hash to the lock's Cluster slot.
func (l *Lock) AcquireFenced(ctx context.Context, fenceKey string, ttl time.Duration) (bool, error) {
	fence, err := acquireFencedScript.Run(ctx, l.rdb, []string{l.Key, fenceKey}, l.Token, ttl.Milliseconds()).Int64()
	if err != nil || fence == 0 {
		return false, err
	}
	l.Fence = fence
	return true, nil
}

// Hold takes the lock when free or extends it when l holds it: for a worker
// that keeps one lock across many rounds.
func (l *Lock) Hold(ctx context.Context, ttl time.Duration) (bool, error) {
	n, err := holdScript.Run(ctx, l.rdb, []string{l.Key}, l.Token, ttl.Milliseconds()).Int()
	return n == 1, err
}

// Extend renews the lock only while l holds it; false means it was lost.
func (l *Lock) Extend(ctx context.Context, ttl time.Duration) (bool, error) {
	n, err := extendScript.Run(ctx, l.rdb, []string{l.Key}, l.Token, ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release frees the lock only while l holds it.
func (l *Lock) Release(ctx context.Context) error {
	return DeleteIfEqual(ctx, l.rdb, l.Key, l.Token)
}

// DeleteIfEqual removes key only while it still holds val
// (compare-and-delete): a lock's release, or evicting a cached value
// another process may already have replaced.
func DeleteIfEqual(ctx context.Context, rdb redis.Scripter, key, val string) error {
	return releaseScript.Run(ctx, rdb, []string{key}, val).Err()
}

// ErrLockLost: the lock expired or was taken over while held.
var ErrLockLost = errors.New("store: lock lost")

// Keep renews the lock every third of ttl until stop is called or ctx
// ends. When the lock is gone (ErrLockLost), or could not be renewed for a
// whole ttl (the last Redis error), it calls lost once and stops renewing.
// stop waits for the renewal goroutine to end.
func (l *Lock) Keep(ctx context.Context, ttl time.Duration, lost func(error)) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		last := time.Now() // real time: lock TTLs are Redis's
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := l.Extend(ctx, ttl)
				switch {
				case err == nil && ok:
					last = time.Now()
				case err == nil:
					lost(ErrLockLost)
					return
				case ctx.Err() != nil:
					return
				case time.Since(last) >= ttl:
					lost(err)
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}

// LockHolder says who holds the lock at key: the owner part of its token,
// or "" when it is free.
func LockHolder(ctx context.Context, rdb redis.Cmdable, key string) (string, error) {
	tok, err := rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return HolderName(tok), nil
}

// HolderName drops the random part of a lock token.
func HolderName(token string) string {
	if i := strings.LastIndexByte(token, '/'); i > 0 {
		return token[:i]
	}
	return token
}

// RandomToken is n random bytes in hex: lock tokens, epochs, owners.
func RandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
