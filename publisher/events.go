package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/wechat"
)

// MassSendJobFinished and PublishJobFinished make *Publisher the bot's
// bot.JobEvents (asserted in cmd/wxbot, which wires them): the bot hands
// every MASSSENDJOBFINISH and PUBLISHJOBFINISH push here, after its own
// dedupe of WeChat's retries.

// earlyTTL keeps a report whose id is not recorded yet: the send's answer
// may have been lost, and the resumed send records the id later.
const earlyTTL = 7 * 24 * time.Hour

// MassSendJobFinished records WeChat's MASSSENDJOBFINISH report: the
// counts and status go into the record (wxbot status shows them),
// article URLs into the archive, and the editors are told. A repeated
// report changes nothing and tells no one twice; a report for a msg_id
// not recorded yet is kept until the send records it. It returns an
// error only when Redis fails.
func (p *Publisher) MassSendJobFinished(ctx context.Context, ev wechat.MassSendJobEvent) error {
	id := strconv.FormatInt(ev.MsgID, 10)
	n, err := p.rdb.Get(ctx, p.keys.PublishMsg(id)).Int()
	if errors.Is(err, redis.Nil) {
		p.log.Info("publisher: mass send report for a msg_id not recorded (yet): kept for when its send is recorded",
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
	n, err := p.rdb.Get(ctx, p.keys.PublishJob(ev.PublishID)).Int()
	if errors.Is(err, redis.Nil) {
		p.log.Info("publisher: publication report for a publish_id not recorded (yet): kept for when it is recorded",
			slog.String("publish_id", ev.PublishID), slog.Int("status", ev.Status))
		return p.keepEarly(ctx, "job", ev.PublishID, ev)
	}
	if err != nil {
		return fmt.Errorf("publisher: publication report %s: %w", ev.PublishID, err)
	}
	return p.applyPublishEvent(ctx, n, ev)
}

func (p *Publisher) keepEarly(ctx context.Context, kind, id string, ev any) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("publisher: keep early report: %w", err)
	}
	if err := p.rdb.Set(ctx, p.keys.PublishEarly(kind, id), b, earlyTTL).Err(); err != nil {
		return fmt.Errorf("publisher: keep early report %s %s: %w", kind, id, err)
	}
	return nil
}

// applyEarly applies a report that arrived before its id was recorded.
func (p *Publisher) applyEarly(ctx context.Context, kind, id string) {
	key := p.keys.PublishEarly(kind, id)
	raw, err := p.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return
	}
	if err == nil {
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
	_ = p.rdb.Del(ctx, key).Err()
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

func (p *Publisher) applyMassEvent(ctx context.Context, n int, ev wechat.MassSendJobEvent) error {
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
		x.TotalCount, x.FilterCount, x.SentCount, x.ErrorCount = ev.TotalCount, ev.FilterCount, ev.SentCount, ev.ErrorCount
		if len(ev.ArticleURLs) > 0 && (len(x.URLs) == 0 || x.Mode == "mass") {
			x.URLs = slices.Clone(ev.ArticleURLs)
		}
		note := fmt.Sprintf("WeChat report: %q, sent %d of %d (%d left after WeChat's filtering, %d errors)", ev.Status, ev.SentCount, ev.TotalCount, ev.FilterCount, ev.ErrorCount)
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
	switch {
	case finished:
		p.notifyFinished(ctx, rec)
	case failed:
		p.notify(ctx, fmt.Sprintf("No.%d: %s", n, rec.Explanation))
	}
	return nil
}

func (p *Publisher) applyPublishEvent(ctx context.Context, n int, ev wechat.PublishJobEvent) error {
	var finished, failed, changed bool
	rec, err := p.update(ctx, guard{}, n, func(x *Record) (string, []op, error) {
		finished, failed, changed = false, false, false
		if x.PublishID != ev.PublishID || ev.Status == 1 {
			return "", nil, errNoChange
		}
		if x.PublishStep == PublishDone && ev.Status == 0 && slices.Equal(x.URLs, ev.ArticleURLs) {
			return "", nil, errNoChange
		}
		if x.PublishStep == PublishFailed && ev.Status != 0 {
			return "", nil, errNoChange
		}
		note := applyPublish(x, ev)
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
	if failed || ev.Status >= 2 {
		p.notify(ctx, fmt.Sprintf("No.%d publication failed: %s", n, rec.PublishError))
	}
	if finished {
		p.notifyFinished(ctx, rec)
	}
	return nil
}
