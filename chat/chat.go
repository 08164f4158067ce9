// Package chat is what the account says to its subscribers: it reads a
// message (text, recognised voice, a menu click, a follow) and the
// subscriber's stored preferences and search session, and decides the
// answer — keyword rules, the built-ins (latest issue, archive, issue
// numbers, search with paging, topics, language, help), the approvers'
// 批准/驳回 — as a Plan: the reply and, as data, the state to write and the
// calls to make. It does no I/O: the webhook (package bot) claims the
// message, applies the plan and answers WeChat. Search runs over an index
// of the archive that follows the archive's changes.
package chat

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/wechat"
)

// Reply languages.
const (
	LangZH   = "zh"
	LangEN   = "en"
	LangBoth = "both"
)

// MaxTextBytes keeps text replies under the ~2,048 bytes WeChat clients show.
const MaxTextBytes = 2047

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

// Plan is the outcome of answering: the reply, the state to write with it
// (under the message's dedupe claim) and the calls to make once.
type Plan struct {
	Reply        *Reply // nil: answer `success`
	Rule         string // metrics label: the built-in or rule that answered
	SetLang      string
	TopicsOn     []string
	TopicsOff    []string
	Session      *Session
	ClearUser    bool
	ChangesState bool
	// NeedsState: the answer read preferences or the session beyond the
	// reply language, so it must take the claim-first path.
	NeedsState bool
	Effects    []Effect
}

// Session is the search being paged.
type Session struct {
	Query string
	Page  int // the page shown last, from 1
}

// State is what is stored about a subscriber: their preferences (kept by
// package subscribers) and their search session. The zero State is a
// subscriber of whom nothing is known.
type State struct {
	Lang    string   // the reply language chosen: zh, en, both; anything else is none
	Topics  []string // the sections followed, by Chinese title, sorted
	Session *Session // nil: no search to page
}

// EffectKind names a call to another part of wxbot.
type EffectKind uint8

const (
	Followed        EffectKind = iota + 1 // Scene: "" without a parametric QR code
	Scanned                               // Scene
	Unfollowed                            //
	LanguageChanged                       // Lang
	TopicChanged                          // Section (Chinese title), On
	Approve                               // Issue, Lang (of the reply)
	Reject                                // Issue, Reason, Lang
)

var effectNames = [...]string{"", "followed", "scanned", "unfollowed", "language changed", "topic changed", "approve", "reject"}

func (k EffectKind) String() string {
	if int(k) < len(effectNames) {
		return effectNames[k]
	}
	return "effect" + strconv.Itoa(int(k))
}

// Effect is a call that must happen once per message, as data: the webhook
// makes it (Approve and Reject then set the reply's text, ApprovalText).
type Effect struct {
	Kind    EffectKind
	Scene   string
	Lang    string
	Section string
	On      bool
	Issue   int
	Reason  string
}

// Archive is where the chat finds issues. Implemented by *archive.Archive;
// when it also has OnChange(func(*archive.Snapshot)), the search index
// follows its changes.
type Archive interface {
	Current() *archive.Snapshot
}

// Options are a Chat's configuration and collaborators.
type Options struct {
	// Config: archive_count, page_size, welcome, scenes, rules,
	// blocked_words (defaults filled in by config.Load).
	Config  config.BotConfig
	Archive Archive
	// IsApprover says whether openid is one of publish.approvers, whose
	// 批准/驳回 N are commands (nil: nobody). It is asked for every text,
	// so it must be an in-memory check.
	IsApprover func(openid string) bool
	Log        *slog.Logger
}

// Chat answers subscribers. Build it with New.
type Chat struct {
	cfg        config.BotConfig
	arch       Archive
	isApprover func(string) bool
	rules      []rule
	blocked    blockList
	log        *slog.Logger

	index      atomic.Pointer[Index]
	indexMu    sync.Mutex
	indexing   atomic.Bool    // a background index build is running
	background sync.WaitGroup // background index builds
}

// New builds a Chat; the rules' expressions are compiled here.
func New(o Options) (*Chat, error) {
	if o.Archive == nil {
		return nil, fmt.Errorf("chat: no archive")
	}
	rules, err := compileRules(o.Config.Rules)
	if err != nil {
		return nil, err
	}
	c := &Chat{cfg: o.Config, arch: o.Archive, isApprover: o.IsApprover, rules: rules,
		blocked: newBlockList(o.Config.BlockedWords), log: o.Log}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.cfg.PageSize <= 0 {
		c.cfg.PageSize = config.DefaultPageSize
	}
	if c.cfg.ArchiveCount <= 0 {
		c.cfg.ArchiveCount = config.DefaultArchiveCount
	}
	// The search index follows the archive: built now, and again whenever
	// the archive changes, off the request path.
	if oc, ok := o.Archive.(interface {
		OnChange(func(*archive.Snapshot))
	}); ok {
		oc.OnChange(func(s *archive.Snapshot) { c.indexFor(s) })
	}
	return c, nil
}

// Close waits for background index builds.
func (c *Chat) Close() { c.background.Wait() }

