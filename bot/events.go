package bot

// The job reports WeChat pushes as events (MASSSENDJOBFINISH,
// PUBLISHJOBFINISH) go to the publisher; their article URLs are read from
// the raw push, which is the webhook's.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"log/slog"
	"strconv"
	"strings"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/wechat"
)

// massSendFinished hands MASSSENDJOBFINISH to the publisher.
func (b *Bot) massSendFinished(msg *message.MixMessage, raw []byte) plan {
	ev := wechat.MassSendJobEvent{
		MsgID:       massMsgID(msg),
		Status:      msg.Status,
		TotalCount:  int(msg.TotalCount),
		FilterCount: int(msg.FilterCount),
		SentCount:   int(msg.SentCount),
		ErrorCount:  int(msg.ErrorCount),
		ArticleURLs: articleURLResult(raw),
	}
	return plan{rule: "masssendjobfinish", effects: []effect{{name: "mass send job finished", run: func(ctx context.Context) error {
		if b.jobs == nil {
			b.log.InfoContext(ctx, "webhook: mass send finished (no publisher configured)", slog.Int64("msg_id", ev.MsgID),
				slog.String("status", massStatus(ev.Status)), slog.Int("sent", ev.SentCount), slog.Int("errors", ev.ErrorCount))
			return nil
		}
		return b.jobs.MassSendJobFinished(ctx, ev)
	}}}}
}

// massMsgID is the MsgID of a MASSSENDJOBFINISH: WeChat spells it MsgID,
// which MixMessage reads as TemplateMsgID; MsgId is accepted too.
func massMsgID(m *message.MixMessage) int64 {
	if m.TemplateMsgID != 0 {
		return m.TemplateMsgID
	}
	return m.MsgID
}

// massStatus is what may be logged of a mass send's Status: WeChat's own
// words, or "other" — a Status is part of the message, not ours to log.
func massStatus(s string) string {
	switch {
	case s == "send success", s == "sendsuccess", s == "send fail", s == "sendfail":
		return s
	case strings.HasPrefix(s, "err(") && strings.HasSuffix(s, ")") && len(s) <= 16:
		if _, err := strconv.Atoi(s[4 : len(s)-1]); err == nil {
			return s
		}
	}
	return "other"
}

// publishFinished hands PUBLISHJOBFINISH to the publisher.
func (b *Bot) publishFinished(msg *message.MixMessage) plan {
	info := msg.PublishEventInfo
	ev := wechat.PublishJobEvent{
		PublishID: strconv.FormatInt(info.PublishID, 10),
		Status:    int(info.PublishStatus),
		ArticleID: info.ArticleID,
	}
	for _, it := range info.ArticleDetail.Item {
		ev.ArticleURLs = append(ev.ArticleURLs, it.ArticleURL)
	}
	for _, i := range info.FailIndex {
		ev.FailIdx = append(ev.FailIdx, int(i))
	}
	return plan{rule: "publishjobfinish", effects: []effect{{name: "publish job finished", run: func(ctx context.Context) error {
		if b.jobs == nil {
			b.log.InfoContext(ctx, "webhook: publish finished (no publisher configured)", slog.String("publish_id", ev.PublishID),
				slog.Int("status", ev.Status))
			return nil
		}
		return b.jobs.PublishJobFinished(ctx, ev)
	}}}}
}

// articleURLResult reads ArticleUrlResult of MASSSENDJOBFINISH, which
// MixMessage does not carry, from an XML or a JSON push.
func articleURLResult(raw []byte) []string {
	if isJSON(raw) {
		var j struct {
			Result struct {
				List jsonList[struct {
					URL string `json:"ArticleUrl"`
				}] `json:"ResultList"`
			} `json:"ArticleUrlResult"`
		}
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil
		}
		var out []string
		for _, it := range j.Result.List {
			if it.URL != "" {
				out = append(out, it.URL)
			}
		}
		return out
	}
	var x struct {
		Items []struct {
			URL string `xml:"ArticleUrl"`
		} `xml:"ArticleUrlResult>ResultList>item"`
	}
	if err := xml.Unmarshal(raw, &x); err != nil {
		return nil
	}
	var out []string
	for _, it := range x.Items {
		if it.URL != "" {
			out = append(out, it.URL)
		}
	}
	return out
}
