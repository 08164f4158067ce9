// Package readership collects WeChat's data statistics (datacube) once a day
// and joins them with what wxbot knows: the issues it sent (the
// publisher's records hold their msg_data_id) and the QR scenes that
// brought followers. WeChat's numbers are stored and shown as WeChat gives
// them; figures exist only up to yesterday, Beijing time.
package readership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/subscribers"
	"github.com/lifang/wxbot/wechat"
)

// Source is the datacube API (*wechat.Client); each call splits its range
// to the endpoint's span and clamps it to yesterday.
type Source interface {
	ArticleSummary(ctx context.Context, from, to string) ([]wechat.ArticleDay, error)
	ArticleTotal(ctx context.Context, from, to string) ([]wechat.ArticleTotal, error)
	UserRead(ctx context.Context, from, to string) ([]wechat.UserReadDay, error)
	UserShare(ctx context.Context, from, to string) ([]wechat.UserShareDay, error)
	UserSummary(ctx context.Context, from, to string) ([]wechat.UserSummaryDay, error)
	UserCumulate(ctx context.Context, from, to string) ([]wechat.UserCumulateDay, error)
}

// Records lists the issues the publisher knows (*publisher.Publisher).
type Records interface {
	List(ctx context.Context) ([]*publisher.Record, error)
}

// Scenes reports what each QR scene brought (*subscribers.Service).
type Scenes interface {
	Stats(ctx context.Context) ([]subscribers.SceneStats, error)
}

// Tags lists the account's tags with their followers (*wechat.Client):
// the topic subscriptions per section are the topic tags' counts.
type Tags interface {
	Tags(ctx context.Context) ([]wechat.Tag, error)
}

// Leader tells whether this replica leads the scheduler (*publisher.Publisher).
type Leader interface{ Leading() bool }

// Defaults.
const (
	// DefaultCollectAt is when, Beijing time, WeChat's figures for
	// yesterday are ready (WeChat documents them from the morning on).
	DefaultCollectAt = 8 * time.Hour
	// DefaultBackfill is how many days back missing days are collected.
	DefaultBackfill = 30
	// MaxBackfill bounds Backfill.
	MaxBackfill = 90
	// articleDays: getarticletotal's details run from the send day over
	// seven days, so the last seven days' totals are asked again each run.
	articleDays = 7
	retryAfter  = 30 * time.Minute
)

// Collector fetches and stores the figures. Build it with New.
type Collector struct {
	src     Source
	store   *Store
	rdb     redis.UniversalClient
	keys    store.Keys
	records Records
	scenes  Scenes
	tags    Tags
	prefix  string
	leader  Leader
	log     *slog.Logger

	// CollectAt is the time of day, Beijing, the daily run starts.
	CollectAt time.Duration
	// Backfill is how many days back, from yesterday, are kept complete.
	Backfill int
	// Every is how often Run checks whether the day's run is due.
	Every time.Duration
	// Now is the clock (time.Now by default).
	Now func() time.Time
	// OnCollected runs after each successful collection (gauges).
	OnCollected func(ctx context.Context)
	// Disabled (readership.enabled: false) stops all collection: Run
	// returns at once and Collect returns ErrDisabled; the stored figures
	// can still be reported.
	Disabled bool
}

// ErrDisabled is Collect's error when collection is off.
var ErrDisabled = errors.New("readership: collection is off (readership.enabled: false)")

// Enabled reports whether the collector collects (the admin page says
// so when it does not).
func (c *Collector) Enabled() bool { return !c.Disabled }

// Options are the collector's parts; Records, Scenes and Leader may be nil.
type Options struct {
	Source  Source
	Store   *store.Store
	Records Records
	Scenes  Scenes
	// Tags and TopicPrefix (bot.tags.topic_prefix): the topic tags whose
	// followers are counted per section; nil Tags: not counted.
	Tags        Tags
	TopicPrefix string
	Leader      Leader
	Log         *slog.Logger
}

