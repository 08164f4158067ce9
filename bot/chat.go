package bot

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/wechat"
)

// Fields of the prefs and session hashes (store.Keys.Prefs, .Session).
const (
	prefLang  = "lang"   // zh | en | both
	prefTopic = "topic:" // + the section's Chinese title → "1"
	sessQuery = "q"      // the search being paged
	sessPage  = "p"      // the page shown last, from 1
)

// Reply languages.
const (
	langZH   = "zh"
	langEN   = "en"
	langBoth = "both"
)

// maxTextBytes keeps text replies under the ~2,048 bytes WeChat clients show.
const maxTextBytes = 2047

// Menu keys the CLICK event understands (bot.menu's click buttons use them).
// Any other key is looked up in bot.rules as if the subscriber had typed it.
const (
	KeyLatest   = "latest"
	KeyArchive  = "archive"
	KeyHelp     = "help"
	KeyTopics   = "topics"
	KeyLangZH   = "lang_zh"
	KeyLangEN   = "lang_en"
	KeyLangBoth = "lang_both"
	KeyMore     = "more"
)

// plan is the outcome of routing: the reply, the state to write with it
// (under the message's dedupe claim) and the calls to make once.
type plan struct {
	reply        *message.Reply
	rule         string // metrics label: the built-in or rule that answered
	setLang      string
	topicsOn     []string
	topicsOff    []string
	session      *session
	clearUser    bool
	changesState bool
	// needsState: the answer read preferences or the session beyond the
	// reply language, so it must take the claim-first path.
	needsState bool
	effects    []effect
}

type session struct {
	query string
	page  int
}

// effect is a call to another part of wxbot that must happen once per message.
type effect struct {
	name string
	run  func(context.Context) error
}

// route decides the answer to a message. It reads only st and the archive;
// everything it wants done is in the plan.
func (b *Bot) route(msg *message.MixMessage, raw []byte, st *userState) plan {
	if msg.MsgType == message.MsgTypeEvent {
		return b.routeEvent(msg, raw, st)
	}
	text := msg.Content
	if msg.MsgType == message.MsgTypeVoice && msg.Recognition != "" {
		text = msg.Recognition
	}
	if msg.MsgType != message.MsgTypeText && !(msg.MsgType == message.MsgTypeVoice && msg.Recognition != "") {
		lang := b.lang(st, "")
		return textPlan("unsupported", tr(lang,
			"暂时只能读懂文字。回复“帮助”查看可用的关键词。",
			"I can only read text for now. Reply “help” for the keywords I know."))
	}
	return b.routeText(string(msg.FromUserName), text, st, false)
}

// routeText answers what a subscriber typed (or a menu key standing for it).
func (b *Bot) routeText(openid, text string, st *userState, event bool) plan {
	raw := strings.TrimSpace(text)
	// WeChat's emoji arrive as text (/::) [微笑]): not part of any keyword,
	// nor a sign of the language.
	plain := stripEmoji(raw)
	lang := b.lang(st, plain)
	if !event {
		// Before the keyword rules: an approver's 批准 N is never a rule's.
		if p, ok := b.approval(openid, raw, lang); ok {
			return p
		}
	}
	if p, ok := b.matchRules(raw, event); ok {
		return p
	}
	raw = plain
	n := normalize(raw)
	snap, ix := b.snapshot()
	switch {
	case n == "":
		return b.help(lang)
	case isLatest(n):
		return b.latest(snap, lang, event)
	case isArchive(n):
		return b.archiveList(snap, lang, event)
	case isHelp(n):
		return b.help(lang)
	case isMore(n):
		return b.more(snap, ix, st, lang)
	}
	if num, ok := issueNumber(n); ok {
		return b.issue(snap, num, lang, event)
	}
	if l, ok := languageCommand(n); ok {
		return b.setLanguage(openid, st, l)
	}
	if on, arg, ok := topicCommand(raw); ok {
		return b.topic(openid, snap, st, lang, on, arg)
	}
	if isTopics(n) {
		return b.topicList(snap, st, lang)
	}
	return b.search(snap, ix, raw, 1, lang)
}