// Answer decides the answer to msg for a subscriber whose stored state is
// st. It reads only st and the archive; everything it wants done is in the
// plan. Job reports (MassSendFinished, PublishFinished) are the webhook's
// and answered `success` here.
func (c *Chat) Answer(msg Message, st State) Plan {
	switch msg.Kind {
	case Text:
		return c.text(msg.From, msg.Text, st, false)
	case Voice:
		if msg.Text != "" {
			return c.text(msg.From, msg.Text, st, false)
		}
	case Follow, Scan, Unfollow, Click, MassSendFinished, PublishFinished, OtherEvent:
		return c.event(msg, st)
	}
	lang := c.lang(st, "")
	return textPlan("unsupported", tr(lang,
		"暂时只能读懂文字。回复“帮助”查看可用的关键词。",
		"I can only read text for now. Reply “help” for the keywords I know."))
}

// text answers what a subscriber typed (or a menu key standing for it).
func (c *Chat) text(openid, text string, st State, event bool) Plan {
	raw := strings.TrimSpace(text)
	// WeChat's emoji arrive as text (/::) [微笑]): not part of any keyword,
	// nor a sign of the language.
	plain := stripEmoji(raw)
	lang := c.lang(st, plain)
	if !event {
		// Before the keyword rules: an approver's 批准 N is never a rule's.
		if p, ok := c.approval(openid, raw, lang); ok {
			return p
		}
	}
	if p, ok := c.matchRules(raw, event); ok {
		return p
	}
	raw = plain
	n := Normalize(raw)
	snap, ix := c.snapshot()
	switch {
	case n == "":
		return c.help(lang)
	case isLatest(n):
		return c.latest(snap, lang, event)
	case isArchive(n):
		return c.archiveList(snap, lang, event)
	case isHelp(n):
		return c.help(lang)
	case IsMore(n):
		return c.more(snap, ix, st, lang)
	}
	if num, ok := issueNumber(n); ok {
		return c.issue(snap, num, lang, event)
	}
	if l, ok := languageCommand(n); ok {
		return c.setLanguage(st, l)
	}
	if on, arg, ok := topicCommand(raw); ok {
		return c.topic(snap, st, lang, on, arg)
	}
	if isTopics(n) {
		return c.topicList(snap, st, lang)
	}
	return c.search(snap, ix, raw, 1, lang)
}

// lang is the reply language: the subscriber's choice, else the script of
// what they wrote (Chinese characters → Chinese, Latin letters → English),
// else Chinese.
func (c *Chat) lang(st State, text string) string {
	if l := st.Lang; l == LangZH || l == LangEN || l == LangBoth {
		return l
	}
	latin := false
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return LangZH
		}
		if r < utf8.RuneSelf && unicode.IsLetter(r) {
			latin = true
		}
	}
	if latin {
		return LangEN
	}
	return LangZH
}

// tr picks the text for a language; both languages join Chinese and English.
func tr(lang, zh, en string) string {
	switch lang {
	case LangEN:
		return en
	case LangBoth:
		return zh + "\n\n" + en
	default:
		return zh
	}
}