// New builds a collector.
func New(o Options) (*Collector, error) {
	if o.Source == nil || o.Store == nil {
		return nil, errors.New("readership: a datacube source and a store are needed")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Collector{
		src: o.Source, store: NewStore(o.Store), rdb: o.Store.UniversalClient, keys: o.Store.Keys,
		records: o.Records, scenes: o.Scenes, tags: o.Tags, prefix: o.TopicPrefix, leader: o.Leader, log: log,
		CollectAt: DefaultCollectAt, Backfill: DefaultBackfill, Every: time.Minute, Now: time.Now,
	}, nil
}

// Store is where the figures are kept.
func (c *Collector) Store() *Store { return c.store }

// window is the Backfill days up to yesterday, oldest first.
func (c *Collector) window(now time.Time, n int) []string {
	if n < 1 {
		n = 1
	}
	if n > MaxBackfill {
		n = MaxBackfill
	}
	y, _ := wechat.ParseDate(wechat.DatacubeYesterday(now))
	out := make([]string, 0, n)
	for i := n - 1; i >= 0; i-- {
		out = append(out, y.AddDate(0, 0, -i).Format(wechat.DateLayout))
	}
	return out
}

// Result says what one collection did.
type Result struct {
	Collected []string `json:"collected"` // days fetched in full
	Refreshed []string `json:"refreshed"` // days whose article totals were asked again
}

// Collect fetches every day of the backfill window not collected yet, and
// asks again for the totals of the articles sent in the last seven days
// (their figures grow until then). A failure stops there: the days not
// stored are collected on the next run.
func (c *Collector) Collect(ctx context.Context) (Result, error) {
	var res Result
	if c.Disabled {
		return res, ErrDisabled
	}
	window := c.window(c.Now(), c.Backfill)
	have, err := c.store.Collected(ctx, window)
	if err != nil {
		return res, err
	}
	var missing []string
	for _, d := range window {
		if !have[d] {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		days, err := c.accountFigures(ctx, missing[0], missing[len(missing)-1])
		if err != nil {
			return res, err
		}
		for _, d := range missing {
			arts, err := c.src.ArticleSummary(ctx, d, d)
			if err != nil {
				return res, fmt.Errorf("readership: %w", err)
			}
			totals, err := c.src.ArticleTotal(ctx, d, d)
			if err != nil {
				return res, fmt.Errorf("readership: %w", err)
			}
			day := days[d]
			day.Date = d
			if err := c.store.saveDay(ctx, d, arts, day, totals); err != nil {
				return res, err
			}
			res.Collected = append(res.Collected, d)
		}
	}
	recent := window
	if len(recent) > articleDays {
		recent = recent[len(recent)-articleDays:]
	}
	for _, d := range recent {
		if !have[d] {
			continue // just collected
		}
		totals, err := c.src.ArticleTotal(ctx, d, d)
		if err != nil {
			return res, fmt.Errorf("readership: %w", err)
		}
		if err := c.store.saveTotals(ctx, totals); err != nil {
			return res, fmt.Errorf("readership: store totals of %s: %w", d, err)
		}
		res.Refreshed = append(res.Refreshed, d)
	}
	if err := c.countTopics(ctx); err != nil {
		// The day's figures are stored; the topics are counted next time.
		c.log.WarnContext(ctx, "readership: topic tags not counted", slog.Any("error", err))
	}
	c.log.InfoContext(ctx, "readership: collected", slog.Int("days", len(res.Collected)), slog.Int("refreshed", len(res.Refreshed)))
	if c.OnCollected != nil {
		c.OnCollected(ctx)
	}
	return res, nil
}

// accountFigures fetches the getuser* figures from..to, grouped by day.
func (c *Collector) accountFigures(ctx context.Context, from, to string) (map[string]DayFigures, error) {
	out := map[string]DayFigures{}
	at := func(d string) DayFigures { f := out[d]; f.Date = d; return f }
	reads, err := c.src.UserRead(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("readership: %w", err)
	}
	for _, r := range reads {
		f := at(r.RefDate)
		f.Read = append(f.Read, r)
		out[r.RefDate] = f
	}
	shares, err := c.src.UserShare(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("readership: %w", err)
	}
	for _, r := range shares {
		f := at(r.RefDate)
		f.Share = append(f.Share, r)
		out[r.RefDate] = f
	}
	sums, err := c.src.UserSummary(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("readership: %w", err)
	}
	for _, r := range sums {
		f := at(r.RefDate)
		f.Summary = append(f.Summary, r)
		out[r.RefDate] = f
	}
	cums, err := c.src.UserCumulate(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("readership: %w", err)
	}
	for _, r := range cums {
		f := at(r.RefDate)
		f.Cumulate = append(f.Cumulate, r)
		out[r.RefDate] = f
	}
	return out, nil
}

// Run collects once a day, at CollectAt Beijing time or later (nothing
// when Disabled), on the
// replica that leads the scheduler (and claims the day in Redis, so a
// leader change the same day does not collect twice). A failed run is
// tried again after 30 minutes. It returns when ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	if c.Disabled {
		return nil
	}
	every := c.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		c.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick runs the day's collection when due; it reports whether it ran.
func (c *Collector) tick(ctx context.Context) bool {
	if c.Disabled {
		return false
	}
	if c.leader != nil && !c.leader.Leading() {
		return false
	}
	now := c.Now().In(wechat.Beijing)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, wechat.Beijing)
	if now.Sub(midnight) < c.CollectAt {
		return false
	}
	key := c.keys.ReadershipRan(now.Format(wechat.DateLayout))
	claimed, err := c.rdb.SetNX(ctx, key, "running", 26*time.Hour).Result()
	if err != nil || !claimed {
		return false
	}
	if _, err := c.Collect(ctx); err != nil {
		c.log.WarnContext(ctx, "readership: collection failed; trying again later", slog.Any("error", err), slog.Duration("after", retryAfter))
		c.rdb.Expire(context.WithoutCancel(ctx), key, retryAfter)
		return true
	}
	c.rdb.Set(ctx, key, "done", 26*time.Hour)
	return true
}

