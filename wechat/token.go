package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/util"

	"github.com/lifang/wxbot/store"
)

// RedisCache is the SDK's cache.Cache on a go-redis v9 client (the SDK's own
// Redis cache is go-redis v8). Values are stored as strings, which is what
// the SDK's token handles expect back from Get.
type RedisCache struct {
	rdb redis.UniversalClient
}

var (
	_ cache.Cache        = (*RedisCache)(nil)
	_ cache.ContextCache = (*RedisCache)(nil)
)

// NewRedisCache wraps rdb.
func NewRedisCache(rdb redis.UniversalClient) *RedisCache { return &RedisCache{rdb: rdb} }

// minTTL replaces a non-positive TTL: go-redis v9 stores a key with a
// negative expiration forever (and -1 means KEEPTTL), so a token whose
// expires_in came back too small would otherwise never be refreshed.
const minTTL = time.Second

// Get returns the value as a string, or nil when absent or on error.
func (r *RedisCache) Get(key string) any { return r.GetContext(context.Background(), key) }

// GetContext returns the value as a string, or nil when absent or on error.
func (r *RedisCache) GetContext(ctx context.Context, key string) any {
	v, err := r.rdb.Get(ctx, key).Result()
	if err != nil {
		return nil
	}
	return v
}

// Set stores val for ttl (at least one second).
func (r *RedisCache) Set(key string, val any, ttl time.Duration) error {
	return r.SetContext(context.Background(), key, val, ttl)
}

// SetContext stores val for ttl (at least one second).
func (r *RedisCache) SetContext(ctx context.Context, key string, val any, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = minTTL
	}
	var s string
	switch v := val.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("wechat: cache %s: %w", key, err)
		}
		s = string(b)
	}
	return r.rdb.Set(ctx, key, s, ttl).Err()
}

// IsExist reports whether key exists.
func (r *RedisCache) IsExist(key string) bool { return r.IsExistContext(context.Background(), key) }

// IsExistContext reports whether key exists.
func (r *RedisCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := r.rdb.Exists(ctx, key).Result()
	return err == nil && n > 0
}

// Delete removes key.
func (r *RedisCache) Delete(key string) error { return r.DeleteContext(context.Background(), key) }

// DeleteContext removes key.
func (r *RedisCache) DeleteContext(ctx context.Context, key string) error {
	return r.rdb.Del(ctx, key).Err()
}

// getWithTTL returns a string value and its remaining life.
func (r *RedisCache) getWithTTL(ctx context.Context, key string) (string, time.Duration, error) {
	pipe := r.rdb.Pipeline()
	get := pipe.Get(ctx, key)
	ttl := pipe.PTTL(ctx, key)
	_, err := pipe.Exec(ctx)
	if err != nil {
		return "", 0, err
	}
	return get.Val(), ttl.Val(), nil
}

// tokenSource hands out the access_token. Order of lookup: a short
// in-process memo, then Redis (shared by every replica), then WeChat, with a
// Redis lock so that one replica fetches while the others wait for its
// result. It implements the SDK's credential.AccessTokenContextHandle.
// Tokens of cgi-bin/stable_token and of cgi-bin/token live under separate
// keys: they are independent, and a replica on one endpoint must never
// use (or evict) a token of the other.
type tokenSource struct {
	c      *Client
	cache  *RedisCache
	stable tokenKeys // cgi-bin/stable_token
	plain  tokenKeys // cgi-bin/token

	mu       sync.Mutex // one fetch at a time within the process
	memo     atomic.Pointer[memoToken]
	rejected atomic.Value // string: the last token WeChat refused
	degraded atomic.Bool  // Redis was unreachable last time we looked
}

type tokenKeys struct{ key, lock string }

// keys are the Redis keys of the endpoint in use.
func (t *tokenSource) keys() tokenKeys { return t.keysFor(t.c.stableActive()) }

func (t *tokenSource) keysFor(stable bool) tokenKeys {
	if stable {
		return t.stable
	}
	return t.plain
}

type memoToken struct {
	token  string
	until  time.Time
	stable bool // issued by stable_token
}

// valid reports whether the memo may be handed out: unexpired, and from
// the endpoint in use.
func (m *memoToken) valid(stable bool) bool {
	return m != nil && m.stable == stable && time.Now().Before(m.until)
}

const (
	// memoMax bounds how long a replica trusts its in-process copy without
	// looking at Redis again, so a token another replica replaced is seen
	// within a minute even without a 40001.
	memoMax      = time.Minute
	tokenLockTTL = 30 * time.Second
	lockPoll     = 50 * time.Millisecond
)

