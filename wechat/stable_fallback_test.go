package wechat_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
	"github.com/lifang/wxbot/wechat"
)

// An API without cgi-bin/stable_token (an older proxy or fake) answers 404,
// 405 or, like WeChat for an unknown path, errcode 40066: the client
// falls back to cgi-bin/token instead of failing every call, and says so.
func TestStableTokenMissingFallsBackToToken(t *testing.T) {
	for name, refuse := range map[string]func(http.ResponseWriter, *http.Request){
		"404": http.NotFound,
		"405": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		},
		"errcode 40066": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"errcode":40066,"errmsg":"invalid url rid: 6565a1b2-0c1d2e3f-4a5b6c7d"}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			sb := sandboxtest.Start(t, sandbox.Options{})
			var stableAsked int
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/cgi-bin/stable_token" {
					stableAsked++
					refuse(w, r)
					return
				}
				sb.ServeHTTP(w, r)
			}))
			t.Cleanup(front.Close)
			sb.URL = front.URL

			st := openStore(t, redistest.Start(t).Addr)
			api, m := newClient(t, sb, st)
			ctx := ctxT(t)
			for i := 0; i < 3; i++ {
				if _, err := api.Tags(ctx); err != nil {
					t.Fatalf("call %d through an API without stable_token: %v", i, err)
				}
			}
			if stableAsked != 1 {
				t.Errorf("stable_token asked %d times, want once (then remembered as missing)", stableAsked)
			}
			if got := sb.Count("token"); got != 1 {
				t.Errorf("cgi-bin/token fetched %d times, want 1 (cached and shared)", got)
			}
			if got := testutil.ToFloat64(m.TokenRefreshes); got != 1 {
				t.Errorf("token refreshes counted %v, want 1", got)
			}
			if got := api.TokenEndpoint(); got != "token" {
				t.Errorf("TokenEndpoint %q after the fallback, want token", got)
			}
		})
	}
}

// A passing server error on stable_token is retried there, not taken for a
// missing endpoint.
func TestStableTokenServerErrorIsRetried(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{})
	var stableAsked int
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/stable_token" {
			stableAsked++
			if stableAsked == 1 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	sb.URL = front.URL

	api, _ := newClient(t, sb, openStore(t, redistest.Start(t).Addr))
	if _, err := api.Tags(ctxT(t)); err != nil {
		t.Fatalf("call after one 503 from stable_token: %v", err)
	}
	if stableAsked != 2 || sb.Count("token") != 0 || sb.Count("stable_token") != 1 {
		t.Errorf("stable_token asked %d times (answered %d), cgi-bin/token %d: want 2, 1, 0",
			stableAsked, sb.Count("stable_token"), sb.Count("token"))
	}
}

// Answers that do not prove stable_token missing — a proxy's 400, 401 or
// 403 — fail the call and leave the endpoint alone: the next call asks
// stable_token again, and cgi-bin/token (2,000 a day, evicting other
// replicas' tokens) is never asked.
func TestStableTokenRefusedByProxyDoesNotSwitch(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			sb := sandboxtest.Start(t, sandbox.Options{})
			var stableAsked int
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/cgi-bin/stable_token" {
					stableAsked++
					if stableAsked == 1 {
						http.Error(w, "denied by proxy", status)
						return
					}
				}
				sb.ServeHTTP(w, r)
			}))
			t.Cleanup(front.Close)
			sb.URL = front.URL

			api, _ := newClient(t, sb, openStore(t, redistest.Start(t).Addr))
			ctx := ctxT(t)
			if _, err := api.Tags(ctx); err == nil {
				t.Fatalf("call through a proxy answering %d to stable_token succeeded", status)
			}
			if got := api.TokenEndpoint(); got != "stable_token" {
				t.Fatalf("TokenEndpoint %q after a %d, want stable_token", got, status)
			}
			if _, err := api.Tags(ctx); err != nil {
				t.Fatalf("next call, proxy passing again: %v", err)
			}
			if stableAsked != 2 || sb.Count("token") != 0 {
				t.Errorf("stable_token asked %d times, cgi-bin/token %d: want 2, 0", stableAsked, sb.Count("token"))
			}
		})
	}
}

// The two endpoints' tokens never mix: a replica on cgi-bin/token
// (wechat.stable_token false, or after a fallback) and one on stable_token
// share one Redis but each uses only tokens of its own endpoint, so the
// cgi-bin/token replica never evicts, nor is handed, the stable token.
func TestTokensOfTheTwoEndpointsKeptApart(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{})
	rs := redistest.Start(t)
	stableAPI, _ := newClient(t, sb, openStore(t, rs.Addr))
	plainAPI, _ := newClient(t, sb, openStore(t, rs.Addr), func(c *config.WeChatConfig) { c.StableToken = false })
	ctx := ctxT(t)

	st, err := stableAPI.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := plainAPI.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st == pt {
		t.Fatalf("the cgi-bin/token replica was handed the stable token %q", st)
	}
	if sb.Count("stable_token") != 1 || sb.Count("token") != 1 {
		t.Fatalf("stable_token %d, token %d fetches: want one each", sb.Count("stable_token"), sb.Count("token"))
	}
	// Each keeps working with its own, and a second replica of each kind
	// reuses the shared one instead of fetching.
	for name, api := range map[string]*wechat.Client{"stable": stableAPI, "plain": plainAPI} {
		if _, err := api.Tags(ctx); err != nil {
			t.Errorf("%s replica: %v", name, err)
		}
	}
	again, _ := newClient(t, sb, openStore(t, rs.Addr), func(c *config.WeChatConfig) { c.StableToken = false })
	if tok, err := again.AccessToken(ctx); err != nil || tok != pt {
		t.Errorf("second cgi-bin/token replica got %q (%v), want the shared %q", tok, err, pt)
	}
	if sb.Count("token") != 1 {
		t.Errorf("cgi-bin/token fetched %d times, want 1", sb.Count("token"))
	}
}
