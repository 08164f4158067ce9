package wechat_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// Two replicas on one Redis share one access token: the sandbox issues it once.
func TestTokenSharedBetweenReplicas(t *testing.T) {
	for _, stable := range []bool{true, false} {
		name := map[bool]string{true: "stable_token", false: "token"}[stable]
		t.Run(name, func(t *testing.T) {
			e := setup(t, sandbox.Options{}, func(c *config.WeChatConfig) { c.StableToken = stable })
			other, otherM := newClient(t, e.sb, openStore(t, e.redis.Addr), func(c *config.WeChatConfig) { c.StableToken = stable })
			ctx := ctxT(t)

			// Both replicas start cold at once, several calls each.
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := 0; i < 10; i++ {
				for _, c := range []*wechat.Client{e.api, other} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := c.Tags(ctx); err != nil {
							errs <- err
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("tags: %v", err)
			}
			if n := e.sb.Count(name); n != 1 {
				t.Fatalf("sandbox issued %d tokens via %s, want 1 shared by both replicas", n, name)
			}
			got := testutil.ToFloat64(e.m.TokenRefreshes) + testutil.ToFloat64(otherM.TokenRefreshes)
			if got != 1 {
				t.Fatalf("token refreshes counted %v, want 1", got)
			}
			if n := e.sb.Count("tags/get"); n != 20 {
				t.Fatalf("tags/get succeeded %d times, want 20", n)
			}
			key := e.st.Keys.Token(e.sb.Options().AppID)
			if name == "token" {
				key = e.st.Keys.PlainToken(e.sb.Options().AppID) // kept apart from stable_token's
			}
			tok, err := e.st.Get(ctx, key).Result()
			if err != nil || tok == "" {
				t.Fatalf("token not shared in redis under %s: %v", key, err)
			}
			ttl := e.st.TTL(ctx, key).Val()
			if ttl <= 0 || ttl > 2*time.Hour-5*time.Minute {
				t.Fatalf("token TTL in redis %v, want positive and 5 minutes short of WeChat's 2h", ttl)
			}
		})
	}
}

// A token WeChat refuses (revoked: 40001; expired: 42001) is dropped once,
// here and in Redis, and the call retried once with a fresh token.
func TestTokenRefusedIsRefreshedOnce(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(e *env)
		code  int
	}{
		{"revoked", func(e *env) { e.sb.RevokeTokens() }, 40001},
		{"expired", func(e *env) { e.sb.Advance(3 * time.Hour) }, 42001},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, sandbox.Options{})
			other, _ := newClient(t, e.sb, openStore(t, e.redis.Addr))
			ctx := ctxT(t)
			if _, err := e.api.Tags(ctx); err != nil {
				t.Fatal(err)
			}
			old, _ := e.api.AccessToken(ctx)
			tc.spoil(e)
			if _, err := e.api.CreateTag(ctx, "lang:zh"); err != nil {
				t.Fatalf("create tag after the token was spoiled: %v", err)
			}
			want := []int{tc.code, 0}
			if got := callsOf(e.sb, "tags/create"); !equalInts(got, want) {
				t.Fatalf("tags/create answers %v, want %v", got, want)
			}
			if n := e.sb.Count("stable_token"); n != 2 {
				t.Fatalf("stable_token fetched %d times, want 2", n)
			}
			// The other replica picks the new token from Redis without a 40001.
			fresh, _ := other.AccessToken(ctx)
			if fresh == old {
				t.Fatal("the other replica still holds the refused token")
			}
			if _, err := other.Tags(ctx); err != nil {
				t.Fatal(err)
			}
			if n := e.sb.Count("stable_token"); n != 2 {
				t.Fatalf("the other replica fetched a token of its own (%d fetches)", n)
			}
		})
	}
}

