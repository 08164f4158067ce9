package wechat_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
)

// An API without cgi-bin/stable_token (an older proxy or fake) answers 404,
// 405 or, like WeChat for an unknown path, errcode 40066: the client falls
// back to cgi-bin/token instead of failing every call.
func TestStableTokenMissingFallsBackToToken(t *testing.T) {
	for name, refuse := range map[string]func(http.ResponseWriter, *http.Request){
		"404": http.NotFound,
		"405": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		},
		"400": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "unknown endpoint", http.StatusBadRequest)
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