// GetAccessToken is for the SDK, whose calls carry no context.
func (t *tokenSource) GetAccessToken() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.c.callBudget())
	defer cancel()
	return t.Token(ctx)
}

// GetAccessTokenContext is for the SDK's context-aware calls.
func (t *tokenSource) GetAccessTokenContext(ctx context.Context) (string, error) {
	return t.Token(ctx)
}

// Token returns a valid-as-far-as-we-know access token.
func (t *tokenSource) Token(ctx context.Context) (string, error) {
	if m := t.memo.Load(); m.valid(t.c.stableActive()) {
		return m.token, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	stable := t.c.stableActive()
	if m := t.memo.Load(); m.valid(stable) {
		return m.token, nil
	}
	tok, ttl, err := t.cache.getWithTTL(ctx, t.keysFor(stable).key)
	switch {
	case err == nil && tok != "":
		t.redisBack()
		t.remember(tok, ttl, stable)
		return tok, nil
	case err != nil && !errors.Is(err, redis.Nil):
		return t.fetchAlone(ctx, err)
	}
	t.redisBack()
	return t.fetchShared(ctx)
}

// Invalidate drops a token WeChat refused, here and in Redis.
func (t *tokenSource) Invalidate(ctx context.Context, used string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.memo.Load(); m != nil && m.token == used {
		t.memo.Store(nil)
	}
	t.rejected.Store(used)
	if err := store.DeleteIfEqual(ctx, t.cache.rdb, t.keys().key, used); err != nil {
		t.c.log.Warn("wechat: could not drop the refused access token from redis", slog.Any("error", err))
	}
}

func (t *tokenSource) remember(tok string, ttl time.Duration, stable bool) {
	if ttl <= 0 || ttl > memoMax {
		ttl = memoMax
	}
	registerRoute(tok, t.c.base)
	t.memo.Store(&memoToken{token: tok, until: time.Now().Add(ttl), stable: stable})
}

// fetchShared fetches under the Redis lock, or waits for the replica that
// holds it to store its token.
func (t *tokenSource) fetchShared(ctx context.Context) (string, error) {
	stable := t.c.stableActive()
	k := t.keysFor(stable)
	lk := store.NewLock(t.cache.rdb, k.lock, "token")
	deadline := time.Now().Add(2 * tokenLockTTL)
	for {
		ok, err := lk.Acquire(ctx, tokenLockTTL)
		if err != nil {
			return t.fetchAlone(ctx, err)
		}
		if ok {
			defer func() {
				if err := lk.Release(context.WithoutCancel(ctx)); err != nil {
					t.c.log.Warn("wechat: could not release the token lock", slog.Any("error", err))
				}
			}()
			// Another replica may have stored a token between our miss and the lock.
			if tok, ttl, err := t.cache.getWithTTL(ctx, k.key); err == nil && tok != "" {
				t.remember(tok, ttl, stable)
				return tok, nil
			}
			tok, ttl, fromStable, err := t.fetch(ctx)
			if err != nil {
				return "", err
			}
			// Stored under the key of the endpoint that issued it: a fetch
			// that found stable_token missing got a cgi-bin/token token.
			if err := t.cache.SetContext(ctx, t.keysFor(fromStable).key, tok, ttl); err != nil {
				t.c.log.Warn("wechat: could not share the access token in redis", slog.Any("error", err))
			}
			t.remember(tok, ttl, fromStable)
			return tok, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wechat: wait for another replica's access token: %w", ctx.Err())
		case <-time.After(lockPoll):
		}
		if tok, ttl, err := t.cache.getWithTTL(ctx, k.key); err == nil && tok != "" {
			t.remember(tok, ttl, stable)
			return tok, nil
		}
		if time.Now().After(deadline) {
			return "", errors.New("wechat: another replica holds the token lock but stored no token")
		}
	}
}

// fetchAlone fetches without Redis: the API keeps working while Redis is
// away, at the price of replicas not sharing this token (harmless with
// stable_token, which hands every caller the same one).
func (t *tokenSource) fetchAlone(ctx context.Context, redisErr error) (string, error) {
	if !t.degraded.Swap(true) {
		t.c.log.Warn("wechat: redis unavailable, fetching the access token without sharing it", slog.Any("error", redisErr))
	}
	tok, ttl, stable, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	t.remember(tok, ttl, stable)
	return tok, nil
}

func (t *tokenSource) redisBack() {
	if t.degraded.Swap(false) {
		t.c.log.Info("wechat: redis is back, sharing the access token again")
	}
}

// fetch asks WeChat for a token. With stable_token, WeChat hands out the
// same token until it nears expiry; if that is the very token it just
// refused, only force_refresh replaces it.
// It reports whether stable_token issued the token.
func (t *tokenSource) fetch(ctx context.Context) (string, time.Duration, bool, error) {
	tok, expires, stable, err := t.c.fetchToken(ctx, false)
	if err == nil && stable {
		if bad, _ := t.rejected.Load().(string); bad != "" && tok == bad {
			tok, expires, stable, err = t.c.fetchToken(ctx, true)
		}
	}
	if err != nil {
		return "", 0, false, err
	}
	return tok, cacheTTL(expires), stable, nil
}

// tokenCall asks one of the two token endpoints.
func (c *Client) tokenCall(ctx context.Context, stable, force bool) (tokenAnswer, error) {
	var ans tokenAnswer
	ep := epToken
	if stable {
		ep = epStableToken
	}
	err := c.invoke(ctx, ep, false, func(ctx context.Context, _ string) error {
		var raw []byte
		var err error
		if stable {
			raw, err = util.PostJSONContext(ctx, c.base+"/cgi-bin/stable_token", map[string]any{
				"grant_type":    "client_credential",
				"appid":         c.cfg.AppID,
				"secret":        c.cfg.AppSecret,
				"force_refresh": force,
			})
		} else {
			q := url.Values{"grant_type": {"client_credential"}, "appid": {c.cfg.AppID}, "secret": {c.cfg.AppSecret}}
			raw, err = util.HTTPGetContext(ctx, c.base+"/cgi-bin/token?"+q.Encode())
		}
		if err != nil {
			return classify(ep.name, err)
		}
		ans = tokenAnswer{}
		return decode(ep.name, raw, &ans)
	})
	return ans, err
}

// cacheTTL keeps a token a little less than WeChat says it lives, so no
// replica uses it in its last minutes.
func cacheTTL(expiresIn time.Duration) time.Duration {
	margin := expiresIn / 4
	if margin > 5*time.Minute {
		margin = 5 * time.Minute
	}
	return expiresIn - margin
}

type tokenAnswer struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// noStableToken tells whether err proves the server has no
// cgi-bin/stable_token at all: HTTP 404 (no such path) or 405 (no POST
// there), or WeChat's own answer to an unknown path, errcode 40066
// "invalid url". Any other answer — a proxy's 400, 401 or 403, a 5xx, a
// timeout — says nothing about the endpoint and never switches it: the
// call fails (or is retried) as it is. WeChat itself never answers
// stable_token with an HTTP error.
func noStableToken(err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		switch te.Status {
		case 404, 405:
			return true
		}
		return false
	}
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == 40066
}

