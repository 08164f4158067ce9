package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// MassSendJobFinished and PublishJobFinished make *Publisher the bot's
// bot.JobEvents (asserted in cmd/wxbot, which wires them): the bot hands
// every MASSSENDJOBFINISH and PUBLISHJOBFINISH push here, after its own
// dedupe of WeChat's retries.

// A job report is a claim: wxbot checks it against what it recorded
// before taking it, since anyone who can reach the webhook in plain mode,
// or replay a captured safe-mode URL in compat mode, can post one. It may
// refine the record of a msg_id/publish_id wxbot sent; a report for an id
// not recorded yet is kept, but only in a small bounded set; a report whose
// article links are not WeChat's is not WeChat's, and is dropped; links
// once recorded are never replaced; and a report that an issue failed is
// believed only when WeChat's own API (message/mass/get, freepublish/get)
// says the same.

// Early reports: the send's answer may have been lost, and the resumed
// send (every few minutes, with the same clientmsgid) records the id
// later. Past that the scheduler's poll asks WeChat anyway, so an early
// report needs keeping only briefly, and only a few at a time: a flood of
// forged ones evicts each other, never growing Redis.
const (
	earlyTTL      = time.Hour
	maxEarly      = 32
	maxEarlyBytes = 4 << 10 // the JSON of one report
)

// Limits of a report WeChat sends: up to 8 articles, short statuses.
const (
	maxReportURLs   = 8
	maxReportURLLen = 2048
	maxStatusLen    = 64
)

// MassSendJobFinished records WeChat's MASSSENDJOBFINISH report: the
// counts and status go into the record (wxbot status shows them),
// article URLs into the archive, and the editors are told. A repeated
// report changes nothing and tells no one twice; a report for a msg_id
// not recorded yet is kept (briefly) until the send records it. It
// returns an error when Redis fails, or when WeChat could not be asked to
// confirm a reported failure.
func (p *Publisher) MassSendJobFinished(ctx context.Context, ev wechat.MassSendJobEvent) error {
	urls, ok := wechatURLs(ev.ArticleURLs)
	if !ok || len(ev.Status) > maxStatusLen {
		p.log.Warn("publisher: mass send report that WeChat would not send (links not WeChat's, or an overlong status): ignored",
			slog.Int64("msg_id", ev.MsgID))
		return nil
	}
	ev.ArticleURLs = urls
	id := strconv.FormatInt(ev.MsgID, 10)
	n, err := p.rdb.Get(ctx, p.keys.PublishMsg(id)).Int()
	if errors.Is(err, redis.Nil) {
		p.log.Info("publisher: mass send report for a msg_id not recorded (yet): kept for a while in case its send is recorded",
			slog.Int64("msg_id", ev.MsgID), slog.String("status", ev.Status))
		return p.keepEarly(ctx, "msg", id, ev)
	}
	if err != nil {
		return fmt.Errorf("publisher: mass send report %d: %w", ev.MsgID, err)
	}
	return p.applyMassEvent(ctx, n, ev)
}

// PublishJobFinished records WeChat's PUBLISHJOBFINISH report: the
// articles' URLs go into the archive, so the chat answers with cards
// linking to them. Repeats and unknown publish_ids are handled as for
// MassSendJobFinished.
func (p *Publisher) PublishJobFinished(ctx context.Context, ev wechat.PublishJobEvent) error {
	urls, ok := wechatURLs(ev.ArticleURLs)
	if !ok || len(ev.PublishID) > maxStatusLen || len(ev.ArticleID) > maxReportURLLen || len(ev.FailIdx) > maxReportURLs {
		p.log.Warn("publisher: publication report that WeChat would not send (links not WeChat's, or overlong fields): ignored",
			slog.Int("status", ev.Status))
		return nil
	}
	ev.ArticleURLs = urls
	n, err := p.rdb.Get(ctx, p.keys.PublishJob(ev.PublishID)).Int()
	if errors.Is(err, redis.Nil) {
		p.log.Info("publisher: publication report for a publish_id not recorded (yet): kept for a while in case it is recorded",
			slog.String("publish_id", ev.PublishID), slog.Int("status", ev.Status))
		return p.keepEarly(ctx, "job", ev.PublishID, ev)
	}
	if err != nil {
		return fmt.Errorf("publisher: publication report %s: %w", ev.PublishID, err)
	}
	return p.applyPublishEvent(ctx, n, ev)
}

