package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lifang/wxbot/store"
)

// Locks are store.Lock (one implementation for every package): a key set
// with NX and a TTL (publish.lock_ttl), holding a token unique to one
// acquisition, renewed while held and freed only by its holder. Losing a
// lock cancels the holder's context; its writes are refused anyway, since
// every state write checks the lock in the same script that writes
// (updateScript).

// ErrBusy: another process holds the issue's lock; the caller may try again in a moment.
var ErrBusy = errors.New("publisher: the issue is being worked on by another process")

// issueLock is a held per-issue lock.
type issueLock struct {
	p      *Publisher
	n      int
	key    string
	token  string
	lock   *store.Lock
	cancel context.CancelFunc
	stop   func()
	once   sync.Once
}

// lockIssue takes issue n's lock, waiting up to wait for another holder
// to finish. The returned context ends when the lock is lost (or ctx
// ends); release frees the lock.
func (p *Publisher) lockIssue(ctx context.Context, n int, wait time.Duration) (*issueLock, context.Context, error) {
	lk := store.NewLock(p.rdb, p.keys.PublishLock(n), p.holder)
	deadline := time.Now().Add(wait) // real time: lock TTLs are Redis's
	for {
		ok, err := lk.Acquire(ctx, p.cfg.LockTTL)
		if err != nil {
			return nil, nil, fmt.Errorf("publisher: lock issue %d: %w", n, err)
		}
		if ok {
			break
		}
		if !time.Now().Before(deadline) {
			holder, _ := store.LockHolder(ctx, p.rdb, lk.Key)
			return nil, nil, fmt.Errorf("%w (No.%d, held by %s)", ErrBusy, n, holderName(holder))
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &issueLock{p: p, n: n, key: lk.Key, token: lk.Token, lock: lk, cancel: cancel}
	l.stop = lk.Keep(lctx, p.cfg.LockTTL, func(err error) {
		if errors.Is(err, store.ErrLockLost) {
			p.log.Warn("publisher: issue lock lost; stopping work on the issue", slog.Int("issue", n))
		} else {
			p.log.Warn("publisher: issue lock could not be renewed for a whole TTL; stopping", slog.Int("issue", n), slog.Any("error", err))
		}
		cancel()
	})
	return l, lctx, nil
}

// holderName names a lock's holder for the editor.
func holderName(owner string) string {
	if owner == "" {
		return "nobody (just released)"
	}
	return owner
}

// release stops renewing and frees the lock if still ours.
func (l *issueLock) release() {
	l.once.Do(func() {
		l.stop()
		l.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := l.lock.Release(ctx); err != nil {
			l.p.log.Warn("publisher: release issue lock", slog.Int("issue", l.n), slog.Any("error", err))
		}
	})
}

// leadership is a term as the scheduler leader.
type leadership struct {
	token  string
	fence  int64
	lock   *store.Lock
	ctx    context.Context
	cancel context.CancelFunc
	stop   func()
}

// tryLead takes the leader lock if free, starting a term whose context
// ends when the lock is lost. It returns nil when another process leads.
func (p *Publisher) tryLead(ctx context.Context) (*leadership, error) {
	lk := store.NewLock(p.rdb, p.keys.PublishLeader(), p.holder)
	ok, err := lk.AcquireFenced(ctx, p.keys.PublishFence(), p.cfg.LockTTL)
	if err != nil {
		return nil, fmt.Errorf("publisher: take the scheduler lock: %w", err)
	}
	if !ok {
		return nil, nil
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &leadership{token: lk.Token, fence: lk.Fence, lock: lk, ctx: lctx, cancel: cancel}
	l.stop = lk.Keep(lctx, p.cfg.LockTTL, func(err error) {
		if errors.Is(err, store.ErrLockLost) {
			p.log.Warn("publisher: scheduler leadership lost", slog.Int64("fence", l.fence))
		} else {
			p.log.Warn("publisher: scheduler lock not renewed for a whole TTL; stepping down", slog.Any("error", err))
		}
		cancel()
	})
	p.log.Info("publisher: leading the scheduler", slog.Int64("fence", l.fence))
	return l, nil
}

// resign ends a term and frees the leader lock if still ours.
func (p *Publisher) resign(l *leadership) {
	l.cancel()
	l.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := l.lock.Release(ctx); err != nil {
		p.log.Warn("publisher: release the scheduler lock", slog.Any("error", err))
	}
}

// Leading reports whether this process leads the scheduler now.
func (p *Publisher) Leading() bool {
	p.leadMu.Lock()
	defer p.leadMu.Unlock()
	return p.lead != nil && p.lead.ctx.Err() == nil
}