// lang is the reply language: the subscriber's choice, else the script of
// what they wrote (Chinese characters → Chinese, Latin letters → English),
// else Chinese.
func (b *Bot) lang(st *userState, text string) string {
	if st != nil {
		if l := st.prefs[prefLang]; l == langZH || l == langEN || l == langBoth {
			return l
		}
	}
	latin := false
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return langZH
		}
		if r < utf8.RuneSelf && unicode.IsLetter(r) {
			latin = true
		}
	}
	if latin {
		return langEN
	}
	return langZH
}

// tr picks the text for a language; both languages join Chinese and English.
func tr(lang, zh, en string) string {
	switch lang {
	case langEN:
		return en
	case langBoth:
		return zh + "\n\n" + en
	default:
		return zh
	}
}

// normalize lower-cases, trims and folds full-width ASCII (ｌａｔｅｓｔ,
// ？) so commands match however they were typed.
func normalize(s string) string {
	s = strings.TrimSpace(s)
	var sb strings.Builder
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		} else if r == 0x3000 {
			r = ' '
		}
		sb.WriteRune(unicode.ToLower(r))
	}
	n := strings.Join(strings.Fields(sb.String()), " ")
	// "最新。" (WeChat's voice recognition ends with a full stop), "help!",
	// "帮助？": punctuation around a keyword is not part of it. A message
	// that is only punctuation ("?") stays as it is.
	if t := strings.TrimSpace(strings.Trim(n, edgePunct)); t != "" {
		return t
	}
	return n
}

// edgePunct is what normalize trims from both ends (full-width forms are
// already folded to ASCII).
const edgePunct = ".,!?;:~'\"。、…～·“”‘’"

func oneOf(s string, words ...string) bool {
	for _, w := range words {
		if s == w {
			return true
		}
	}
	return false
}

func isLatest(n string) bool {
	return oneOf(n, "最新", "本期", "最新一期", "这期", "latest", "new", "newest", "this week", "current")
}
func isArchive(n string) bool {
	return oneOf(n, "往期", "历史", "过往", "往期回顾", "archive", "archives", "past", "past issues", "history")
}
func isHelp(n string) bool {
	return oneOf(n, "帮助", "菜单", "help", "?", "h", "menu", "hi", "hello", "你好", "您好")
}
func isMore(n string) bool {
	return oneOf(n, "下一页", "更多", "下页", "more", "next", "n")
}
func isTopics(n string) bool {
	return oneOf(n, "栏目", "订阅", "退订", "我的订阅", "topics", "topic", "subscribe", "unsubscribe", "sections")
}

var issueNumberRE = regexp.MustCompile(`^(?:no\.?\s*|第\s*|#\s*)?(\d{1,5})\s*(?:期)?$`)

// issueNumber reads "53", "No.53", "no 53", "第53期", "#53".
func issueNumber(n string) (int, bool) {
	m := issueNumberRE.FindStringSubmatch(n)
	if m == nil {
		return 0, false
	}
	v, err := strconv.Atoi(m[1])
	return v, err == nil && v > 0
}

func languageCommand(n string) (string, bool) {
	switch n {
	case "english", "英文", "英语", "en":
		return langEN, true
	case "中文", "chinese", "汉语", "zh", "cn":
		return langZH, true
	case "双语", "中英", "中英文", "bilingual", "both":
		return langBoth, true
	}
	return "", false
}

// topicCommand reads "订阅 栏目", "退订 栏目", "subscribe section",
// "unsubscribe section" (a space after the Chinese verb is optional).
func topicCommand(raw string) (on bool, arg string, ok bool) {
	s := strings.TrimSpace(raw)
	lower := strings.ToLower(s)
	for _, c := range []struct {
		prefix string
		on     bool
	}{{"unsubscribe ", false}, {"subscribe ", true}, {"取消订阅", false}, {"退订", false}, {"订阅", true}} {
		if strings.HasPrefix(lower, c.prefix) {
			arg = strings.TrimSpace(s[len(c.prefix):])
			if arg == "" {
				return false, "", false
			}
			return c.on, arg, true
		}
	}
	return false, "", false
}