// wechatURLs checks a report's article links: each must be an article on
// https://mp.weixin.qq.com/ (http:// is taken as the same article over
// https). ok is false when one is not — no WeChat report carries such a
// link. An empty entry makes the list unusable (the links go by article
// index), so none are returned, but the report stands.
func wechatURLs(in []string) (out []string, ok bool) {
	if len(in) > maxReportURLs {
		return nil, false
	}
	usable := true
	for _, raw := range in {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			usable = false
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || len(raw) > maxReportURLLen || u.User != nil || u.Opaque != "" ||
			!strings.EqualFold(u.Host, "mp.weixin.qq.com") || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, false
		}
		u.Scheme, u.Host = "https", "mp.weixin.qq.com"
		out = append(out, u.String())
	}
	if !usable {
		return nil, true
	}
	return out, true
}

// keepEarly keeps one early report in a bounded set (store.KeepBounded):
// a hash of reports by kind:id and a sorted set of when each came, at most
// maxEarly for earlyTTL.
func (p *Publisher) keepEarly(ctx context.Context, kind, id string, ev any) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("publisher: keep early report: %w", err)
	}
	if len(b) > maxEarlyBytes {
		p.log.Warn("publisher: early job report too large to keep: dropped", slog.String("kind", kind), slog.Int("bytes", len(b)))
		return nil
	}
	err = store.KeepBounded(ctx, p.rdb, p.keys.PublishEarly(), p.keys.PublishEarlyAt(), kind+":"+id, b, p.now(), earlyTTL, maxEarly)
	if err != nil {
		return fmt.Errorf("publisher: keep early report %s %s: %w", kind, id, err)
	}
	return nil
}

// applyEarly applies a report that arrived before its id was recorded.
func (p *Publisher) applyEarly(ctx context.Context, kind, id string) {
	field := kind + ":" + id
	at, err := p.rdb.ZScore(ctx, p.keys.PublishEarlyAt(), field).Result()
	if errors.Is(err, redis.Nil) {
		return
	}
	var raw []byte
	if err == nil {
		raw, err = p.rdb.HGet(ctx, p.keys.PublishEarly(), field).Bytes()
		if errors.Is(err, redis.Nil) {
			return
		}
	}
	if err == nil && p.now().Sub(time.UnixMilli(int64(at))) < earlyTTL {
		switch kind {
		case "msg":
			var ev wechat.MassSendJobEvent
			if err = json.Unmarshal(raw, &ev); err == nil {
				err = p.MassSendJobFinished(ctx, ev)
			}
		case "job":
			var ev wechat.PublishJobEvent
			if err = json.Unmarshal(raw, &ev); err == nil {
				err = p.PublishJobFinished(ctx, ev)
			}
		}
	}
	if err != nil {
		p.log.Warn("publisher: apply an early job report", slog.String("kind", kind), slog.String("id", id), slog.Any("error", err))
		return
	}
	_ = store.DropBounded(ctx, p.rdb, p.keys.PublishEarly(), p.keys.PublishEarlyAt(), field)
}

// massOK reads MASSSENDJOBFINISH's Status ("send success") and
// message/mass/get's msg_status (SEND_SUCCESS; DELETE: sent, then deleted
// by an administrator — it went out all the same).
func massOK(status string) bool {
	s := strings.ToLower(strings.ReplaceAll(status, "_", " "))
	return strings.Contains(s, "success") || strings.Contains(s, "accepted") || s == "delete"
}

