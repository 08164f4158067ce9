// Package bot is the WeChat webhook: it verifies and decrypts each message
// push in the configured mode (wechat.message_mode: plain, compat or safe —
// safe and compat accept only the signed ciphertext), recognises WeChat's retries
// across replicas through Redis, asks the chat (package chat) for the
// answer, applies its plan — the reply stored with the claim, preferences and
// search session written, the calls made once — and answers inside
// WeChat's 5-second budget — late work is answered
// `success` at once and delivered afterwards as a customer-service message.
// The HTTP handling is its own; silenceper/wechat contributes the message
// types and the crypto helpers.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/chat"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/subscribers"
	"github.com/lifang/wxbot/wechat"
)

// Audience is told who follows, through which QR scene, and what they want
// to receive. Implemented by subscribers.Service.
type Audience interface {
	// Followed is called on subscribe; scene is "" when the follow did not
	// come through a parametric QR code.
	Followed(ctx context.Context, openid, scene string) error
	// Scanned is called on SCAN: a follower scanned scene's code.
	Scanned(ctx context.Context, openid, scene string) error
	Unfollowed(ctx context.Context, openid string) error
	// LanguageChanged: lang is "zh", "en" or "both".
	LanguageChanged(ctx context.Context, openid, lang string) error
	TopicChanged(ctx context.Context, openid, sectionZH string, subscribed bool) error
}

// Messenger sends customer-service messages, used for replies that missed
// the passive-reply deadline. Implemented by the wechat adapter.
type Messenger interface {
	SendText(ctx context.Context, openid, text string) error
	SendNews(ctx context.Context, openid string, articles []wechat.NewsArticle) error
}

// JobEvents receives the outcome of broadcasts. Implemented by the publisher.
type JobEvents interface {
	MassSendJobFinished(ctx context.Context, ev wechat.MassSendJobEvent) error
	PublishJobFinished(ctx context.Context, ev wechat.PublishJobEvent) error
}

// Archive is where the chat finds issues. Implemented by *archive.Archive.
type Archive = chat.Archive

// Options are a Bot's dependencies. Audience, Messenger and JobEvents may be
// nil (no WeChat credentials): late replies are then logged and skipped, and
// job events logged.
type Options struct {
	Config    *config.Config
	Redis     redis.UniversalClient
	Keys      store.Keys
	Archive   Archive
	Audience  Audience
	Messenger Messenger
	JobEvents JobEvents
	// Approvals lets publish.approvers approve from their phones (nil: the
	// words are ordinary chat).
	Approvals Approvals
	// Contacts hears that someone it cares about wrote to the account (the
	// notifier: an admin's customer-service window is open again); nil:
	// nobody listens.
	Contacts Contacts
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
	// RedisTimeout bounds each Redis round trip on the hot path, so a Redis
	// that hangs turns into a degraded answer rather than a missed deadline.
	// Zero means 500ms. (It only cuts a hanging read when the client was built
	// with ContextTimeoutEnabled; a refused connection fails at once anyway.)
	RedisTimeout time.Duration
	// LateTimeout bounds work that continues after the deadline, and the
	// customer-service message that delivers it. Zero means 30s.
	LateTimeout time.Duration
}

// Bot answers WeChat's message pushes. Build it with New; it is an http.Handler.
// Its parts, by concern: the request's admission (intake), the Redis side
// of dedupe and commits (replies), the collaborators the chat's effects
// call (deps), and the chat itself with what this replica remembers.
type Bot struct {
	cfg config.BotConfig
	m   *metrics.Metrics
	log *slog.Logger
	now func() time.Time

	intake
	replies
	deps

	arch    Archive
	chat    *chat.Chat
	hints   *langHints // commit.go
	answers *answers   // answers.go

	closeOnce sync.Once
}

// intake is what admits and opens a request (handler.go, body.go,
// crypto.go, skew.go).
type intake struct {
	maxBody int64
	window  time.Duration
	keyring keyring
	// mode is wechat.message_mode: config.MessageModePlain, Compat or Safe.
	mode string
	// small and large are the body-read semaphores (body.go); readTO is
	// how long a body may take to arrive.
	small, large chan struct{}
	readTO       time.Duration
	skew         skewWatch
}

// replies is the Redis side of answering: dedupe claims, the batched
// commits, the bodies held once (dedupe.go, commit.go, replyref.go).
type replies struct {
	rdb     redis.UniversalClient
	keys    store.Keys
	redisTO time.Duration
	// commits batches the one-round-trip path's claims (commit.go).
	commits *store.Commits
	// digests names reply bodies; bodies keeps them (replyref.go).
	digests  *digester
	bodies   *bodyCache
	degraded atomic.Bool // last Redis round trip failed (logs once per outage)
}

// deps are the collaborators the chat's effects and late replies call
// (chatglue.go, approve.go, events.go, handler.go deliverLate); nil ones
// are skipped.
type deps struct {
	audience  Audience
	messenger Messenger
	jobs      JobEvents
	approvals Approvals
	contacts  Contacts
	loc       *time.Location // publish.timezone, for the times in approval replies
	lateTO    time.Duration
	late      sync.WaitGroup
}

