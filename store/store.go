// Package store opens wxbot's Redis — one server, Sentinel or Cluster through
// go-redis's UniversalClient, or an embedded in-process server for trials —
// names every key wxbot writes (keys.go), so the layout is documented in
// one place and every multi-key operation stays on one Cluster slot, and
// holds the Lua scripts behind methods named for what they do (locks,
// pipeline records, follows, queues, windows).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/config"
)

// Store is an open Redis connection and the key layout that goes with it.
type Store struct {
	redis.UniversalClient
	Keys Keys
	// Embedded is true when no Redis server was configured and an in-process
	// server holds the data for as long as the process lives.
	Embedded bool

	stop func()
}

// Open connects to the configured Redis, or starts the embedded server when
// none is configured. It pings once so a wrong address fails at start-up.
func Open(ctx context.Context, cfg config.RedisConfig, log *slog.Logger) (*Store, error) {
	s, err := Connect(ctx, cfg, log)
	if err != nil && s != nil {
		_ = s.Close()
		return nil, err
	}
	return s, err
}

// Connect is Open for a long-running server: when the configured Redis does
// not answer its first ping, it still returns the Store (the client
// reconnects by itself on later calls) along with the ping's error, so the
// server can start degraded and recover when Redis comes up. The Store is
// nil only when there is nothing to connect with (the embedded server did
// not start).
func Connect(ctx context.Context, cfg config.RedisConfig, log *slog.Logger) (*Store, error) {
	if cfg.Embedded() {
		return openEmbedded(cfg, log)
	}
	opts := &redis.UniversalOptions{
		Addrs:         cfg.Addrs,
		MasterName:    cfg.MasterName,
		IsClusterMode: cfg.Cluster,
		Username:      cfg.Username,
		Password:      cfg.Password,
		DB:            cfg.DB,
		DialTimeout:   2 * time.Second,
		ReadTimeout:   time.Second,
		WriteTimeout:  time.Second,
		// Fail fast when Redis is away: the webhook has a deadline to keep,
		// and a caller's context deadline bounds a hanging server too.
		MaxRetries:            1,
		ContextTimeoutEnabled: true,
		// RESP2: wxbot uses no RESP3 feature (push messages, client-side
		// caching, maintenance notifications), and on RESP3 go-redis looks
		// for pending push notifications before every reply it reads — a
		// measurable share of the webhook's Redis time (docs/benchmarks.md).
		Protocol: 2,
	}
	if cfg.Addr != "" {
		opts.Addrs = []string{cfg.Addr}
	}
	client := redis.NewUniversalClient(opts)
	s := &Store{UniversalClient: client, Keys: Keys{Prefix: cfg.Prefix}, stop: func() {}}
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		return s, fmt.Errorf("store: connect to redis %v: %w", opts.Addrs, err)
	}
	return s, nil
}

// openEmbedded starts miniredis on a loopback port. miniredis only ages keys
// when told to, so a ticker moves its clock with the wall clock: sessions
// and dedupe keys expire in real time as they would on a real server.
func openEmbedded(cfg config.RedisConfig, log *slog.Logger) (*Store, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("store: start embedded redis: %w", err)
	}
	if log != nil {
		log.Warn("no redis.addr configured: using an embedded in-process Redis; nothing is kept after exit and replicas do not share it",
			slog.String("addr", m.Addr()))
	}
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: 1, ContextTimeoutEnabled: true})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				m.SetTime(now)
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	var once sync.Once
	return &Store{
		UniversalClient: client,
		Keys:            Keys{Prefix: cfg.Prefix},
		Embedded:        true,
		stop: func() {
			once.Do(func() {
				close(done)
				wg.Wait()
				m.Close()
			})
		},
	}, nil
}

// Close closes the connection and stops the embedded server, if any.
func (s *Store) Close() error {
	err := s.UniversalClient.Close()
	s.stop()
	if errors.Is(err, redis.ErrClosed) {
		return nil
	}
	return err
}