// massFailureText says in plain words why WeChat did not send a mass send
// it had accepted (MASSSENDJOBFINISH's Status, message/mass/get's
// msg_status; WECHAT.md).
func massFailureText(status string) string {
	why := massFailureReasons[strings.ToLower(strings.TrimSpace(status))]
	if why == "" {
		why = "WeChat gives no reason"
	}
	return fmt.Sprintf("WeChat accepted the mass send and then reported it failed: %s (%s). Nothing reached the followers; check the admin page before sending anything again.", why, status)
}

// massFailureReasons are the err(…) Status values of MASSSENDJOBFINISH.
var massFailureReasons = map[string]string{
	"err(10001)": "suspected advertising",
	"err(20001)": "suspected political content",
	"err(20002)": "suspected pornographic content",
	"err(20004)": "suspected social-issue content",
	"err(20006)": "suspected illegal or criminal content",
	"err(20008)": "suspected fraud",
	"err(20013)": "suspected copyright infringement",
	"err(21000)": "suspected other violations",
	"err(22000)": "suspected mutual promotion",
	"err(30001)": "the originality check failed with a system error, and reposts were set not to be sent",
	"err(30002)": "the originality check ruled it may not be sent",
	"err(30003)": "the originality check judged it a repost, and reposts were set not to be sent",
	"err(40001)": "an administrator refused it",
	"err(40002)": "no administrator confirmed it within 30 minutes",
}

// applyMassStatus records WeChat's verdict on an accepted mass send in x;
// failed tells whether it failed the issue.
func applyMassStatus(x *Record, status string, now time.Time) (failed bool) {
	x.MassStatus, x.ReportedAt = status, now
	if massOK(status) {
		return false
	}
	if x.State == StateFailed {
		if strings.HasPrefix(x.Error, "mass send reported ") {
			// WeChat's report after a poll's SEND_FAIL: its reason is
			// the more precise; the editors were told already.
			x.Error, x.Explanation = "mass send reported "+status, massFailureText(status)
		}
		return false
	}
	x.State = StateFailed
	x.Error = "mass send reported " + status
	x.Explanation = massFailureText(status)
	return true
}

// When WeChat's API says a send went out, later failure reports for it
// are ignored for a while without asking again, so a stream of forged
// ones cannot spend the daily quotas of message/mass/get and
// freepublish/get (45009) the scheduler's polls need.
const (
	sentOKTTL = time.Hour
	maxSentOK = 256
)

func (p *Publisher) saidSent(key string) bool {
	p.sentMu.Lock()
	defer p.sentMu.Unlock()
	at, ok := p.sentOK[key]
	return ok && p.now().Sub(at) < sentOKTTL
}

func (p *Publisher) rememberSent(key string) {
	p.sentMu.Lock()
	defer p.sentMu.Unlock()
	now := p.now()
	if len(p.sentOK) >= maxSentOK {
		for k, at := range p.sentOK {
			if now.Sub(at) >= sentOKTTL || len(p.sentOK) >= maxSentOK {
				delete(p.sentOK, k)
			}
		}
	}
	p.sentOK[key] = now
}