// TopicCount is the followers subscribed to one section's topic: its
// WeChat tag's count, as tags/get gave it.
type TopicCount struct {
	Section   string `json:"section"`
	Followers int    `json:"followers"`
}

// topics is what the store keeps of the last count.
type topics struct {
	At     time.Time    `json:"at"`
	Topics []TopicCount `json:"topics"`
}

// countTopics asks WeChat for the tags and keeps the topic tags' counts.
func (c *Collector) countTopics(ctx context.Context) error {
	if c.tags == nil || c.prefix == "" {
		return nil
	}
	tags, err := c.tags.Tags(ctx)
	if err != nil {
		return err
	}
	t := topics{At: c.Now(), Topics: []TopicCount{}}
	for _, tg := range tags {
		if sec, ok := strings.CutPrefix(tg.Name, c.prefix); ok && sec != "" {
			t.Topics = append(t.Topics, TopicCount{Section: sec, Followers: tg.Count})
		}
	}
	sort.Slice(t.Topics, func(i, j int) bool {
		if t.Topics[i].Followers != t.Topics[j].Followers {
			return t.Topics[i].Followers > t.Topics[j].Followers
		}
		return t.Topics[i].Section < t.Topics[j].Section
	})
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return c.rdb.Set(ctx, c.keys.ReadershipTopics(), b, 0).Err()
}

// storedTopics is the last count, nil when none was made.
func (c *Collector) storedTopics(ctx context.Context) (*topics, error) {
	raw, err := c.rdb.Get(ctx, c.keys.ReadershipTopics()).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var t topics
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, nil // written by another version: counted again next run
	}
	return &t, nil
}
