// Package subscribers keeps wxbot's picture of the account's audience in
// Redis: who follows now, which QR campaign brought whom (each openid
// counted once, whatever WeChat retries), and the subscribers' language and
// topic preferences — their layout and every write of them (prefs.go: the
// webhook queues the reads and writes into its own pipelines, so a message
// still costs it one round trip) — mirrored to WeChat user tags through a
// durable queue, so broadcasts can target them. (The editors' notices are
// package notify's.)
package subscribers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// Service records follows and preferences and mirrors them to WeChat. It
// implements the bot's Audience interface. All methods are idempotent: a
// repeated event changes nothing (sets, not counters).
type Service struct {
	st   *store.Store
	api  *wechat.Client // nil or not configured: tags queue up, notices are skipped
	cfg  config.BotConfig
	log  *slog.Logger
	m    *metrics.Metrics
	poll time.Duration
	wake chan struct{}
	now  func() time.Time
}

// Options is what a Service is built from.
type Options struct {
	Store *store.Store
	// API may be nil or not configured (no WeChat credentials): follows
	// and campaigns are still recorded, tag operations wait in the queue,
	// and notices are skipped.
	API *wechat.Client
	// Bot holds the scenes (bot.scenes) and their auto-tags.
	Bot     config.BotConfig
	Metrics *metrics.Metrics // nil: not counted
	Log     *slog.Logger
	// PollInterval is how often an idle tag worker looks for work queued
	// by other replicas (0: 1 s; work queued by this process wakes it at
	// once).
	PollInterval time.Duration
}

// New builds the service.
func New(o Options) *Service {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Service{
		st:   o.Store,
		api:  o.API,
		cfg:  o.Bot,
		log:  log,
		m:    metrics.Discard(),
		poll: time.Second,
		wake: make(chan struct{}, 1),
		now:  time.Now,
	}
	if o.Metrics != nil {
		s.m = o.Metrics
	}
	if o.PollInterval > 0 {
		s.poll = o.PollInterval
	}
	return s
}

// Followed records a subscribe through scene ("": not through a parametric
// QR code) and queues the scene's auto-tags (bot.scenes.<scene>.tags).
func (s *Service) Followed(ctx context.Context, openid, scene string) error {
	return s.follow(ctx, openid, scene, true)
}

// Scanned records a SCAN: a follower scanned the campaign code of scene.
// It counts as scanned, never as gained, and queues the scene's auto-tags.
func (s *Service) Scanned(ctx context.Context, openid, scene string) error {
	return s.follow(ctx, openid, scene, false)
}

func (s *Service) follow(ctx context.Context, openid, scene string, subscribe bool) error {
	if openid == "" {
		return errors.New("subscribers: follow without an openid")
	}
	if _, err := store.RecordFollow(ctx, s.st, s.st.Keys, openid, scene, subscribe); err != nil {
		return fmt.Errorf("subscribers: record follow of %s through %q: %w", openid, scene, err)
	}
	if scene == "" {
		return nil
	}
	var ops []op
	for _, name := range s.cfg.Scenes[scene].Tags {
		ops = append(ops, op{Op: opAdd, Tag: name, OpenID: openid})
	}
	if err := s.enqueue(ctx, openid, ops...); err != nil {
		return fmt.Errorf("subscribers: auto-tags of scene %q for %s: %w", scene, openid, err)
	}
	return nil
}

// Unfollowed records an unsubscribe and queues the removal of the tags
// wxbot had mirrored to the follower: their preferences are forgotten
// (PrefsChange.Forget, with the webhook's stored reply), and a returning
// follower must not receive topics they no longer chose.
func (s *Service) Unfollowed(ctx context.Context, openid string) error {
	if openid == "" {
		return errors.New("subscribers: unfollow without an openid")
	}
	if err := s.st.SRem(ctx, s.st.Keys.QRFollowing(), openid).Err(); err != nil {
		return fmt.Errorf("subscribers: record unfollow of %s: %w", openid, err)
	}
	names, err := s.st.SMembers(ctx, s.st.Keys.UserTags(openid)).Result()
	if err != nil {
		return fmt.Errorf("subscribers: tags of %s: %w", openid, err)
	}
	ops := make([]op, 0, len(names))
	for _, name := range names {
		ops = append(ops, op{Op: opRemove, Tag: name, OpenID: openid})
	}
	if err := s.enqueue(ctx, openid, ops...); err != nil {
		return fmt.Errorf("subscribers: untag %s: %w", openid, err)
	}
	return nil
}

// Languages the chat offers.
var languages = []string{"zh", "en", "both"}

// LanguageChanged mirrors a language choice ("zh", "en" or "both") to the
// tags named in bot.tags.language: the chosen one on, the others off.
func (s *Service) LanguageChanged(ctx context.Context, openid, lang string) error {
	known := false
	for _, l := range languages {
		known = known || l == lang
	}
	if !known {
		return fmt.Errorf("subscribers: language %q: want zh, en or both", lang)
	}
	var ops []op
	for _, l := range languages {
		name := s.cfg.Tags.Language[l]
		if name == "" {
			continue
		}
		kind := opRemove
		if l == lang {
			kind = opAdd
		}
		ops = append(ops, op{Op: kind, Tag: name, OpenID: openid})
	}
	if err := s.enqueue(ctx, openid, ops...); err != nil {
		return fmt.Errorf("subscribers: language of %s: %w", openid, err)
	}
	return nil
}

// TopicChanged mirrors a topic (section) subscription to the tag
// bot.tags.topic_prefix + sectionZH.
func (s *Service) TopicChanged(ctx context.Context, openid, sectionZH string, subscribed bool) error {
	if sectionZH == "" {
		return errors.New("subscribers: topic without a section")
	}
	kind := opRemove
	if subscribed {
		kind = opAdd
	}
	if err := s.enqueue(ctx, openid, op{Op: kind, Tag: s.cfg.Tags.TopicPrefix + sectionZH, OpenID: openid}); err != nil {
		return fmt.Errorf("subscribers: topic %q of %s: %w", sectionZH, openid, err)
	}
	return nil
}

// Following reports whether openid follows the account as far as wxbot has seen.
func (s *Service) Following(ctx context.Context, openid string) (bool, error) {
	return s.st.SIsMember(ctx, s.st.Keys.QRFollowing(), openid).Result()
}