// confirmMassFailure asks WeChat (message/mass/get) whether a mass send a
// report says failed did fail: a forged report must not fail an issue
// that went out, nor invite a second send.
func (p *Publisher) confirmMassFailure(ctx context.Context, n int, ev wechat.MassSendJobEvent) (bool, error) {
	key := fmt.Sprint("msg:", ev.MsgID)
	if p.saidSent(key) {
		p.log.Warn("publisher: a mass send report says failed, WeChat said sent: report ignored", slog.Int("issue", n), slog.Int64("msg_id", ev.MsgID))
		return false, nil
	}
	if p.api == nil {
		p.log.Warn("publisher: a mass send failure report cannot be confirmed without WeChat: ignored", slog.Int("issue", n), slog.Int64("msg_id", ev.MsgID))
		return false, nil
	}
	st, err := p.api.MassStatus(ctx, ev.MsgID)
	if err != nil {
		return false, fmt.Errorf("publisher: No.%d: confirm the reported mass send failure: %w", n, err)
	}
	switch {
	case st == "" || st == "SENDING":
		p.log.Info("publisher: a mass send report says failed, WeChat says still sending: the scheduler asks again later",
			slog.Int("issue", n), slog.Int64("msg_id", ev.MsgID), slog.String("status", ev.Status))
		return false, nil
	case massOK(st):
		p.rememberSent(key)
		p.log.Warn("publisher: a mass send report says failed, WeChat says sent: report ignored",
			slog.Int("issue", n), slog.Int64("msg_id", ev.MsgID), slog.String("status", ev.Status), slog.String("msg_status", st))
		return false, nil
	}
	return true, nil
}

func (p *Publisher) applyMassEvent(ctx context.Context, n int, ev wechat.MassSendJobEvent) error {
	confirmed := false
	if !massOK(ev.Status) {
		rec, err := p.load(ctx, n)
		if err != nil {
			return err
		}
		if rec != nil && rec.MsgID == ev.MsgID && rec.State != StateFailed {
			if confirmed, err = p.confirmMassFailure(ctx, n, ev); err != nil || !confirmed {
				return err
			}
		}
	}
	var finished, failed bool
	rec, err := p.update(ctx, guard{}, n, func(x *Record) (string, []op, error) {
		finished, failed = false, false
		if x.MsgID != ev.MsgID {
			return "", nil, errNoChange
		}
		if !x.ReportedAt.IsZero() && x.MassStatus == ev.Status && x.TotalCount == ev.TotalCount &&
			x.SentCount == ev.SentCount && x.ErrorCount == ev.ErrorCount && x.FilterCount == ev.FilterCount {
			return "", nil, errNoChange // WeChat's retry, or another replica's
		}
		switch {
		case !massOK(ev.Status) && x.State != StateFailed && !confirmed:
			return "", nil, errNoChange // not confirmed (the record changed since it was asked)
		case massOK(ev.Status) && x.MassStatus != "" && !massOK(x.MassStatus):
			return "", nil, errNoChange // WeChat already said it failed
		case x.TotalCount != 0 || x.FilterCount != 0 || x.SentCount != 0 || x.ErrorCount != 0:
			if !confirmed {
				return "", nil, errNoChange // WeChat reports a mass send once: the figures are in
			}
		}
		x.TotalCount, x.FilterCount, x.SentCount, x.ErrorCount = ev.TotalCount, ev.FilterCount, ev.SentCount, ev.ErrorCount
		if len(ev.ArticleURLs) > 0 && len(x.URLs) == 0 {
			x.URLs = slices.Clone(ev.ArticleURLs)
		}
		note := fmt.Sprintf("WeChat report: %q, sent %d of %d (%d left after WeChat's filtering, %d errors)", ev.Status, ev.SentCount, ev.TotalCount, ev.FilterCount, ev.ErrorCount)
		if confirmed {
			note += "; message/mass/get confirms the failure"
		}
		switch {
		case applyMassStatus(x, ev.Status, p.now()):
			failed = true
			return note, []op{opZRem()}, nil
		case x.State == StateSent && x.outcomeKnown():
			x.State, x.FinishedAt = StateFinished, p.now()
			finished = true
			return note, []op{opZRem()}, nil
		}
		return note, nil, nil
	})
	if err != nil {
		return err
	}
	if rec.Mode != "publish" {
		p.setURLs(ctx, n, rec.URLs)
	}
	p.wantURLs(ctx, rec) // urls.go: when the report carried none
	switch {
	case finished:
		p.notifyFinished(ctx, rec)
	case failed:
		p.notify(ctx, Notice{Kind: notify.Failed, Number: n, Reason: rec.Explanation})
	}
	return nil
}

