package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/basic"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	oacontext "github.com/silenceper/wechat/v2/officialaccount/context"
	"github.com/silenceper/wechat/v2/officialaccount/draft"
	"github.com/silenceper/wechat/v2/officialaccount/material"
	"github.com/silenceper/wechat/v2/officialaccount/menu"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/officialaccount/user"
	"github.com/silenceper/wechat/v2/util"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/store"
)

// Client calls the WeChat Official Account API. Build one at start-up with
// New and share it; it is safe for concurrent use. A nil *Client, or one
// built without credentials, answers every call with ErrNotConfigured.
type Client struct {
	cfg        config.WeChatConfig
	base       string
	m          *metrics.Metrics
	log        *slog.Logger
	configured bool
	backoff    time.Duration
	tokens     *tokenSource
	noStable   atomic.Bool // the API proved it has no stable_token (404, 405, errcode 40066)

	// The SDK's sub-clients, built once here: OfficialAccount's lazy
	// getters race under -race (WECHAT.md §9).
	sdk      *oacontext.Context
	material *material.Material
	draft    *draft.Draft
	basic    *basic.Basic
	users    *user.User
	menu     *menu.Menu
	custom   *message.Manager
}

// Options is what a Client is built from.
type Options struct {
	// Config is wechat.*: without app_id/app_secret the client's
	// Configured is false and its calls return ErrNotConfigured, so serve
	// runs without an account.
	Config config.WeChatConfig
	// Store shares the access token between replicas (key
	// store.Keys.Token(appID)); nil keeps it in the process.
	Store   *store.Store
	Metrics *metrics.Metrics // nil: not counted
	Log     *slog.Logger
}

// New builds the client. New does no I/O: the first call fetches the token.
func New(o Options) (*Client, error) {
	cfg, st, m, log := o.Config, o.Store, o.Metrics, o.Log
	if m == nil {
		m = metrics.Discard()
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	base := strings.TrimRight(cfg.APIBase, "/")
	if base == "" {
		base = wechatAPIBase
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("wechat: wechat.api_base must be an http(s) URL (got %q)", cfg.APIBase)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = config.DefaultWeChatTimeout
	}
	cfg.Timeout = timeout
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	c := &Client{cfg: cfg, base: base, m: m, log: log, backoff: 200 * time.Millisecond}
	if !cfg.HasAPICredentials() {
		log.Info("wechat: no API credentials (wechat.app_id, wechat.app_secret): API calls are off")
		return c, nil
	}
	if st == nil {
		return nil, errors.New("wechat: a store is needed to share the access token between replicas")
	}
	installSDKHooks(base, timeout)
	rc := NewRedisCache(st.UniversalClient)
	c.tokens = &tokenSource{
		c:      c,
		cache:  rc,
		stable: tokenKeys{key: st.Keys.Token(cfg.AppID), lock: st.Keys.TokenLock(cfg.AppID)},
		plain:  tokenKeys{key: st.Keys.PlainToken(cfg.AppID), lock: st.Keys.PlainTokenLock(cfg.AppID)},
	}
	c.sdk = &oacontext.Context{
		Config: &oaconfig.Config{
			AppID:       cfg.AppID,
			AppSecret:   cfg.AppSecret,
			Cache:       rc,
			UseStableAK: cfg.StableToken,
		},
		AccessTokenHandle: c.tokens,
	}
	c.material = material.NewMaterial(c.sdk)
	c.draft = draft.NewDraft(c.sdk)
	c.basic = basic.NewBasic(c.sdk)
	c.users = user.NewUser(c.sdk)
	c.menu = menu.NewMenu(c.sdk)
	c.custom = message.NewMessageManager(c.sdk)
	c.configured = true
	log.Debug("wechat: API client ready", slog.String("api_base", base), slog.Bool("stable_token", cfg.StableToken))
	return c, nil
}

// Configured reports whether the client can call the API at all.
func (c *Client) Configured() bool { return c != nil && c.configured }

// AppID is the Official Account's AppID ("" when not configured).
func (c *Client) AppID() string {
	if c == nil {
		return ""
	}
	return c.cfg.AppID
}

// SetRetryBackoff sets the base delay between retries (default 200 ms,
// doubled per attempt with jitter, at most 5 s). Tests shorten it.
func (c *Client) SetRetryBackoff(d time.Duration) {
	if c != nil && d > 0 {
		c.backoff = d
	}
}

// TokenEndpoint names the endpoint this process takes tokens from now:
// "stable_token", or "token" when wechat.stable_token is false or the API
// proved it has no stable_token. "" when not configured.
func (c *Client) TokenEndpoint() string {
	if !c.Configured() {
		return ""
	}
	if c.stableActive() {
		return epStableToken.name
	}
	return epToken.name
}

// stableActive reports whether tokens come from cgi-bin/stable_token.
func (c *Client) stableActive() bool { return c.cfg.StableToken && !c.noStable.Load() }

// AccessToken returns the shared access token, fetching it if needed. It is
// for tools and tests; API methods get it themselves.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	if !c.Configured() {
		return "", ErrNotConfigured
	}
	return c.tokens.Token(ctx)
}

