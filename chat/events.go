package chat

import (
	"strconv"
	"strings"
)

// event answers WeChat's event pushes. Events a subscriber did not cause by
// typing (unsubscribe, VIEW, job reports, anything unknown) are answered
// `success`.
func (c *Chat) event(msg Message, st State) Plan {
	switch msg.Kind {
	case Follow:
		p := textPlan("subscribe", c.welcome(msg.Scene))
		p.Effects = []Effect{{Kind: Followed, Scene: msg.Scene}}
		return p
	case Scan:
		// Already following, scanned a campaign code again: record the scene
		// and say the campaign's words when it has some.
		p := Plan{Rule: "scan", Effects: []Effect{{Kind: Scanned, Scene: msg.Scene}}}
		if sc, ok := c.cfg.Scenes[msg.Scene]; ok && sc.Welcome != "" {
			p.Reply = textReply(sc.Welcome)
		}
		return p
	case Unfollow:
		// Preferences and session go; dedupe keys, QR attribution and the
		// rest of the history stay.
		return Plan{Rule: "unsubscribe", ClearUser: true, Effects: []Effect{{Kind: Unfollowed}}}
	case Click:
		return c.click(msg.Key, st)
	case MassSendFinished:
		return Plan{Rule: "masssendjobfinish"}
	case PublishFinished:
		return Plan{Rule: "publishjobfinish"}
	}
	// VIEW (the menu opened a URL), LOCATION, template reports, and events
	// this version does not know.
	return Plan{Rule: "event"}
}

// welcome is the scene's welcome (bot.scenes), else bot.welcome, else the
// built-in bilingual one.
func (c *Chat) welcome(scene string) string {
	if sc, ok := c.cfg.Scenes[scene]; ok && scene != "" && sc.Welcome != "" {
		return sc.Welcome
	}
	if c.cfg.Welcome != "" {
		return c.cfg.Welcome
	}
	return "感谢关注立方律师事务所！回复“最新”阅读本期《网络安全与数据合规周报》，回复关键词（如 人脸识别、GDPR）搜索往期内容，回复“帮助”查看更多。\n\n" +
		"Thank you for following Lifang & Partners! Reply “latest” for this week's Cybersecurity and Data Protection Review, keywords (e.g. GDPR) to search past issues, or “help” for more."
}

// click maps menu keys to the built-ins; other keys go through bot.rules as
// if typed, and are answered `success` when no rule matches.
func (c *Chat) click(key string, st State) Plan {
	lang := c.lang(st, "")
	snap, ix := c.snapshot()
	switch key {
	case KeyLatest:
		return c.latest(snap, lang, true)
	case KeyArchive:
		return c.archiveList(snap, lang, true)
	case KeyHelp:
		return c.help(lang)
	case KeyTopics:
		return c.topicList(snap, st, lang)
	case KeyLangZH:
		return c.setLanguage(st, LangZH)
	case KeyLangEN:
		return c.setLanguage(st, LangEN)
	case KeyLangBoth:
		return c.setLanguage(st, LangBoth)
	case KeyMore:
		return c.more(snap, ix, st, lang)
	}
	if n, ok := strings.CutPrefix(key, "issue_"); ok {
		if num, err := strconv.Atoi(n); err == nil {
			return c.issue(snap, num, lang, true)
		}
	}
	if p, ok := c.matchRules(key, true); ok {
		return p
	}
	return Plan{Rule: "click"}
}