func textReply(s string) *message.Reply {
	return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(cutText(s, maxTextBytes))}
}

func textPlan(rule, s string) plan { return plan{reply: textReply(s), rule: rule} }

// cutText shortens s to at most max bytes at a character boundary, ending
// with "…" when something was cut.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ell = "…"
	cut := max - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRightFunc(s[:cut], unicode.IsSpace) + ell
}

func newsReply(articles []wechat.NewsArticle, event bool) *message.Reply {
	limit := 1 // a reply to a subscriber's message holds one article
	if event {
		limit = 8
	}
	if len(articles) > limit {
		articles = articles[:limit]
	}
	list := make([]*message.Article, len(articles))
	for i, a := range articles {
		list[i] = message.NewArticle(a.Title, a.Description, a.PicURL, a.URL)
	}
	return &message.Reply{MsgType: message.MsgTypeNews, MsgData: message.NewNews(list)}
}

func newsArticles(n *message.News) []wechat.NewsArticle {
	out := make([]wechat.NewsArticle, len(n.Articles))
	for i, a := range n.Articles {
		out[i] = wechat.NewsArticle{Title: a.Title, Description: a.Description, URL: a.URL, PicURL: a.PicURL}
	}
	return out
}

// ---- issues ----

func (b *Bot) latest(snap *archive.Snapshot, lang string, event bool) plan {
	iss := snap.Latest()
	if iss == nil {
		return textPlan("latest", tr(lang, "还没有发布任何一期。", "No issue has been published yet."))
	}
	p := b.issueAnswer(snap, iss, lang, event)
	p.rule = "latest"
	return p
}

func (b *Bot) issue(snap *archive.Snapshot, n int, lang string, event bool) plan {
	iss, ok := snap.Get(n)
	if !ok {
		var nums []string
		for _, r := range snap.Recent(b.cfg.ArchiveCount) {
			nums = append(nums, strconv.Itoa(r.Number))
		}
		list := strings.Join(nums, ", ")
		if list == "" {
			return textPlan("issue", tr(lang, fmt.Sprintf("没有第%d期。", n), fmt.Sprintf("There is no issue No.%d.", n)))
		}
		return textPlan("issue", tr(lang,
			fmt.Sprintf("没有第%d期。最近几期：%s。回复期号查看。", n, list),
			fmt.Sprintf("There is no issue No.%d. Recent issues: %s. Reply with a number to see one.", n, list)))
	}
	p := b.issueAnswer(snap, iss, lang, event)
	p.rule = "issue"
	return p
}

// issueAnswer is a news card linking to the published article when there is
// one, else the issue's table of contents as text.
func (b *Bot) issueAnswer(snap *archive.Snapshot, iss *newsletter.Issue, lang string, event bool) plan {
	if urls := snap.URLs(iss.Number); len(urls) > 0 {
		return plan{reply: newsReply([]wechat.NewsArticle{issueCard(iss, urls[0], lang)}, event)}
	}
	return plan{reply: textReply(issueTOC(iss, lang))}
}

func issueTitle(iss *newsletter.Issue, lang string) string {
	zh, en := iss.TitleZH, iss.TitleEN
	if zh == "" {
		zh = "立方网络安全与数据合规周报"
	}
	if en == "" {
		en = "Weekly Cybersecurity and Data Protection Review"
	}
	switch lang {
	case langEN:
		return en
	case langBoth:
		return zh + " " + en
	}
	return zh
}

func month(iss *newsletter.Issue) string { return strings.ReplaceAll(iss.Month, "-", ".") }

