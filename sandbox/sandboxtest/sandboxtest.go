// Package sandboxtest starts the WeChat API sandbox for a test: served over
// real HTTP on a loopback port, closed at cleanup, with a wechat.api_base
// configuration pointing at it. Any package's integration tests use it to
// talk to "WeChat" without stubs.
package sandboxtest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/sandbox"
)

// Sandbox is a running sandbox.
type Sandbox struct {
	*sandbox.Server
	// URL is the base to use as wechat.api_base.
	URL  string
	opts sandbox.Options
}

// Start serves a sandbox for the test.
func Start(t testing.TB, opts sandbox.Options) *Sandbox {
	t.Helper()
	srv := sandbox.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &Sandbox{Server: srv, URL: ts.URL, opts: srv.Options()}
}

// WeChatConfig is a wechat configuration for this sandbox: its credentials
// and URL, stable_token, a 5 s timeout and 3 retries.
func (s *Sandbox) WeChatConfig() config.WeChatConfig {
	return config.WeChatConfig{
		AppID:          s.opts.AppID,
		AppSecret:      s.opts.AppSecret,
		Token:          s.opts.Token,
		EncodingAESKey: s.opts.EncodingAESKey,
		APIBase:        s.URL,
		StableToken:    true,
		Timeout:        5 * time.Second,
		MaxRetries:     3,
		AccountType:    "subscription",
	}
}