// New builds a Bot. The configuration must have been validated; zero
// durations and sizes take config's defaults.
func New(o Options) (*Bot, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	c := o.Config
	b := &Bot{
		cfg: c.Bot.WithDefaults(), m: o.Metrics, log: o.Log, now: o.Now,
		intake: intake{maxBody: c.HTTP.MaxBodyBytes, window: c.WeChat.TimestampWindow, mode: c.WeChat.Mode()},
		replies: replies{rdb: o.Redis, keys: o.Keys, redisTO: o.RedisTimeout,
			digests: newDigester(c.WeChat.Token), bodies: newBodyCache()},
		deps: deps{audience: o.Audience, messenger: o.Messenger, jobs: o.JobEvents, approvals: o.Approvals,
			contacts: o.Contacts, lateTO: o.LateTimeout, loc: time.UTC},
		arch: o.Archive, hints: newLangHints(), answers: newAnswers(),
	}
	if loc, err := time.LoadLocation(c.Publish.Timezone); err == nil && c.Publish.Timezone != "" {
		b.loc = loc
	}
	kr, err := newKeyring(c.WeChat.Token, c.WeChat.AppID, c.WeChat.EncodingAESKey, c.WeChat.PreviousEncodingAESKey)
	if err != nil {
		return nil, err
	}
	b.keyring = kr
	switch b.mode {
	case config.MessageModePlain:
	case config.MessageModeCompat, config.MessageModeSafe:
		if !kr.canDecrypt() {
			return nil, fmt.Errorf("bot: wechat.message_mode is %s, which needs wechat.encoding_aes_key", b.mode)
		}
	default:
		return nil, fmt.Errorf("bot: wechat.message_mode %q is not plain, compat or safe", b.mode)
	}
	b.fillDefaults()
	b.small = make(chan struct{}, smallSlots)
	b.large = make(chan struct{}, largeSlots(b.maxBody))
	b.readTO = b.cfg.Deadline
	if rt := c.HTTP.ReadTimeout; rt > 0 && rt < b.readTO {
		b.readTO = rt
	}
	var isApprover func(string) bool
	if o.Approvals != nil {
		isApprover = o.Approvals.IsApprover
	}
	b.chat, err = chat.New(chat.Options{Config: b.cfg, Archive: o.Archive, IsApprover: isApprover, Log: b.log})
	if err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	b.commits = store.NewCommits(store.CommitsOptions{
		Redis: b.rdb, DedupeTTL: b.cfg.DedupeTTL, BodyTTL: 2 * b.cfg.DedupeTTL, SessionTTL: b.cfg.SessionTTL,
		LangField: subscribers.LangField, Timeout: b.redisTO,
		OnBatch: func(claims int) { b.m.CommitBatch.Observe(float64(claims)) },
	})
	return b, nil
}

// check refuses Options New cannot work with.
func (o *Options) check() error {
	switch {
	case o.Config == nil:
		return errors.New("bot: no configuration")
	case o.Redis == nil:
		return errors.New("bot: no redis client")
	case o.Archive == nil:
		return errors.New("bot: no archive")
	case o.Config.WeChat.Token == "":
		return errors.New("bot: wechat.token is empty: the webhook cannot verify WeChat's signatures")
	}
	return nil
}

// fillDefaults gives the options left zero their defaults.
func (b *Bot) fillDefaults() {
	if b.m == nil {
		b.m = metrics.Discard()
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.redisTO <= 0 {
		b.redisTO = 500 * time.Millisecond
	}
	if b.lateTO <= 0 {
		b.lateTO = 30 * time.Second
	}
	if b.maxBody <= 0 {
		b.maxBody = config.DefaultMaxBodyBytes
	}
	if b.window <= 0 {
		b.window = config.DefaultTimestampWindow
	}
}

// Close waits for the messages still being handled and the late replies
// still being delivered, until ctx ends, then stops the committers. Call it
// after the HTTP server has stopped taking requests.
func (b *Bot) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { b.late.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("bot: late replies still running: %w", ctx.Err())
	}
	b.closeOnce.Do(func() {
		b.commits.Close()
		b.chat.Close()
	})
	return err
}

// ReplyTo is the chat's answer to msg with no Redis at all: no dedupe, no
// session, no stored preferences, no side effects. The reference server of
// `wxbench` (cmd/wxbench) answers with it, so both servers do the same chat work.
func (b *Bot) ReplyTo(msg *message.MixMessage) *message.Reply {
	return sdkReply(b.chat.Answer(chatMessage(msg), chat.State{}).Reply)
}

// sdkReply is r in the SDK's reply types, which its server encodes.
func sdkReply(r *chat.Reply) *message.Reply {
	if r == nil {
		return nil
	}
	switch r.Kind {
	case chat.TextReply:
		return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(r.Text)}
	case chat.ImageReply:
		return &message.Reply{MsgType: message.MsgTypeImage, MsgData: message.NewImage(r.MediaID)}
	case chat.NewsReply:
		list := make([]*message.Article, len(r.Articles))
		for i, a := range r.Articles {
			list[i] = message.NewArticle(a.Title, a.Description, a.PicURL, a.URL)
		}
		return &message.Reply{MsgType: message.MsgTypeNews, MsgData: message.NewNews(list)}
	}
	return nil
}