func itemTitle(it newsletter.Item, lang string) string {
	return inLanguage(it.TitleZH, it.TitleEN, lang, " | ")
}

func sectionTitle(s newsletter.Section, lang string) string {
	return inLanguage(s.TitleZH, s.TitleEN, lang, " ")
}

// inLanguage picks the Chinese or English text for a reply language, or
// both joined by sep; a missing side falls back to the other.
func inLanguage(zh, en, lang, sep string) string {
	if zh == "" {
		zh = en
	}
	if en == "" {
		en = zh
	}
	switch lang {
	case langEN:
		return en
	case langBoth:
		return zh + sep + en
	}
	return zh
}

func issueCard(iss *newsletter.Issue, url, lang string) wechat.NewsArticle {
	var desc []string
	for _, s := range iss.Sections {
		for _, it := range s.Items {
			if len(desc) < 3 {
				desc = append(desc, "· "+itemTitle(it, lang))
			}
		}
	}
	return wechat.NewsArticle{
		Title:       fmt.Sprintf("No.%d %s", iss.Number, issueTitle(iss, lang)),
		Description: cutText(strings.Join(desc, "\n"), 500),
		URL:         url,
	}
}

func issueTOC(iss *newsletter.Issue, lang string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "No.%d", iss.Number)
	if m := month(iss); m != "" {
		sb.WriteString(" · " + m)
	}
	sb.WriteString("\n" + issueTitle(iss, lang) + "\n")
	n := 0
	for _, s := range iss.Sections {
		sb.WriteString("\n【" + sectionTitle(s, lang) + "】\n")
		for _, it := range s.Items {
			n++
			fmt.Fprintf(&sb, "%d. %s\n", n, itemTitle(it, lang))
		}
	}
	sb.WriteString("\n" + tr(lang, "回复关键词搜索往期内容，回复“往期”查看更多期。",
		"Reply with keywords to search past issues, or “archive” for more issues."))
	return sb.String()
}

func (b *Bot) archiveList(snap *archive.Snapshot, lang string, event bool) plan {
	recent := snap.Recent(b.cfg.ArchiveCount)
	if len(recent) == 0 {
		return textPlan("archive", tr(lang, "还没有发布任何一期。", "No issue has been published yet."))
	}
	// In answer to a menu click a news reply may carry several cards: use
	// them when every issue listed has a published article.
	if event {
		var cards []wechat.NewsArticle
		for _, iss := range recent {
			if urls := snap.URLs(iss.Number); len(urls) > 0 {
				cards = append(cards, issueCard(iss, urls[0], lang))
			}
		}
		if len(cards) == len(recent) {
			return plan{reply: newsReply(cards, true), rule: "archive"}
		}
	}
	var sb strings.Builder
	sb.WriteString(tr(lang, "往期周报：", "Past issues:") + "\n")
	for _, iss := range recent {
		fmt.Fprintf(&sb, "No.%d", iss.Number)
		if m := month(iss); m != "" {
			sb.WriteString(" · " + m)
		}
		if lead := leadItem(iss); lead != nil {
			sb.WriteString(" · " + itemTitle(*lead, lang))
		}
		sb.WriteString("\n")
	}
	sb.WriteString("\n" + tr(lang, "回复期号（如 "+strconv.Itoa(recent[0].Number)+"）查看该期目录。",
		"Reply with a number (e.g. "+strconv.Itoa(recent[0].Number)+") to see that issue."))
	return textPlan("archive", sb.String())
}

func leadItem(iss *newsletter.Issue) *newsletter.Item {
	for i := range iss.Sections {
		if len(iss.Sections[i].Items) > 0 {
			return &iss.Sections[i].Items[0]
		}
	}
	return nil
}

// ---- help, language, topics ----

