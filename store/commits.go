package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The webhook's writes: the claim of a message's dedupe key and the reply
// stored in it, with what goes with them (the subscriber's reply language
// read, the reply body held once, the search session). The keys' meaning is
// the bot's (bot/dedupe.go, bot/replyref.go) and the preferences'
// subscribers' (subscribers/prefs.go); the operations are here.
//
// A question — answered before its claim, since answering it has no side
// effect — is claimed with its finished reply in one command,
// SET key value NX GET PX ttl: whoever finds the key taken gets what is in
// it, so a retry or a concurrent first arrival on any replica gets the
// first answer and nothing runs twice. Commits of concurrent messages share
// one pipeline: committers take whatever commits are waiting and send them
// together, so under load one write and one read carry many messages, and
// an idle server still sends each commit at once (no timer, no added
// latency). On Redis Cluster go-redis splits a pipeline per node; every key
// of one commit carries the subscriber's hash tag, except the body's, which
// is written on its own.

// CommitKind is what a Commit asks for.
type CommitKind uint8

const (
	// CommitClaim: read the language (HGET LangKey LangField), claim Key
	// with Value (SET NX GET PX), then write the body and the session when
	// given.
	CommitClaim CommitKind = iota
	// CommitOverwrite: store Value over a claim that is the caller's
	// (SET PX), and the body when given.
	CommitOverwrite
)

// Commit is one message's commit. Byte slices are read, not copied, until
// Do returns.
type Commit struct {
	Kind  CommitKind
	Key   string // the dedupe key
	Value []byte
	// LangKey is the key of the hash whose LangField a claim reads.
	LangKey string
	// BodyKey and Body, when BodyKey is set: a reply body to hold for
	// CommitsOptions.BodyTTL.
	BodyKey string
	Body    []byte
	// SessKey and Sess, when SessKey is set and the commit is a claim: a
	// session to write after the claim, for CommitsOptions.SessionTTL.
	SessKey string
	Sess    []byte
}

// CommitResult is what a commit found.
type CommitResult struct {
	// Won: the claim was taken now (always true for an overwrite).
	Won bool
	// Found is the value in Key when the claim was not won.
	Found string
	// Lang is LangField's value just before the claim ("" for none).
	Lang string
	// BodyErr and SessErr are the body's and the session's own failures;
	// the claim stands without them.
	BodyErr, SessErr error
}

// ErrCommitSlow is returned when Redis does not take or answer a commit
// within the wait given to Do. The batch may still run later.
var ErrCommitSlow = errors.New("store: commit: redis too slow")

// CommitsOptions configure Commits.
type CommitsOptions struct {
	Redis redis.UniversalClient
	// DedupeTTL, BodyTTL and SessionTTL are the keys' lifetimes.
	DedupeTTL, BodyTTL, SessionTTL time.Duration
	// LangField is the field of LangKey a claim reads (subscribers' "lang").
	LangField string
	// Timeout bounds each batch's round trip.
	Timeout time.Duration
	// OnBatch, when set, is told how many claims each batch carried.
	OnBatch func(claims int)
}

// Commits batches commits; see the top of this file.
type Commits struct {
	o                              CommitsOptions
	ch                             chan *pending
	stop                           chan struct{}
	wg                             sync.WaitGroup
	once                           sync.Once
	dedupeTTL, bodyTTL, sessionTTL int64 // ms, made once: commands take pointers to them
	langField                      string
}

// Two committers: one gathers while the other waits for Redis.
const (
	committers     = 2
	maxCommitBatch = 128
	commitQueue    = 1024
)

// NewCommits starts the committers; Close stops them.
func NewCommits(o CommitsOptions) *Commits {
	c := &Commits{
		o: o, ch: make(chan *pending, commitQueue), stop: make(chan struct{}),
		dedupeTTL: o.DedupeTTL.Milliseconds(), bodyTTL: o.BodyTTL.Milliseconds(), sessionTTL: o.SessionTTL.Milliseconds(),
		langField: o.LangField,
	}
	for i := 0; i < committers; i++ {
		c.wg.Add(1)
		go c.committer()
	}
	return c
}

// Close sends what is still queued and stops the committers.
func (c *Commits) Close() {
	c.once.Do(func() {
		close(c.stop)
		c.wg.Wait()
	})
}

// pending is a Commit waiting for its batch. done has room for one signal,
// so a pending can be used again once answered.
type pending struct {
	Commit
	done                    chan struct{}
	res                     CommitResult
	err                     error
	lang, claim, body, sess *redis.Cmd
	value, bodyVal, sessVal bytesArg
}

// bytesArg is a value passed to go-redis by pointer (as an
// encoding.BinaryMarshaler) so that it is neither copied nor boxed.
type bytesArg []byte

func (v *bytesArg) MarshalBinary() ([]byte, error) { return *v, nil }

var (
	pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan struct{}, 1)} }}
	timerPool   = sync.Pool{New: func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}}
)