// retry says when a failed call may be sent again.
type retry int

const (
	// idempotent: a repeat cannot duplicate an effect (reads, overwrites,
	// set operations, or an effect nobody sees such as an orphan upload),
	// so -1, 5xx, timeouts and lost answers are retried.
	idempotent retry = iota
	// answeredOnly: a repeat after a lost answer could duplicate something
	// subscribers see; only WeChat's explicit -1 (nothing done) is retried.
	answeredOnly
)

type endpoint struct {
	name  string
	retry retry
}

// Every endpoint and its retry policy. Why each is (not) safe to repeat:
var (
	epToken       = endpoint{"token", idempotent}        // a repeat only issues another token; the old one lives 5 more minutes
	epStableToken = endpoint{"stable_token", idempotent} // hands out the same token
	epUploadImg   = endpoint{"media/uploadimg", idempotent}
	// A lost answer leaves an orphan image in the material library: unseen by subscribers.
	epAddMaterial = endpoint{"material/add_material", idempotent}
	// A lost draft/add answer leaves an orphan draft in the drafts box, never
	// a broadcast: retried, and the publisher only ever uses the media_id it
	// was answered.
	epDraftAdd    = endpoint{"draft/add", idempotent}
	epDraftUpdate = endpoint{"draft/update", idempotent} // overwrites the same index
	epDraftGet    = endpoint{"draft/get", idempotent}
	epDraftDelete = endpoint{"draft/delete", idempotent} // a repeat finds nothing to delete (40007)
	// A second submit publishes the articles twice on the account's page.
	epPublishSubmit = endpoint{"freepublish/submit", answeredOnly}
	epPublishGet    = endpoint{"freepublish/get", idempotent}
	// sendall is idempotent only with a clientmsgid (WeChat answers 45065
	// with the original msg_id); SendAll picks epSendAllBare without one.
	epSendAll     = endpoint{"message/mass/sendall", idempotent}
	epSendAllBare = endpoint{"message/mass/sendall", answeredOnly}
	epPreview     = endpoint{"message/mass/preview", answeredOnly} // a reviewer would get it twice
	epMassGet     = endpoint{"message/mass/get", idempotent}
	epCustomSend  = endpoint{"message/custom/send", answeredOnly} // a subscriber would get it twice
	epQRCreate    = endpoint{"qrcode/create", idempotent}         // an unused extra ticket
	epShowQR      = endpoint{"showqrcode", idempotent}
	epTagCreate   = endpoint{"tags/create", idempotent} // a repeat gets 45157 (exists), resolved by CreateTag
	epTagGet      = endpoint{"tags/get", idempotent}
	epTagging     = endpoint{"tags/members/batchtagging", idempotent}
	epUntagging   = endpoint{"tags/members/batchuntagging", idempotent}
	epMenuCreate  = endpoint{"menu/create", idempotent} // replaces the whole menu
	epMenuGet     = endpoint{"menu/get", idempotent}
	epUserInfo    = endpoint{"user/info", idempotent}
)

// callBudget bounds one call with its retries, for SDK paths without a context.
func (c *Client) callBudget() time.Duration {
	return time.Duration(c.cfg.MaxRetries+1)*c.cfg.Timeout + 10*time.Second
}