func (b *Bot) help(lang string) plan {
	return textPlan("help", tr(lang,
		"您可以回复：\n· 最新 — 本期周报\n· 往期 — 最近几期\n· 期号，如 53 — 该期目录\n· 关键词，如 人脸识别、GDPR — 搜索往期内容（“下一页”翻页）\n· 订阅 栏目名 / 退订 栏目名 — 按栏目订阅\n· English / 中文 / 双语 — 回复语言",
		"You can reply:\n· latest — this week's issue\n· archive — recent issues\n· a number, e.g. 53 — that issue\n· keywords, e.g. GDPR — search past issues (“more” for the next page)\n· subscribe SECTION / unsubscribe SECTION — topics\n· English / 中文 / 双语 — reply language"))
}

func (b *Bot) setLanguage(openid string, st *userState, l string) plan {
	msg := map[string]string{
		langZH:   "好的，以后用中文回复。",
		langEN:   "OK, I will reply in English from now on.",
		langBoth: "好的，以后中英双语回复。\n\nOK, I will reply in both Chinese and English.",
	}[l]
	p := textPlan("language", msg)
	p.changesState, p.needsState = true, true
	if st.prefs[prefLang] != l {
		p.setLang = l
		if b.audience != nil {
			p.effects = append(p.effects, effect{name: "language changed", run: func(ctx context.Context) error {
				return b.audience.LanguageChanged(ctx, openid, l)
			}})
		}
	}
	return p
}

// sections lists every section of the archive once, newest issues first,
// keyed by its Chinese title.
func sections(snap *archive.Snapshot) []newsletter.Section {
	var out []newsletter.Section
	seen := map[string]bool{}
	for _, iss := range snap.All() {
		for _, s := range iss.Sections {
			key := s.TitleZH
			if key == "" {
				key = s.TitleEN
			}
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			s.TitleZH = key
			out = append(out, newsletter.Section{TitleZH: key, TitleEN: s.TitleEN})
		}
	}
	return out
}

// findSection matches a section by its Chinese or English title, exactly
// (ignoring case and spaces) or, failing that, as the only title containing arg.
func findSection(all []newsletter.Section, arg string) (newsletter.Section, bool) {
	a := strings.ReplaceAll(normalize(arg), " ", "")
	if a == "" {
		return newsletter.Section{}, false
	}
	flat := func(s string) string { return strings.ReplaceAll(normalize(s), " ", "") }
	for _, s := range all {
		if flat(s.TitleZH) == a || flat(s.TitleEN) == a {
			return s, true
		}
	}
	var hits []newsletter.Section
	for _, s := range all {
		if strings.Contains(flat(s.TitleZH), a) || strings.Contains(flat(s.TitleEN), a) {
			hits = append(hits, s)
		}
	}
	if len(hits) == 1 {
		return hits[0], true
	}
	return newsletter.Section{}, false
}

func subscribed(st *userState) []string {
	var out []string
	for k, v := range st.prefs {
		if strings.HasPrefix(k, prefTopic) && v == "1" {
			out = append(out, strings.TrimPrefix(k, prefTopic))
		}
	}
	sort.Strings(out)
	return out
}

func (b *Bot) topic(openid string, snap *archive.Snapshot, st *userState, lang string, on bool, arg string) plan {
	all := sections(snap)
	sec, ok := findSection(all, arg)
	if !ok {
		p := b.topicList(snap, st, lang)
		head := tr(lang, "没有找到栏目“"+arg+"”。", "There is no section “"+arg+"”.")
		p.reply = textReply(head + "\n" + string(p.reply.MsgData.(*message.Text).Content))
		return p
	}
	name := sectionTitle(sec, lang)
	has := st.prefs[prefTopic+sec.TitleZH] == "1"
	p := plan{rule: "topic", changesState: true, needsState: true}
	var msg string
	switch {
	case on && has:
		msg = tr(lang, "您已订阅栏目：", "You already follow the section: ") + name
	case on:
		msg = tr(lang, "已订阅栏目：", "You now follow the section: ") + name
		p.topicsOn = []string{sec.TitleZH}
	case has:
		msg = tr(lang, "已退订栏目：", "You no longer follow the section: ") + name
		p.topicsOff = []string{sec.TitleZH}
	default:
		msg = tr(lang, "您没有订阅栏目：", "You do not follow the section: ") + name
	}
	if (on && !has) || (!on && has) {
		if b.audience != nil {
			zh := sec.TitleZH
			p.effects = append(p.effects, effect{name: "topic changed", run: func(ctx context.Context) error {
				return b.audience.TopicChanged(ctx, openid, zh, on)
			}})
		}
	}
	p.reply = textReply(msg)
	return p
}