// Do queues cm for the next batch and waits for its result, up to wait for
// room in the queue and as long again for Redis (ErrCommitSlow), or until
// ctx ends.
func (c *Commits) Do(ctx context.Context, cm Commit, wait time.Duration) (CommitResult, error) {
	p := pendingPool.Get().(*pending)
	p.Commit = cm
	p.value, p.bodyVal, p.sessVal = cm.Value, cm.Body, cm.Sess
	t := timerPool.Get().(*time.Timer)
	t.Reset(wait)
	defer func() { t.Stop(); timerPool.Put(t) }()
	select {
	case c.ch <- p:
	case <-t.C:
		*p = pending{done: p.done}
		pendingPool.Put(p)
		return CommitResult{}, fmt.Errorf("%w (queue full)", ErrCommitSlow)
	case <-ctx.Done():
		*p = pending{done: p.done}
		pendingPool.Put(p)
		return CommitResult{}, ctx.Err()
	}
	select {
	case <-p.done:
	case <-t.C:
		// The batch may still commit this later. (p stays with the
		// committer: it is not reused.)
		return CommitResult{}, ErrCommitSlow
	case <-ctx.Done():
		return CommitResult{}, ctx.Err()
	}
	res, err := p.res, p.err
	*p = pending{done: p.done}
	pendingPool.Put(p)
	if err != nil {
		return CommitResult{}, fmt.Errorf("store: commit: %w", err)
	}
	return res, nil
}

func (c *Commits) committer() {
	defer c.wg.Done()
	batch := make([]*pending, 0, maxCommitBatch)
	stopping := false
	for {
		batch = batch[:0]
		if !stopping {
			select {
			case p := <-c.ch:
				batch = append(batch, p)
			case <-c.stop:
				// Send what is still queued, then stop.
				stopping = true
			}
		}
	fill:
		for len(batch) < maxCommitBatch {
			select {
			case p := <-c.ch:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			return
		}
		c.run(batch)
	}
}

func (c *Commits) run(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.Timeout)
	defer cancel()
	pipe := c.o.Redis.Pipeline()
	claims := 0
	for _, p := range batch {
		// Every argument a pointer into the pending or the Commits, so
		// building a command allocates only the command.
		p.lang, p.body, p.sess = nil, nil, nil
		switch p.Kind {
		case CommitClaim:
			p.lang = redis.NewCmd(ctx, "hget", &p.LangKey, &c.langField)
			p.claim = redis.NewCmd(ctx, "set", &p.Key, &p.value, "nx", "get", "px", &c.dedupeTTL)
			claims++
		default:
			p.claim = redis.NewCmd(ctx, "set", &p.Key, &p.value, "px", &c.dedupeTTL)
		}
		if p.lang != nil {
			_ = pipe.Process(ctx, p.lang)
		}
		_ = pipe.Process(ctx, p.claim)
		if p.BodyKey != "" {
			p.body = redis.NewCmd(ctx, "set", &p.BodyKey, &p.bodyVal, "px", &c.bodyTTL)
			_ = pipe.Process(ctx, p.body)
		}
		if p.SessKey != "" && p.Kind == CommitClaim {
			p.sess = redis.NewCmd(ctx, "set", &p.SessKey, &p.sessVal, "px", &c.sessionTTL)
			_ = pipe.Process(ctx, p.sess)
		}
	}
	if claims > 0 && c.o.OnBatch != nil {
		c.o.OnBatch(claims)
	}
	_, _ = pipe.Exec(ctx)
	for _, p := range batch {
		p.decode()
		p.lang, p.claim, p.body, p.sess = nil, nil, nil, nil
		p.done <- struct{}{}
	}
}

// decode hands a pending its part of the pipeline's answers. An error of
// the claim's own commands is its error (a key of the wrong type fails that
// message alone); the body's and the session's are reported apart.
func (p *pending) decode() {
	if p.body != nil {
		p.res.BodyErr = p.body.Err()
	}
	if p.sess != nil {
		p.res.SessErr = p.sess.Err()
	}
	if p.lang != nil {
		lang, err := p.lang.Text()
		if err != nil && !errors.Is(err, redis.Nil) {
			p.err = err
			return
		}
		p.res.Lang = lang
	}
	old, err := p.claim.Text()
	switch {
	case p.Kind != CommitClaim:
		p.err = p.claim.Err()
		p.res.Won = p.err == nil
	case errors.Is(err, redis.Nil):
		p.res.Won = true
	case err != nil:
		p.err = err
	default:
		p.res.Found = old
	}
}

// ClaimMessage claims key with pending (SET NX GET PX ttl) together with
// the reads read queues (the subscriber's state), in one round trip. It
// returns whether the claim was won and, when not, the value found.
func ClaimMessage(ctx context.Context, rdb redis.UniversalClient, key, pending string, ttl time.Duration, read func(redis.Pipeliner)) (won bool, found string, err error) {
	pipe := rdb.Pipeline()
	set := pipe.SetArgs(ctx, key, pending, redis.SetArgs{Mode: "NX", Get: true, TTL: ttl})
	if read != nil {
		read(pipe)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, "", fmt.Errorf("store: claim: %w", err)
	}
	old, err := set.Result()
	switch {
	case errors.Is(err, redis.Nil):
		return true, "", nil
	case err != nil:
		return false, "", fmt.Errorf("store: claim: %w", err)
	}
	return false, old, nil
}

// Reply is a reply StoreReply stores.
type Reply struct {
	Key   string // the dedupe key, whose claim is the caller's
	Value []byte
	TTL   time.Duration
	// BodyKey and Body, when BodyKey is set: the reply body, held for
	// BodyTTL, written before Value names it.
	BodyKey string
	Body    []byte
	BodyTTL time.Duration
}

// StoreReply stores r together with the writes write queues (the message's
// state changes), in one round trip.
func StoreReply(ctx context.Context, rdb redis.UniversalClient, r Reply, write func(redis.Pipeliner)) error {
	pipe := rdb.Pipeline()
	if r.BodyKey != "" {
		pipe.Set(ctx, r.BodyKey, r.Body, r.BodyTTL)
	}
	pipe.Set(ctx, r.Key, r.Value, r.TTL)
	if write != nil {
		write(pipe)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store: store reply: %w", err)
	}
	return nil
}