// fetchToken calls cgi-bin/stable_token (or cgi-bin/token) with retries,
// and reports whether stable_token issued the token. A server that proves
// it has no stable_token (noStableToken) gets cgi-bin/token instead, for
// the process's life; the switch is logged as a warning and shown by
// TokenEndpoint, and the tokens go under their own Redis key.
func (c *Client) fetchToken(ctx context.Context, force bool) (string, time.Duration, bool, error) {
	stable := c.stableActive()
	name := epToken.name
	if stable {
		name = epStableToken.name
	}
	ans, err := c.tokenCall(ctx, stable, force)
	if stable && noStableToken(err) {
		c.noStable.Store(true)
		c.log.Warn("wechat: the API has no cgi-bin/stable_token; using cgi-bin/token from now on (its tokens are kept apart; replicas still share them through redis)",
			slog.String("api_base", c.base), slog.Any("error", err))
		stable, name = false, epToken.name
		ans, err = c.tokenCall(ctx, false, false)
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("wechat: fetch access token: %w", err)
	}
	if ans.AccessToken == "" {
		return "", 0, false, fmt.Errorf("wechat: fetch access token: %w", &TransportError{Endpoint: name, msg: "answer carries no access_token"})
	}
	c.m.TokenRefreshes.Inc()
	c.log.Info("wechat: fetched a new access token",
		slog.String("endpoint", name), slog.Bool("force_refresh", force), slog.Int64("expires_in", ans.ExpiresIn))
	return ans.AccessToken, time.Duration(ans.ExpiresIn) * time.Second, stable, nil
}