// normalize lower-cases, trims and folds full-width ASCII (ｌａｔｅｓｔ,
// ？) so commands match however they were typed.
func Normalize(s string) string {
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
func IsMore(n string) bool {
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
		return LangEN, true
	case "中文", "chinese", "汉语", "zh", "cn":
		return LangZH, true
	case "双语", "中英", "中英文", "bilingual", "both":
		return LangBoth, true
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

func textReply(s string) *Reply {
	return &Reply{Kind: TextReply, Text: CutText(s, MaxTextBytes)}
}

func textPlan(rule, s string) Plan { return Plan{Reply: textReply(s), Rule: rule} }

// cutText shortens s to at most max bytes at a character boundary, ending
// with "…" when something was cut.
func CutText(s string, max int) string {
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

// newsReply is a news reply of the cards; articles becomes the reply's.
func newsReply(articles []wechat.NewsArticle, event bool) *Reply {
	limit := 1 // a reply to a subscriber's message holds one article
	if event {
		limit = 8
	}
	if len(articles) > limit {
		articles = articles[:limit]
	}
	return &Reply{Kind: NewsReply, Articles: articles}
}

// ---- issues ----

func (c *Chat) latest(snap *archive.Snapshot, lang string, event bool) Plan {
	iss := snap.Latest()
	if iss == nil {
		return textPlan("latest", tr(lang, "还没有发布任何一期。", "No issue has been published yet."))
	}
	p := c.issueAnswer(snap, iss, lang, event)
	p.Rule = "latest"
	return p
}

func (c *Chat) issue(snap *archive.Snapshot, n int, lang string, event bool) Plan {
	iss, ok := snap.Get(n)
	if !ok {
		var nums []string
		for _, r := range snap.Recent(c.cfg.ArchiveCount) {
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
	p := c.issueAnswer(snap, iss, lang, event)
	p.Rule = "issue"
	return p
}

// issueAnswer is a news card linking to the published article when there is
// one, else the issue's table of contents as text.
func (c *Chat) issueAnswer(snap *archive.Snapshot, iss *newsletter.Issue, lang string, event bool) Plan {
	if urls := snap.URLs(iss.Number); len(urls) > 0 {
		return Plan{Reply: newsReply([]wechat.NewsArticle{issueCard(iss, urls[0], lang)}, event)}
	}
	return Plan{Reply: textReply(issueTOC(iss, lang))}
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
	case LangEN:
		return en
	case LangBoth:
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
	case LangEN:
		return en
	case LangBoth:
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
		Description: CutText(strings.Join(desc, "\n"), 500),
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

func (c *Chat) archiveList(snap *archive.Snapshot, lang string, event bool) Plan {
	recent := snap.Recent(c.cfg.ArchiveCount)
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
			return Plan{Reply: newsReply(cards, true), Rule: "archive"}
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

func (c *Chat) help(lang string) Plan {
	return textPlan("help", tr(lang,
		"您可以回复：\n· 最新 — 本期周报\n· 往期 — 最近几期\n· 期号，如 53 — 该期目录\n· 关键词，如 人脸识别、GDPR — 搜索往期内容（“下一页”翻页）\n· 订阅 栏目名 / 退订 栏目名 — 按栏目订阅\n· English / 中文 / 双语 — 回复语言",
		"You can reply:\n· latest — this week's issue\n· archive — recent issues\n· a number, e.g. 53 — that issue\n· keywords, e.g. GDPR — search past issues (“more” for the next page)\n· subscribe SECTION / unsubscribe SECTION — topics\n· English / 中文 / 双语 — reply language"))
}

func (c *Chat) setLanguage(st State, l string) Plan {
	msg := map[string]string{
		LangZH:   "好的，以后用中文回复。",
		LangEN:   "OK, I will reply in English from now on.",
		LangBoth: "好的，以后中英双语回复。\n\nOK, I will reply in both Chinese and English.",
	}[l]
	p := textPlan("language", msg)
	p.ChangesState, p.NeedsState = true, true
	if st.Lang != l {
		p.SetLang = l
		p.Effects = []Effect{{Kind: LanguageChanged, Lang: l}}
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
	a := strings.ReplaceAll(Normalize(arg), " ", "")
	if a == "" {
		return newsletter.Section{}, false
	}
	flat := func(s string) string { return strings.ReplaceAll(Normalize(s), " ", "") }
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

func (c *Chat) topic(snap *archive.Snapshot, st State, lang string, on bool, arg string) Plan {
	all := sections(snap)
	sec, ok := findSection(all, arg)
	if !ok {
		p := c.topicList(snap, st, lang)
		head := tr(lang, "没有找到栏目“"+arg+"”。", "There is no section “"+arg+"”.")
		p.Reply = textReply(head + "\n" + p.Reply.Text)
		return p
	}
	name := sectionTitle(sec, lang)
	has := slices.Contains(st.Topics, sec.TitleZH)
	p := Plan{Rule: "topic", ChangesState: true, NeedsState: true}
	var msg string
	switch {
	case on && has:
		msg = tr(lang, "您已订阅栏目：", "You already follow the section: ") + name
	case on:
		msg = tr(lang, "已订阅栏目：", "You now follow the section: ") + name
		p.TopicsOn = []string{sec.TitleZH}
	case has:
		msg = tr(lang, "已退订栏目：", "You no longer follow the section: ") + name
		p.TopicsOff = []string{sec.TitleZH}
	default:
		msg = tr(lang, "您没有订阅栏目：", "You do not follow the section: ") + name
	}
	if (on && !has) || (!on && has) {
		p.Effects = []Effect{{Kind: TopicChanged, Section: sec.TitleZH, On: on}}
	}
	p.Reply = textReply(msg)
	return p
}

func (c *Chat) topicList(snap *archive.Snapshot, st State, lang string) Plan {
	all := sections(snap)
	var names []string
	for _, s := range all {
		names = append(names, sectionTitle(s, lang))
	}
	mine := st.Topics
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
	p.NeedsState = true
	return p
}

// CannotSave replaces the reply of a command that changes preferences when
// they cannot be stored (Redis is unavailable): saying "done" would be untrue.
func CannotSave(p Plan) Plan {
	return Plan{
		Reply: textReply("暂时无法保存您的设置，请稍后再试。\n\nYour setting could not be saved just now; please try again later."),
		Rule:  p.Rule,
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
func (c *Chat) matchRules(text string, event bool) (Plan, bool) {
	if len(c.rules) == 0 {
		return Plan{}, false
	}
	low := strings.ToLower(text)
	for i, r := range c.rules {
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
			return Plan{Reply: newsReply(arts, event), Rule: name}, true
		case "image":
			return Plan{Reply: &Reply{Kind: ImageReply, MediaID: r.cfg.Reply.MediaID}, Rule: name}, true
		default:
			return textPlan(name, r.cfg.Reply.Text), true
		}
	}
	return Plan{}, false
}