func (b *Bot) topicList(snap *archive.Snapshot, st *userState, lang string) plan {
	all := sections(snap)
	var names []string
	for _, s := range all {
		names = append(names, sectionTitle(s, lang))
	}
	mine := subscribed(st)
	var sb strings.Builder
	if len(names) == 0 {
		sb.WriteString(tr(lang, "暂无栏目。", "No sections yet."))
	} else {
		sb.WriteString(tr(lang, "栏目：", "Sections: ") + strings.Join(names, tr(lang, "、", ", ")))
	}
	sb.WriteString("\n")
	if len(mine) > 0 {
		sb.WriteString(tr(lang, "已订阅：", "You follow: ") + strings.Join(mine, tr(lang, "、", ", ")) + "\n")
	}
	sb.WriteString(tr(lang, "回复“订阅 栏目名”或“退订 栏目名”。", "Reply “subscribe SECTION” or “unsubscribe SECTION”."))
	p := textPlan("topics", sb.String())
	p.needsState = true
	return p
}

// cannotSave replaces the reply of a command that changes preferences when
// Redis is unavailable: saying "done" would be untrue.
func (b *Bot) cannotSave(p plan) plan {
	return plan{
		reply: textReply("暂时无法保存您的设置，请稍后再试。\n\nYour setting could not be saved just now; please try again later."),
		rule:  p.rule,
	}
}

// ---- configured rules ----

type rule struct {
	cfg config.Rule
	re  *regexp.Regexp
	low string
}

func compileRules(rules []config.Rule) ([]rule, error) {
	out := make([]rule, 0, len(rules))
	for i, r := range rules {
		c := rule{cfg: r, low: strings.ToLower(r.Pattern)}
		if r.Match == "regex" {
			re, err := regexp.Compile(r.Pattern)
			if err != nil {
				return nil, fmt.Errorf("bot: bot.rules[%d].pattern: %w", i, err)
			}
			c.re = re
		}
		out = append(out, c)
	}
	return out, nil
}

// matchRules runs bot.rules in order; the first match answers. exact,
// prefix and contains ignore case; regex is as written.
func (b *Bot) matchRules(text string, event bool) (plan, bool) {
	if len(b.rules) == 0 {
		return plan{}, false
	}
	low := strings.ToLower(text)
	for i, r := range b.rules {
		var ok bool
		switch r.cfg.Match {
		case "exact":
			ok = low == r.low
		case "prefix":
			ok = strings.HasPrefix(low, r.low)
		case "contains":
			ok = strings.Contains(low, r.low)
		case "regex":
			ok = r.re.MatchString(text)
		}
		if !ok {
			continue
		}
		name := "rule" + strconv.Itoa(i)
		switch r.cfg.Reply.Type {
		case "news":
			arts := make([]wechat.NewsArticle, len(r.cfg.Reply.Articles))
			for j, a := range r.cfg.Reply.Articles {
				arts[j] = wechat.NewsArticle{Title: a.Title, Description: a.Description, URL: a.URL, PicURL: a.PicURL}
			}
			return plan{reply: newsReply(arts, event), rule: name}, true
		case "image":
			return plan{reply: &message.Reply{MsgType: message.MsgTypeImage, MsgData: message.NewImage(r.cfg.Reply.MediaID)}, rule: name}, true
		default:
			return textPlan(name, r.cfg.Reply.Text), true
		}
	}
	return plan{}, false
}