// publishFailed reads freepublish's publish_status: 0 published, 1 still
// publishing, anything else a failure.
func publishFailed(status int) bool { return status != 0 && status != 1 }

// confirmPublishFailure asks WeChat (freepublish/get) whether a
// publication a report says failed did fail, and returns WeChat's answer.
func (p *Publisher) confirmPublishFailure(ctx context.Context, n int, ev wechat.PublishJobEvent) (wechat.PublishJobEvent, bool, error) {
	key := "job:" + ev.PublishID
	if p.saidSent(key) {
		p.log.Warn("publisher: a publication report says failed, WeChat said published: report ignored", slog.Int("issue", n), slog.String("publish_id", ev.PublishID))
		return ev, false, nil
	}
	if p.api == nil {
		p.log.Warn("publisher: a publication failure report cannot be confirmed without WeChat: ignored", slog.Int("issue", n), slog.String("publish_id", ev.PublishID))
		return ev, false, nil
	}
	got, err := p.api.GetPublish(ctx, ev.PublishID)
	if err != nil {
		return ev, false, fmt.Errorf("publisher: No.%d: confirm the reported publication failure: %w", n, err)
	}
	if !publishFailed(got.Status) {
		if got.Status == 0 {
			p.rememberSent(key)
		}
		p.log.Warn("publisher: a publication report says failed, WeChat does not: report ignored",
			slog.Int("issue", n), slog.String("publish_id", ev.PublishID), slog.Int("status", ev.Status), slog.Int("publish_status", got.Status))
		return ev, false, nil
	}
	got.PublishID = ev.PublishID
	return got, true, nil
}

func (p *Publisher) applyPublishEvent(ctx context.Context, n int, ev wechat.PublishJobEvent) error {
	confirmed := false
	if publishFailed(ev.Status) {
		rec, err := p.load(ctx, n)
		if err != nil {
			return err
		}
		if rec != nil && rec.PublishID == ev.PublishID && rec.PublishStep != PublishFailed {
			if ev, confirmed, err = p.confirmPublishFailure(ctx, n, ev); err != nil || !confirmed {
				return err
			}
		}
	}
	var finished, failed, changed bool
	rec, err := p.update(ctx, guard{}, n, func(x *Record) (string, []op, error) {
		finished, failed, changed = false, false, false
		if x.PublishID != ev.PublishID || ev.Status == 1 {
			return "", nil, errNoChange
		}
		switch {
		case publishFailed(ev.Status) && (x.PublishStep == PublishFailed || !confirmed):
			return "", nil, errNoChange
		case ev.Status == 0 && x.PublishStep == PublishDone:
			// The outcome is in, and links once recorded stay: a later
			// report may only fill in links the first one lacked.
			if len(x.URLs) > 0 || len(ev.ArticleURLs) == 0 {
				return "", nil, errNoChange
			}
		case ev.Status == 0 && x.PublishStep == PublishFailed:
			return "", nil, errNoChange // contradicts what WeChat said
		}
		note := applyPublish(x, ev)
		if confirmed {
			note += "; freepublish/get confirms it"
		}
		changed = true
		var ops []op
		switch {
		case x.State == StateFailed:
			failed = true
			ops = append(ops, opZRem())
		case x.State == StateSent && x.outcomeKnown():
			x.State, x.FinishedAt = StateFinished, p.now()
			finished = true
			ops = append(ops, opZRem())
		}
		return note, ops, nil
	})
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	if ev.Status == 0 {
		p.setURLs(ctx, n, rec.URLs)
	}
	// A failed publication is news of its own, also in mode both where the
	// mass send may still finish (or just has).
	if failed || publishFailed(ev.Status) {
		p.notify(ctx, Notice{Kind: notify.PublishFailed, Number: n, Reason: rec.PublishError})
	}
	if finished {
		p.notifyFinished(ctx, rec)
	}
	return nil
}
