package subscribers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// The tag queue is a reliable queue with one consumer at a time:
//
//   - enqueue LPUSHes operations to {tags}:queue (oldest at the right);
//   - the worker holding {tags}:worker moves a batch from the queue to
//     {tags}:processing atomically, applies it to WeChat, then deletes it;
//   - a batch that fails, or whose worker dies, stays in processing and is
//     finished first by the next attempt, on any replica, before newer
//     operations are taken: nothing is lost and order is kept.
//
// Tagging is idempotent, so finishing a half-applied batch again is harmless.

const (
	opAdd    = "add"
	opRemove = "remove"

	batchSize     = 500 // operations per batch taken from the queue
	workerLockTTL = 30 * time.Second
	maxTagName    = 30 // bytes, WeChat's limit
)

// op is one queued tag operation.
type op struct {
	Op     string `json:"op"`
	Tag    string `json:"tag"`
	OpenID string `json:"openid"`
}

// ErrBusy means another replica is draining the tag queue.
var ErrBusy = errors.New("subscribers: another replica is draining the tag queue")

// enqueue queues ops and notes the tags the user will carry (UserTags), so
// an unfollow knows what to remove.
func (s *Service) enqueue(ctx context.Context, openid string, ops ...op) error {
	if len(ops) == 0 {
		return nil
	}
	vals := make([]any, 0, len(ops))
	var add, remove []any
	for _, o := range ops {
		if o.Tag == "" {
			continue
		}
		if len(o.Tag) > maxTagName {
			return fmt.Errorf("tag name %q is %d bytes, WeChat allows %d: shorten it in bot.tags or bot.scenes", o.Tag, len(o.Tag), maxTagName)
		}
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		vals = append(vals, string(b))
		if o.Op == opAdd {
			add = append(add, o.Tag)
		} else {
			remove = append(remove, o.Tag)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	// The user's tag set first, then the queue: the queue is what must not
	// be lost; the set only guides a later unfollow.
	utKey := s.st.Keys.UserTags(openid)
	pipe := s.st.Pipeline()
	if len(remove) > 0 {
		pipe.SRem(ctx, utKey, remove...)
	}
	if len(add) > 0 {
		pipe.SAdd(ctx, utKey, add...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if err := s.st.LPush(ctx, s.st.Keys.TagQueue(), vals...).Err(); err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pending counts the tag operations not yet applied to WeChat.
func (s *Service) Pending(ctx context.Context) (int64, error) {
	pipe := s.st.Pipeline()
	q := pipe.LLen(ctx, s.st.Keys.TagQueue())
	p := pipe.LLen(ctx, s.st.Keys.TagProcessing())
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("subscribers: pending tag operations: %w", err)
	}
	return q.Val() + p.Val(), nil
}

// Run mirrors queued tag operations to WeChat until ctx ends. One replica
// drains at a time (the {tags}:worker lock); the others stand by. Without
// WeChat credentials the operations stay queued, and Run says so once.
func (s *Service) Run(ctx context.Context) error {
	if !s.api.Configured() {
		n, _ := s.Pending(ctx)
		s.log.Warn("subscribers: no WeChat credentials: tag operations stay queued in Redis until the API is configured",
			slog.Int64("queued", n))
		<-ctx.Done()
		return nil
	}
	lk := s.workerLock()
	defer release(lk)
	backoff := time.Duration(0)
	lockFailing := false
	for {
		wait := s.poll
		held, err := lk.Hold(ctx, workerLockTTL)
		if err == nil && lockFailing {
			lockFailing = false
			s.log.Info("subscribers: redis is back, tag worker resumes")
		}
		switch {
		case err != nil:
			if !lockFailing && ctx.Err() == nil {
				s.log.Warn("subscribers: tag worker paused, redis unavailable", slog.Any("error", err))
			}
			lockFailing = true
		case held:
			if err := s.drain(ctx, lk); err != nil && ctx.Err() == nil {
				backoff = min(max(2*backoff, time.Second), time.Minute)
				wait = backoff
				s.log.Warn("subscribers: mirroring tags failed, the batch stays queued",
					slog.Duration("retry_in", backoff), slog.Any("error", err))
			} else {
				backoff = 0
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-time.After(wait):
		}
	}
}

// Drain applies every queued tag operation now and returns when the queue
// is empty or a call fails (the failed batch stays queued). It takes the
// worker lock and returns ErrBusy when another replica holds it.
func (s *Service) Drain(ctx context.Context) error {
	if !s.api.Configured() {
		return wechat.ErrNotConfigured
	}
	lk := s.workerLock()
	held, err := lk.Hold(ctx, workerLockTTL)
	if err != nil {
		return fmt.Errorf("subscribers: tag worker lock: %w", err)
	}
	if !held {
		return ErrBusy
	}
	defer release(lk)
	return s.drain(ctx, lk)
}

// workerLock is this process's holder of the tag worker lock (store.Lock:
// taken when free, extended while held, freed only by its holder).
func (s *Service) workerLock() *store.Lock {
	return store.NewLock(s.st, s.st.Keys.TagWorker(), "tags")
}

func release(lk *store.Lock) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = lk.Release(ctx)
}

// drain processes batches until the queue is empty.
func (s *Service) drain(ctx context.Context, lk *store.Lock) error {
	k := s.st.Keys
	for {
		if _, err := store.TakeBatch(ctx, s.st, k.TagQueue(), k.TagProcessing(), batchSize); err != nil {
			return fmt.Errorf("subscribers: take tag batch: %w", err)
		}
		raw, err := s.st.LRange(ctx, k.TagProcessing(), 0, -1).Result()
		if err != nil {
			return fmt.Errorf("subscribers: read tag batch: %w", err)
		}
		if len(raw) == 0 {
			return nil
		}
		slices.Reverse(raw) // LMOVE … LEFT puts the oldest at the right
		if err := s.apply(ctx, lk, raw); err != nil {
			return err
		}
		if err := s.st.Del(ctx, k.TagProcessing()).Err(); err != nil {
			return fmt.Errorf("subscribers: finish tag batch: %w", err)
		}
	}
}

// apply mirrors one batch: the last operation on each (tag, openid) wins,
// then each tag's additions and removals go out in calls of at most 50.
func (s *Service) apply(ctx context.Context, lk *store.Lock, raw []string) error {
	type key struct{ tag, openid string }
	final := map[key]string{}
	var order []key
	for _, r := range raw {
		var o op
		if err := json.Unmarshal([]byte(r), &o); err != nil || o.Tag == "" || o.OpenID == "" || (o.Op != opAdd && o.Op != opRemove) {
			s.log.Error("subscribers: dropping a malformed tag operation", slog.String("op", r))
			continue
		}
		kk := key{o.Tag, o.OpenID}
		if _, seen := final[kk]; !seen {
			order = append(order, kk)
		}
		final[kk] = o.Op
	}
	type lists struct{ add, remove []string }
	byTag := map[string]*lists{}
	for _, kk := range order {
		l := byTag[kk.tag]
		if l == nil {
			l = &lists{}
			byTag[kk.tag] = l
		}
		if final[kk] == opAdd {
			l.add = append(l.add, kk.openid)
		} else {
			l.remove = append(l.remove, kk.openid)
		}
	}
	names := make([]string, 0, len(byTag))
	for n := range byTag {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		l := byTag[name]
		if err := s.applyTag(ctx, lk, name, opRemove, l.remove); err != nil {
			return err
		}
		if err := s.applyTag(ctx, lk, name, opAdd, l.add); err != nil {
			return err
		}
	}
	return nil
}

// Errcodes that no retry will fix for a given openid or tag: the operation
// is dropped with a log line instead of blocking the queue forever.
var (
	badOpenID = []int{40003, 43004, 49003, 45059} // invalid / not following / not ours / 20 tags already
	badTag    = []int{45056, 45157, 45158}        // too many tags / bad name / name too long
)

func (s *Service) applyTag(ctx context.Context, lk *store.Lock, name, kind string, openids []string) error {
	if len(openids) == 0 {
		return nil
	}
	id, err := s.tagID(ctx, name, kind == opAdd)
	switch {
	case wechat.IsCode(err, badTag...):
		s.log.Error("subscribers: cannot create tag, dropping its operations",
			slog.String("tag", name), slog.Int("openids", len(openids)), slog.Any("error", err))
		return nil
	case err != nil:
		return err
	case id == 0:
		return nil // removing a tag that does not exist: nothing to do
	}
	for start := 0; start < len(openids); start += wechat.MaxBatchTagging {
		chunk := openids[start:min(start+wechat.MaxBatchTagging, len(openids))]
		if _, err := lk.Hold(ctx, workerLockTTL); err != nil {
			return fmt.Errorf("subscribers: renew tag worker lock: %w", err)
		}
		err := s.call(ctx, kind, id, chunk)
		if wechat.IsCode(err, 45159) {
			// The tag was deleted on the admin page: forget its id, make it again.
			s.st.HDel(ctx, s.st.Keys.TagIDs(), name)
			if id, err = s.tagID(ctx, name, kind == opAdd); err != nil || id == 0 {
				return err
			}
			err = s.call(ctx, kind, id, chunk)
		}
		if wechat.IsCode(err, badOpenID...) {
			err = s.oneByOne(ctx, kind, id, name, chunk)
		}
		if err != nil {
			return fmt.Errorf("subscribers: %s tag %q: %w", kind, name, err)
		}
	}
	return nil
}

// oneByOne isolates the openids WeChat refuses in a chunk, dropping them.
func (s *Service) oneByOne(ctx context.Context, kind string, id int, name string, openids []string) error {
	for _, o := range openids {
		err := s.call(ctx, kind, id, []string{o})
		if wechat.IsCode(err, badOpenID...) {
			s.log.Warn("subscribers: WeChat refused a tag operation, dropped",
				slog.String("tag", name), slog.String("op", kind), slog.String("openid", o), slog.Any("error", err))
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) call(ctx context.Context, kind string, id int, openids []string) error {
	if kind == opAdd {
		return s.api.TagUsers(ctx, id, openids)
	}
	return s.api.UntagUsers(ctx, id, openids)
}

// tagID resolves a tag name to WeChat's id: from the {tags}:ids cache, else
// from WeChat (created when create is set; 0 when absent and not created).
func (s *Service) tagID(ctx context.Context, name string, create bool) (int, error) {
	key := s.st.Keys.TagIDs()
	if v, err := s.st.HGet(ctx, key, name).Result(); err == nil {
		if id, err := strconv.Atoi(v); err == nil && id > 0 {
			return id, nil
		}
	} else if !errors.Is(err, redis.Nil) {
		return 0, err
	}
	var id int
	if create {
		t, err := s.api.CreateTag(ctx, name)
		if err != nil {
			return 0, err
		}
		id = t.ID
	} else {
		tags, err := s.api.Tags(ctx)
		if err != nil {
			return 0, err
		}
		for _, t := range tags {
			if t.Name == name {
				id = t.ID
			}
		}
		if id == 0 {
			return 0, nil
		}
	}
	if err := s.st.HSet(ctx, key, name, id).Err(); err != nil {
		return 0, err
	}
	return id, nil
}
