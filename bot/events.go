package bot

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

// routeEvent answers WeChat's event pushes. Events a subscriber did not
// cause by typing (unsubscribe, VIEW, job reports, anything unknown) are
// answered `success`.
func (b *Bot) routeEvent(msg *message.MixMessage, raw []byte, st *userState) plan {
	openid := string(msg.FromUserName)
	switch msg.Event {
	case message.EventSubscribe:
		scene := ""
		if strings.HasPrefix(msg.EventKey, "qrscene_") {
			scene = strings.TrimPrefix(msg.EventKey, "qrscene_")
		}
		p := textPlan("subscribe", b.welcome(scene))
		p.effects = b.followed(openid, scene)
		return p
	case message.EventScan:
		// Already following, scanned a campaign code again: record the scene
		// and say the campaign's words when it has some.
		scene := msg.EventKey
		p := plan{rule: "scan", effects: b.scanned(openid, scene)}
		if sc, ok := b.cfg.Scenes[scene]; ok && sc.Welcome != "" {
			p.reply = textReply(sc.Welcome)
		}
		return p
	case message.EventUnsubscribe:
		// Preferences and session go; dedupe keys, QR attribution and the
		// rest of the history stay.
		p := plan{rule: "unsubscribe", clearUser: true}
		if b.audience != nil {
			p.effects = []effect{{name: "unfollowed", run: func(ctx context.Context) error {
				return b.audience.Unfollowed(ctx, openid)
			}}}
		}
		return p
	case message.EventClick:
		return b.click(openid, msg.EventKey, st)
	case message.EventMassSendJobFinish:
		return b.massSendFinished(msg, raw)
	case message.EventPublishJobFinish:
		return b.publishFinished(msg)
	}
	// VIEW (the menu opened a URL), LOCATION, template reports, and events
	// this version does not know.
	return plan{rule: "event"}
}

// followed tells the audience of a subscribe.
func (b *Bot) followed(openid, scene string) []effect {
	if b.audience == nil {
		return nil
	}
	return []effect{{name: "followed", run: func(ctx context.Context) error {
		return b.audience.Followed(ctx, openid, scene)
	}}}
}

// scanned tells the audience of a SCAN by a follower.
func (b *Bot) scanned(openid, scene string) []effect {
	if b.audience == nil {
		return nil
	}
	return []effect{{name: "scanned", run: func(ctx context.Context) error {
		return b.audience.Scanned(ctx, openid, scene)
	}}}
}

// welcome is the scene's welcome (bot.scenes), else bot.welcome, else the
// built-in bilingual one.
func (b *Bot) welcome(scene string) string {
	if sc, ok := b.cfg.Scenes[scene]; ok && scene != "" && sc.Welcome != "" {
		return sc.Welcome
	}
	if b.cfg.Welcome != "" {
		return b.cfg.Welcome
	}
	return "感谢关注立方律师事务所！回复“最新”阅读本期《网络安全与数据合规周报》，回复关键词（如 人脸识别、GDPR）搜索往期内容，回复“帮助”查看更多。\n\n" +
		"Thank you for following Lifang & Partners! Reply “latest” for this week's Cybersecurity and Data Protection Review, keywords (e.g. GDPR) to search past issues, or “help” for more."
}

// click maps menu keys to the built-ins; other keys go through bot.rules as
// if typed, and are answered `success` when no rule matches.
func (b *Bot) click(openid, key string, st *userState) plan {
	lang := b.lang(st, "")
	snap, ix := b.snapshot()
	switch key {
	case KeyLatest:
		return b.latest(snap, lang, true)
	case KeyArchive:
		return b.archiveList(snap, lang, true)
	case KeyHelp:
		return b.help(lang)
	case KeyTopics:
		return b.topicList(snap, st, lang)
	case KeyLangZH:
		return b.setLanguage(openid, st, langZH)
	case KeyLangEN:
		return b.setLanguage(openid, st, langEN)
	case KeyLangBoth:
		return b.setLanguage(openid, st, langBoth)
	case KeyMore:
		return b.more(snap, ix, st, lang)
	}
	if n, ok := strings.CutPrefix(key, "issue_"); ok {
		if num, err := strconv.Atoi(n); err == nil {
			return b.issue(snap, num, lang, true)
		}
	}
	if p, ok := b.matchRules(key, true); ok {
		return p
	}
	return plan{rule: "click"}
}

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