// A token refused twice in a row is not retried forever: the second
// refusal is returned.
func TestTokenRefusedTwiceIsAnError(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	if _, err := e.api.Tags(ctx); err != nil {
		t.Fatal(err)
	}
	mustFault(t, e.sb, sandbox.Fault{Kind: sandbox.FaultRevoke, Endpoint: "tags/get", Count: 2})
	_, err := e.api.Tags(ctx)
	if !wechat.TokenInvalid(err) || !wechat.IsCode(err, 40001) {
		t.Fatalf("err = %v, want errcode 40001", err)
	}
	if got := callsOf(e.sb, "tags/get"); !equalInts(got, []int{0, 40001, 40001}) {
		t.Fatalf("tags/get answers %v", got)
	}
}

func TestTokenBadCredentials(t *testing.T) {
	cases := []struct {
		name string
		edit func(*config.WeChatConfig)
		code int
	}{
		{"wrong secret", func(c *config.WeChatConfig) { c.AppSecret = "not-the-secret" }, 40125},
		{"wrong appid", func(c *config.WeChatConfig) { c.AppID = "wxnotthisone1" }, 40013},
		{"wrong secret, plain token", func(c *config.WeChatConfig) { c.AppSecret = "nope"; c.StableToken = false }, 40125},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, sandbox.Options{}, tc.edit)
			_, err := e.api.Tags(ctxT(t))
			if !wechat.IsCode(err, tc.code) {
				t.Fatalf("err = %v, want errcode %d", err, tc.code)
			}
			if strings.Contains(err.Error(), e.sb.Options().AppSecret) || strings.Contains(err.Error(), "not-the-secret") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestNotConfigured(t *testing.T) {
	c, err := wechat.New(wechat.Options{Config: config.WeChatConfig{APIBase: "https://api.weixin.qq.com"}, Metrics: metrics.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Configured() {
		t.Fatal("client without credentials says it is configured")
	}
	if _, err := c.Tags(context.Background()); !errors.Is(err, wechat.ErrNotConfigured) {
		t.Fatalf("err = %v, want ErrNotConfigured", err)
	}
	var nilClient *wechat.Client
	if nilClient.Configured() {
		t.Fatal("nil client is configured")
	}
	if err := nilClient.SendText(context.Background(), "o1", "hi"); !errors.Is(err, wechat.ErrNotConfigured) {
		t.Fatalf("nil client: err = %v", err)
	}
}

func TestRedisCacheClampsTTL(t *testing.T) {
	e := setup(t, sandbox.Options{})
	rc := wechat.NewRedisCache(e.st.UniversalClient)
	ctx := ctxT(t)
	for _, ttl := range []time.Duration{0, -5 * time.Second, -1} {
		if err := rc.Set("k", "v", ttl); err != nil {
			t.Fatal(err)
		}
		got := e.st.PTTL(ctx, "k").Val()
		if got <= 0 || got > time.Second {
			t.Fatalf("Set with TTL %v stored the key with PTTL %v, want at most 1s (never forever)", ttl, got)
		}
	}
	if err := rc.Set("k2", map[string]int{"a": 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _ := rc.Get("k2").(string); v != `{"a":1}` {
		t.Fatalf("Get = %q", v)
	}
	if !rc.IsExist("k2") {
		t.Fatal("IsExist = false")
	}
	if err := rc.Delete("k2"); err != nil || rc.IsExist("k2") || rc.Get("k2") != nil {
		t.Fatalf("Delete left the key: %v", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// With Redis away the API keeps working on an unshared token; when Redis
// is back the token is shared again.
func TestTokenWithoutRedis(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	e.redis.Stop()
	if _, err := e.api.Tags(ctx); err != nil {
		t.Fatalf("tags with redis down: %v", err)
	}
	if n := e.sb.Count("stable_token"); n != 1 {
		t.Fatalf("%d token fetches, want 1", n)
	}
	e.redis.Restart()
	other, _ := newClient(t, e.sb, openStore(t, e.redis.Addr))
	if _, err := other.Tags(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := e.st.Get(ctx, e.st.Keys.Token(e.sb.Options().AppID)).Result()
	if err != nil || tok == "" {
		t.Fatalf("token not shared after redis came back: %v", err)
	}
}
