package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Locks are Redis keys set with NX and a TTL (publish.lock_ttl), holding a
// token unique to one acquisition, renewed while held by a compare-and-
// extend script and released by compare-and-delete, so a holder can only
// ever extend or free its own lock. Losing a lock cancels the holder's
// context; its writes are refused anyway, since every state write checks
// the lock in the same script that writes (updateScript).

var (
	// acquireLeaderScript takes the leader lock and hands out the next
	// fencing token in one step, so no two leaders ever share a token.
	//	KEYS: 1 leader, 2 fence   ARGV: 1 token, 2 ttl ms
	acquireLeaderScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
`)
	// extendScript renews a lock only while it still holds our token.
	extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)
	// releaseScript deletes a lock only while it still holds our token.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
)

// ErrBusy: another process holds the issue's lock; the caller may try again in a moment.
var ErrBusy = errors.New("publisher: the issue is being worked on by another process")

// issueLock is a held per-issue lock.
type issueLock struct {
	p      *Publisher
	n      int
	key    string
	token  string
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// lockIssue takes issue n's lock, waiting up to wait for another holder
// to finish. The returned context ends when the lock is lost (or ctx
// ends); release frees the lock.
func (p *Publisher) lockIssue(ctx context.Context, n int, wait time.Duration) (*issueLock, context.Context, error) {
	key := p.keys.PublishLock(n)
	token := p.holder + "/" + randomToken()
	deadline := time.Now().Add(wait) // real time: lock TTLs are Redis's
	for {
		ok, err := p.rdb.SetNX(ctx, key, token, p.cfg.LockTTL).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("publisher: lock issue %d: %w", n, err)
		}
		if ok {
			break
		}
		if !time.Now().Before(deadline) {
			holder, _ := p.rdb.Get(ctx, key).Result()
			return nil, nil, fmt.Errorf("%w (No.%d, held by %s)", ErrBusy, n, holderName(holder))
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &issueLock{p: p, n: n, key: key, token: token, cancel: cancel, stop: make(chan struct{})}
	l.wg.Add(1)
	go l.renew(lctx)
	return l, lctx, nil
}

// holderName drops the random part of a lock token.
func holderName(token string) string {
	if token == "" {
		return "nobody (just released)"
	}
	if i := lastSlash(token); i > 0 {
		return token[:i]
	}
	return token
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// renew extends the lock every third of its TTL; when the lock is gone, or
// could not be renewed for a whole TTL, it cancels the holder's context.
func (l *issueLock) renew(ctx context.Context) {
	defer l.wg.Done()
	ttl := l.p.cfg.LockTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			res, err := extendScript.Run(ctx, l.p.rdb, []string{l.key}, l.token, ttl.Milliseconds()).Int()
			switch {
			case err == nil && res == 1:
				last = time.Now()
			case err == nil:
				l.p.log.Warn("publisher: issue lock lost; stopping work on the issue", slog.Int("issue", l.n))
				l.cancel()
				return
			case time.Since(last) >= ttl:
				l.p.log.Warn("publisher: issue lock could not be renewed for a whole TTL; stopping", slog.Int("issue", l.n), slog.Any("error", err))
				l.cancel()
				return
			}
		}
	}
}

// release stops renewing and frees the lock if still ours.
func (l *issueLock) release() {
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := releaseScript.Run(ctx, l.p.rdb, []string{l.key}, l.token).Err(); err != nil {
			l.p.log.Warn("publisher: release issue lock", slog.Int("issue", l.n), slog.Any("error", err))
		}
	})
}

// leadership is a term as the scheduler leader.
type leadership struct {
	token  string
	fence  int64
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// tryLead takes the leader lock if free, starting a term whose context
// ends when the lock is lost. It returns nil when another process leads.
func (p *Publisher) tryLead(ctx context.Context) (*leadership, error) {
	token := p.holder + "/" + randomToken()
	fence, err := acquireLeaderScript.Run(ctx, p.rdb, []string{p.keys.PublishLeader(), p.keys.PublishFence()},
		token, p.cfg.LockTTL.Milliseconds()).Int64()
	if err != nil {
		return nil, fmt.Errorf("publisher: take the scheduler lock: %w", err)
	}
	if fence == 0 {
		return nil, nil
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &leadership{token: token, fence: fence, ctx: lctx, cancel: cancel, done: make(chan struct{})}
	go p.renewLead(l)
	p.log.Info("publisher: leading the scheduler", slog.Int64("fence", fence))
	return l, nil
}

func (p *Publisher) renewLead(l *leadership) {
	defer close(l.done)
	ttl := p.cfg.LockTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
			res, err := extendScript.Run(l.ctx, p.rdb, []string{p.keys.PublishLeader()}, l.token, ttl.Milliseconds()).Int()
			switch {
			case err == nil && res == 1:
				last = time.Now()
			case err == nil:
				p.log.Warn("publisher: scheduler leadership lost", slog.Int64("fence", l.fence))
				l.cancel()
				return
			case time.Since(last) >= ttl:
				p.log.Warn("publisher: scheduler lock not renewed for a whole TTL; stepping down", slog.Any("error", err))
				l.cancel()
				return
			}
		}
	}
}

// resign ends a term and frees the leader lock if still ours.
func (p *Publisher) resign(l *leadership) {
	l.cancel()
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := releaseScript.Run(ctx, p.rdb, []string{p.keys.PublishLeader()}, l.token).Err(); err != nil {
		p.log.Warn("publisher: release the scheduler lock", slog.Any("error", err))
	}
}

// Leading reports whether this process leads the scheduler now.
func (p *Publisher) Leading() bool {
	p.leadMu.Lock()
	defer p.leadMu.Unlock()
	return p.lead != nil && p.lead.ctx.Err() == nil
}
