package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/lifang/wxbot/inbox"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/store"
)

// InboxProblem is an inbox file that cannot be published, as `wxbot
// status` shows it: the parser's located error (FILE:LINE: …).
type InboxProblem struct {
	File  string    `json:"file"`
	Error string    `json:"error"`
	Hash  string    `json:"hash,omitempty"`
	At    time.Time `json:"at"`
}

// baselineField marks that the inbox was looked at once: the files found
// the very first time are recorded, not published, so switching
// publish.auto on over a folder of past issues broadcasts none of them.
const baselineField = "*baseline*"

type inboxJob struct {
	file, hash string
	data       []byte
	// iss is the issue as the inbox parsed data: the pipeline does not
	// parse it again.
	iss       *newsletter.Issue
	notBefore time.Time
}

var _ inbox.Consumer = (*Publisher)(nil)

// Offer is the publisher's side of the inbox (an inbox.Consumer): after
// every load of newsletter.inbox it records the files that do not parse
// (shown by `wxbot status`, the editors told once per content), and with
// publish.auto draft or schedule queues each new or changed valid issue
// for the pipeline. It returns at once; Run's worker does the work.
func (p *Publisher) Offer(ctx context.Context, results []inbox.File) {
	// Redis emptied since the last look: the files handled before are
	// written back first, so they are not taken for a first look.
	p.checkRedis(ctx)
	problems, err := p.rdb.HGetAll(ctx, p.keys.PublishInbox()).Result()
	if err != nil {
		p.log.Warn("publisher: inbox: read problems", slog.Any("error", err))
		return
	}
	seen, err := p.rdb.HGetAll(ctx, p.keys.PublishInboxSeen()).Result()
	if err != nil {
		p.log.Warn("publisher: inbox: read seen files", slog.Any("error", err))
		return
	}
	_, baseline := seen[baselineField]
	if baseline {
		p.rememberInbox(seen)
	}
	auto := p.cfg.Auto != "" && p.cfg.Auto != "off"
	present := map[string]bool{}
	queued := 0
	settling := false
	for _, res := range results {
		present[res.File] = true
		if res.Settling && res.Hash == "" {
			// Not taken yet: handled once it has settled. Until then the
			// first look waits, so a file copied in just before it is
			// not taken for a new one.
			settling = true
			continue
		}
		if res.Err != nil || res.Issue == nil {
			p.recordProblem(ctx, res, problems[res.File], auto)
			continue
		}
		if _, had := problems[res.File]; had {
			_ = p.rdb.HDel(ctx, p.keys.PublishInbox(), res.File).Err()
		}
		if !baseline || !auto {
			if seen[res.File] != res.Hash {
				if p.rdb.HSet(ctx, p.keys.PublishInboxSeen(), res.File, res.Hash).Err() == nil {
					p.rememberSeen(map[string]string{res.File: res.Hash})
				}
			}
			continue
		}
		if seen[res.File] == res.Hash {
			continue
		}
		// Out of the chat before the loader shows it: the pipeline takes it.
		p.withholdNew(ctx, res.Issue.Number)
		p.queueInbox(inboxJob{file: res.File, hash: res.Hash, data: res.Data, iss: res.Issue})
		queued++
	}
	for f := range problems {
		if !present[f] {
			_ = p.rdb.HDel(ctx, p.keys.PublishInbox(), f).Err()
		}
	}
	if !baseline && !settling {
		p.markBaseline(ctx, auto, len(results))
	}
	if queued > 0 {
		p.log.Info("publisher: inbox: issues queued for the pipeline", slog.Int("issues", queued), slog.String("publish.auto", p.cfg.Auto))
	}
}

// recordProblem records an inbox file that cannot be published (shown by
// `wxbot status`) unless recorded as it is (was: the record before), and
// with publish.auto tells the editors once per content.
func (p *Publisher) recordProblem(ctx context.Context, res inbox.File, was string, auto bool) {
	msg := inbox.FileError{File: res.File, Err: res.Err}.Error()
	var old InboxProblem
	if was != "" && json.Unmarshal([]byte(was), &old) == nil && old.Hash == res.Hash && old.Error == msg {
		return
	}
	b, _ := json.Marshal(InboxProblem{File: res.File, Error: msg, Hash: res.Hash, At: p.now()})
	if err := p.rdb.HSet(ctx, p.keys.PublishInbox(), res.File, b).Err(); err != nil {
		p.log.Warn("publisher: inbox: record problem", slog.Any("error", err))
	}
	if auto && p.claimNotice(ctx, res.File, res.Hash) {
		p.notify(ctx, Notice{Kind: notify.InboxUnparsable, Reason: msg, File: res.File})
	}
}