// invoke runs fn with the access token (when withToken), counting every
// attempt in metrics. A refused token (40001/40014/42001) is dropped once
// and the call repeated once; -1, 5xx and transport failures are retried up
// to wechat.max_retries times with exponential backoff and jitter, when the
// endpoint's policy allows.
func (c *Client) invoke(ctx context.Context, ep endpoint, withToken bool, fn func(ctx context.Context, token string) error) error {
	if !c.Configured() {
		return ErrNotConfigured
	}
	tokenRetried := false
	for attempt := 0; ; {
		var token string
		if withToken {
			t, err := c.tokens.Token(ctx)
			if err != nil {
				return err
			}
			token = t
		}
		callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		err := fn(callCtx, token)
		cancel()
		c.count(ep, err)
		if err == nil {
			return nil
		}
		var ae *APIError
		var te *TransportError
		switch {
		case withToken && !tokenRetried && errors.As(err, &ae) && ae.TokenInvalid():
			tokenRetried = true
			c.log.WarnContext(ctx, "wechat: access token refused, fetching a new one",
				slog.String("endpoint", ep.name), slog.Int("errcode", ae.Code))
			c.tokens.Invalidate(ctx, token)
			continue
		case ctx.Err() != nil:
			return err
		case attempt >= c.cfg.MaxRetries:
			return err
		case errors.As(err, &ae) && ae.Retryable():
		case errors.As(err, &te) && te.Retryable() && ep.retry == idempotent:
		default:
			return err
		}
		attempt++
		delay := c.delay(attempt)
		c.log.WarnContext(ctx, "wechat: call failed, retrying",
			slog.String("endpoint", ep.name), slog.Int("attempt", attempt),
			slog.Duration("after", delay), slog.Any("error", err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// delay is exponential backoff with jitter: between half and all of
// backoff·2^(attempt-1), at most 5 s, so replicas retrying together spread out.
func (c *Client) delay(attempt int) time.Duration {
	d := c.backoff << (attempt - 1)
	if d > 5*time.Second || d <= 0 {
		d = 5 * time.Second
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) count(ep endpoint, err error) {
	code := "0"
	if err != nil {
		if n, ok := CodeOf(err); ok {
			code = strconv.Itoa(n)
		} else {
			code = "http"
		}
	}
	c.m.APICalls.WithLabelValues(ep.name, code).Inc()
}

// url builds an API URL on this client's base.
func (c *Client) url(path, token string, extra ...string) string {
	u := c.base + "/cgi-bin/" + path + "?access_token=" + url.QueryEscape(token)
	for i := 0; i+1 < len(extra); i += 2 {
		u += "&" + url.QueryEscape(extra[i]) + "=" + url.QueryEscape(extra[i+1])
	}
	return u
}

// postJSON posts body to an endpoint and decodes the answer into out.
func (c *Client) postJSON(ctx context.Context, ep endpoint, body, out any) error {
	return c.invoke(ctx, ep, true, func(ctx context.Context, token string) error {
		raw, err := util.PostJSONContext(ctx, c.url(ep.name, token), body)
		if err != nil {
			return classify(ep.name, err)
		}
		return decode(ep.name, raw, out)
	})
}

// sdkCall runs an SDK method (which fetches the token itself through
// c.tokens) and classifies its error.
func (c *Client) sdkCall(ctx context.Context, ep endpoint, fn func() error) error {
	return c.invoke(ctx, ep, true, func(context.Context, string) error {
		return classify(ep.name, fn())
	})
}

type errorAnswer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// decode reads WeChat's JSON answer into out (which may be nil) and turns a
// non-zero errcode into *APIError. out is filled even then: the 45065
// answer carries the original msg_id.
func decode(endpoint string, raw []byte, out any) error {
	var e errorAnswer
	if err := json.Unmarshal(raw, &e); err != nil {
		return &TransportError{Endpoint: endpoint, msg: "answer is not JSON: " + snippet(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil && e.ErrCode == 0 {
			return &TransportError{Endpoint: endpoint, msg: "unexpected answer: " + err.Error()}
		}
	}
	if e.ErrCode != 0 {
		return &APIError{Endpoint: endpoint, Code: e.ErrCode, Msg: e.ErrMsg}
	}
	return nil
}

func snippet(b []byte) string {
	const max = 80
	s := string(b)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return scrub(strings.ToValidUTF8(s, "?"))
}