// markBaseline records the first look at the inbox: the files there then
// are recorded, never published.
func (p *Publisher) markBaseline(ctx context.Context, auto bool, files int) {
	at := p.now().Format(time.RFC3339)
	if p.rdb.HSet(ctx, p.keys.PublishInboxSeen(), baselineField, at).Err() == nil {
		p.rememberSeen(map[string]string{baselineField: at})
	}
	if auto {
		p.log.Info("publisher: inbox looked at for the first time: the issues there are recorded, not published; new and changed files will be",
			slog.Int("files", files))
	}
}

// claimNotice records that the editors were told about a file's content;
// it is true only for the first caller per content, so replicas watching
// one inbox tell them once.
func (p *Publisher) claimNotice(ctx context.Context, file, hash string) bool {
	first, err := store.SetIfChanged(ctx, p.rdb, p.keys.PublishInboxSeen(), "!notified:"+file, hash)
	if err == nil {
		p.rememberSeen(map[string]string{"!notified:" + file: hash})
	}
	return err == nil && first
}

func (p *Publisher) queueInbox(j inboxJob) {
	p.inboxMu.Lock()
	p.inboxPending[j.file] = j
	p.inboxMu.Unlock()
	select {
	case p.inboxWake <- struct{}{}:
	default:
	}
}

// inboxWorker handles queued inbox files one at a time until ctx ends.
func (p *Publisher) inboxWorker(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.inboxWake:
		case <-t.C:
		}
		now := p.now()
		p.inboxMu.Lock()
		var jobs []inboxJob
		for _, f := range slices.Sorted(maps.Keys(p.inboxPending)) {
			if j := p.inboxPending[f]; !j.notBefore.After(now) {
				jobs = append(jobs, j)
				delete(p.inboxPending, f)
			}
		}
		p.inboxMu.Unlock()
		for _, j := range jobs {
			if ctx.Err() != nil {
				return
			}
			p.handleInbox(ctx, j)
		}
	}
}

func (p *Publisher) handleInbox(ctx context.Context, j inboxJob) {
	markSeen := func() {
		if err := p.rdb.HSet(ctx, p.keys.PublishInboxSeen(), j.file, j.hash).Err(); err != nil {
			p.log.Warn("publisher: inbox: record file", slog.Any("error", err))
			return
		}
		p.rememberSeen(map[string]string{j.file: j.hash})
	}
	rec, err := p.load(ctx, j.iss.Number)
	if err != nil {
		p.log.Warn("publisher: inbox", slog.String("file", j.file), slog.Any("error", err))
		j.notBefore = p.now().Add(5 * time.Second)
		p.queueInbox(j)
		return
	}
	if rec != nil {
		if rec.Origin != "inbox" && rec.File != j.file {
			p.log.Info("publisher: inbox file ignored: the issue is in the pipeline from another file (wxbot publish)",
				slog.String("file", j.file), slog.Int("issue", j.iss.Number), slog.String("from", rec.File))
			markSeen()
			return
		}
		if rec.ContentHash == j.hash || rec.RefusedHash == j.hash {
			markSeen()
			return
		}
	}
	goal := GoalDraft
	if p.cfg.Auto == "schedule" {
		goal = GoalSchedule
	}
	res, err := p.Publish(ctx, Request{File: j.file, Data: j.data, Parsed: j.iss, Goal: goal, Origin: "inbox"})
	var rf *Refusal
	switch {
	case errors.Is(err, ErrBusy):
		j.notBefore = p.now().Add(2 * time.Second)
		p.queueInbox(j)
		return
	case ctx.Err() != nil:
		return
	case errors.As(err, &rf):
		p.log.Warn("publisher: inbox file refused", slog.String("file", j.file), slog.String("reason", string(rf.Reason)), slog.Any("refusal", rf))
	case err != nil:
		p.log.Warn("publisher: inbox file not published", slog.String("file", j.file), slog.Any("error", err))
	default:
		p.log.Info("publisher: inbox file handled", slog.String("file", j.file), slog.Int("issue", j.iss.Number), slog.String("outcome", string(res.Outcome)))
	}
	markSeen()
}

// InboxProblems lists the inbox files that do not parse.
func (p *Publisher) InboxProblems(ctx context.Context) ([]InboxProblem, error) {
	all, err := p.rdb.HGetAll(ctx, p.keys.PublishInbox()).Result()
	if err != nil {
		return nil, fmt.Errorf("publisher: inbox problems: %w", err)
	}
	out := make([]InboxProblem, 0, len(all))
	for _, f := range slices.Sorted(maps.Keys(all)) {
		var ip InboxProblem
		if json.Unmarshal([]byte(all[f]), &ip) == nil {
			out = append(out, ip)
		}
	}
	return out, nil
}
