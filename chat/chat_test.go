package chat

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/newsletter"
)

// Answer's routes as tables: what a subscriber sends, what is stored
// about them, and the plan the chat makes — the reply's exact words, the
// state to write and the calls to make. No Redis, no HTTP.

// fixture is three issues, newest No.54; "GDPR" is in one title (No.52)
// and two bodies (No.53, No.54).
func fixture() []*newsletter.Issue {
	item := func(zh, en, body string) newsletter.Item {
		return newsletter.Item{TitleZH: zh, TitleEN: en, BodyEN: []string{body}}
	}
	issue := func(n int, month string, home, abroad newsletter.Item) *newsletter.Issue {
		return &newsletter.Issue{Number: n, Month: month, Sections: []newsletter.Section{
			{TitleZH: "国内要闻", TitleEN: "Domestic News", Items: []newsletter.Item{home}},
			{TitleZH: "海外动态", TitleEN: "Overseas News", Items: []newsletter.Item{abroad}},
		}}
	}
	return []*newsletter.Issue{
		issue(52, "2021-04", item("网信办发布数据出境安全评估办法", "CAC Issues Measures on Data Export", "Facial recognition data is covered."),
			item("爱尔兰监管机构就GDPR处以罚款", "Irish DPC Fines a Company under the GDPR", "A fine.")),
		issue(53, "2021-04", item("三家房企因使用人脸识别系统被罚款", "Real Estate Companies Fined for Facial Recognition", "Fines."),
			item("EDPB发布社交媒体定向指南", "EDPB Publishes Guidelines on Targeting", "Responsibilities under the GDPR.")),
		issue(54, "2021-05", item("个人信息保护法草案二审稿公布", "Second Draft of the PIPL Released", "Sensitive data."),
			item("欧盟提出人工智能监管提案", "EU Proposes AI Regulation", "The GDPR still applies.")),
	}
}

// shelf is an archive in memory that reports its changes, as
// *archive.Archive does.
type shelf struct {
	mu       sync.Mutex
	cur      *archive.Snapshot
	version  int64
	onChange []func(*archive.Snapshot)
}

func newShelf(issues []*newsletter.Issue, urls map[int][]string) *shelf {
	return &shelf{cur: archive.NewSnapshot(1, issues, urls), version: 1}
}

func (s *shelf) Current() *archive.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *shelf) OnChange(fn func(*archive.Snapshot)) {
	s.mu.Lock()
	s.onChange = append(s.onChange, fn)
	cur := s.cur
	s.mu.Unlock()
	fn(cur)
}

func (s *shelf) replace(issues []*newsletter.Issue) {
	s.mu.Lock()
	s.version++
	s.cur = archive.NewSnapshot(s.version, issues, nil)
	cur, fns := s.cur, s.onChange
	s.mu.Unlock()
	for _, fn := range fns {
		fn(cur)
	}
}

func newChat(t testing.TB, arch Archive, cfg func(*config.BotConfig), approver string) *Chat {
	t.Helper()
	var bc config.BotConfig
	if cfg != nil {
		cfg(&bc)
	}
	o := Options{Config: bc, Archive: arch}
	if approver != "" {
		o.IsApprover = func(openid string) bool { return openid == approver }
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

const sub = "oSubscriber"

func text(s string) Message { return Message{Kind: Text, From: sub, Text: s} }

func event(k Kind) Message { return Message{Kind: k, From: sub} }

func click(key string) Message { return Message{Kind: Click, From: sub, Key: key} }

// replyText is a text reply's words, "" for none; a news reply reads as
// its cards (title|description|url, one a line).
func replyText(r *Reply) string {
	if r == nil {
		return ""
	}
	switch r.Kind {
	case TextReply:
		return r.Text
	case NewsReply:
		var lines []string
		for _, a := range r.Articles {
			lines = append(lines, "card:"+a.Title+"|"+a.Description+"|"+a.URL)
		}
		return strings.Join(lines, "\n")
	case ImageReply:
		return "image:" + r.MediaID
	}
	return "?"
}

type route struct {
	name  string
	msg   Message
	st    State
	rule  string
	reply string // exact, or a prefix when it ends with "…"
	want  Plan   // the state and effects (Reply and Rule are checked above)
}

func runRoutes(t *testing.T, c *Chat, routes []route) {
	t.Helper()
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			p := c.Answer(r.msg, r.st)
			if p.Rule != r.rule {
				t.Errorf("rule %q, want %q", p.Rule, r.rule)
			}
			got := replyText(p.Reply)
			if pre, ok := strings.CutSuffix(r.reply, "…"); ok && r.reply != "…" {
				if !strings.HasPrefix(got, pre) {
					t.Errorf("reply\n%s\ndoes not start with\n%s", got, pre)
				}
			} else if got != r.reply {
				t.Errorf("reply\n%q\nwant\n%q", got, r.reply)
			}
			p.Reply, p.Rule = nil, ""
			if !reflect.DeepEqual(p, r.want) {
				t.Errorf("plan %+v, want %+v", p, r.want)
			}
		})
	}
}

const urlNo54 = "https://mp.weixin.qq.com/s/no54"

func TestAnswerIssues(t *testing.T) {
	c := newChat(t, newShelf(fixture(), nil), nil, "")
	toc54 := "No.54 · 2021.05\n立方网络安全与数据合规周报\n\n【国内要闻】\n1. 个人信息保护法草案二审稿公布\n\n【海外动态】\n2. 欧盟提出人工智能监管提案\n\n" +
		"回复关键词搜索往期内容，回复“往期”查看更多期。"
	archiveZH := "往期周报：\nNo.54 · 2021.05 · 个人信息保护法草案二审稿公布\nNo.53 · 2021.04 · 三家房企因使用人脸识别系统被罚款\n" +
		"No.52 · 2021.04 · 网信办发布数据出境安全评估办法\n\n回复期号（如 54）查看该期目录。"
	runRoutes(t, c, []route{
		{name: "最新", msg: text("最新"), rule: "latest", reply: toc54},
		{name: "latest voice", msg: Message{Kind: Voice, From: sub, Text: "最新。"}, rule: "latest", reply: toc54},
		{name: "voice not recognised", msg: Message{Kind: Voice, From: sub}, rule: "unsupported",
			reply: "暂时只能读懂文字。回复“帮助”查看可用的关键词。"},
		{name: "full-width latest: no ASCII letters, so Chinese", msg: text("ｌａｔｅｓｔ"), rule: "latest", reply: toc54},
		{name: "LATEST!", msg: text("LATEST!"), rule: "latest",
			reply: "No.54 · 2021.05\nWeekly Cybersecurity and Data Protection Review\n\n【Domestic News】\n1. Second Draft of the PIPL Released\n\n" +
				"【Overseas News】\n2. EU Proposes AI Regulation\n\nReply with keywords to search past issues, or “archive” for more issues."},
		{name: "第53期", msg: text("第53期"), rule: "issue", reply: "No.53 · 2021.04\n立方网络安全与数据合规周报\n\n【国内要闻】\n1. 三家房企因使用人脸识别系统被罚款…"},
		{name: "No.52", msg: text("No.52"), rule: "issue", reply: "No.52 · 2021.04\n…"},
		{name: "#52", msg: text("#52"), rule: "issue", reply: "No.52 · 2021.04\n…"},
		{name: "missing issue", msg: text("99"), rule: "issue", reply: "没有第99期。最近几期：54, 53, 52。回复期号查看。"},
		{name: "missing issue en", msg: text("no 99"), rule: "issue",
			reply: "There is no issue No.99. Recent issues: 54, 53, 52. Reply with a number to see one."},
		{name: "往期", msg: text("往期"), rule: "archive", reply: archiveZH},
		{name: "archive both", msg: text("archive"), st: State{Lang: LangBoth}, rule: "archive",
			reply: "往期周报：\n\nPast issues:\nNo.54 · 2021.05 · 个人信息保护法草案二审稿公布 | Second Draft of the PIPL Released\n…"},
		{name: "unsupported", msg: Message{Kind: Unsupported, From: sub}, rule: "unsupported", reply: "暂时只能读懂文字。回复“帮助”查看可用的关键词。"},
	})

	// Once No.54 is published, it is a news card.
	pub := newChat(t, newShelf(fixture(), map[int][]string{54: {urlNo54}}), nil, "")
	runRoutes(t, pub, []route{
		{name: "latest card", msg: text("latest"), rule: "latest",
			reply: "card:No.54 Weekly Cybersecurity and Data Protection Review|· Second Draft of the PIPL Released\n· EU Proposes AI Regulation|" + urlNo54},
		{name: "archive text while some are unpublished", msg: click(KeyArchive), rule: "archive", reply: archiveZH},
	})
}

func TestAnswerSearch(t *testing.T) {
	c := newChat(t, newShelf(fixture(), nil), func(bc *config.BotConfig) { bc.PageSize = 2 }, "")
	page1 := "“GDPR”: 3 results (page 1/2)\nNo.52 · Irish DPC Fines a Company under the GDPR\nNo.54 · EU Proposes AI Regulation\n" +
		"\nReply “more” for the next page, or an issue number to see it."
	runRoutes(t, c, []route{
		{name: "hits", msg: text("GDPR"), rule: "search", reply: page1, want: Plan{Session: &Session{Query: "GDPR", Page: 1}}},
		{name: "hits with emoji", msg: text("/::)GDPR[Smile]"), rule: "search", reply: page1, want: Plan{Session: &Session{Query: "GDPR", Page: 1}}},
		{name: "more", msg: text("more"), st: State{Session: &Session{Query: "GDPR", Page: 1}}, rule: "more",
			reply: "“GDPR”: 3 results (page 2/2)\nNo.53 · EDPB Publishes Guidelines on Targeting\n\nReply with an issue number to see it.",
			want:  Plan{NeedsState: true, Session: &Session{Query: "GDPR", Page: 2}}},
		{name: "more past the end", msg: text("下一页"), st: State{Session: &Session{Query: "GDPR", Page: 2}}, rule: "more",
			reply: "没有更多结果了。", want: Plan{NeedsState: true}},
		{name: "more without a search", msg: text("more"), rule: "more",
			reply: "There is no search to continue. Reply with keywords first, e.g. GDPR.", want: Plan{NeedsState: true}},
		{name: "人脸识别", msg: text("人脸识别"), rule: "search",
			reply: "“人脸识别”：共 1 条（第 1/1 页）\nNo.53 · 三家房企因使用人脸识别系统被罚款\n\n回复期号查看该期。",
			want:  Plan{Session: &Session{Query: "人脸识别", Page: 1}}},
		{name: "no hit", msg: text("量子计算"), rule: "search", reply: "没有找到与“量子计算”相关的内容。换个关键词试试，或回复“帮助”。"},
	})
	blocked := newChat(t, newShelf(fixture(), nil), func(bc *config.BotConfig) { bc.BlockedWords = []string{"stupid"} }, "")
	runRoutes(t, blocked, []route{
		{name: "blocked word, no hit: help", msg: text("stupid"), rule: "search", reply: "You can reply:\n· latest — this week's issue…"},
		{name: "blocked word as a plural", msg: text("stupids"), rule: "search", reply: "You can reply:…"},
		{name: "blocked word with hits is not quoted", msg: text("stupid gdpr"), rule: "search",
			reply: "3 results (page 1/1)\nNo.52 · Irish DPC Fines a Company under the GDPR…", want: Plan{Session: &Session{Query: "stupid gdpr", Page: 1}}},
	})
}

func TestAnswerHelpLanguageTopics(t *testing.T) {
	c := newChat(t, newShelf(fixture(), nil), nil, "")
	topicsZH := "栏目：国内要闻、海外动态\n回复“订阅 栏目名”或“退订 栏目名”。"
	runRoutes(t, c, []route{
		{name: "帮助", msg: text("帮助？"), rule: "help", reply: "您可以回复：\n· 最新 — 本期周报\n…"},
		{name: "empty", msg: text("  "), rule: "help", reply: "您可以回复：…"},
		{name: "help in english", msg: text("help"), rule: "help", reply: "You can reply:\n…"},
		{name: "english", msg: text("English"), rule: "language", reply: "OK, I will reply in English from now on.",
			want: Plan{SetLang: LangEN, ChangesState: true, NeedsState: true, Effects: []Effect{{Kind: LanguageChanged, Lang: LangEN}}}},
		{name: "english again", msg: text("english"), st: State{Lang: LangEN}, rule: "language",
			reply: "OK, I will reply in English from now on.", want: Plan{ChangesState: true, NeedsState: true}},
		{name: "双语", msg: text("双语"), rule: "language", reply: "好的，以后中英双语回复。\n\nOK, I will reply in both Chinese and English.",
			want: Plan{SetLang: LangBoth, ChangesState: true, NeedsState: true, Effects: []Effect{{Kind: LanguageChanged, Lang: LangBoth}}}},
		{name: "preference beats the script", msg: text("最新"), st: State{Lang: LangEN}, rule: "latest", reply: "No.54 · 2021.05\nWeekly…"},
		{name: "topic list", msg: text("栏目"), rule: "topics", reply: topicsZH, want: Plan{NeedsState: true}},
		{name: "topic list with mine", msg: text("topics"), st: State{Lang: LangEN, Topics: []string{"海外动态"}}, rule: "topics",
			reply: "Sections: Domestic News, Overseas News\nYou follow: 海外动态\nReply “subscribe SECTION” or “unsubscribe SECTION”.",
			want:  Plan{NeedsState: true}},
		{name: "subscribe", msg: text("订阅 海外动态"), rule: "topic", reply: "已订阅栏目：海外动态",
			want: Plan{TopicsOn: []string{"海外动态"}, ChangesState: true, NeedsState: true,
				Effects: []Effect{{Kind: TopicChanged, Section: "海外动态", On: true}}}},
		{name: "subscribe by english part", msg: text("subscribe overseas"), rule: "topic", reply: "You now follow the section: Overseas News",
			want: Plan{TopicsOn: []string{"海外动态"}, ChangesState: true, NeedsState: true,
				Effects: []Effect{{Kind: TopicChanged, Section: "海外动态", On: true}}}},
		{name: "subscribe again", msg: text("订阅海外动态"), st: State{Topics: []string{"海外动态"}}, rule: "topic",
			reply: "您已订阅栏目：海外动态", want: Plan{ChangesState: true, NeedsState: true}},
		{name: "unsubscribe", msg: text("退订 海外动态"), st: State{Topics: []string{"海外动态"}}, rule: "topic", reply: "已退订栏目：海外动态",
			want: Plan{TopicsOff: []string{"海外动态"}, ChangesState: true, NeedsState: true,
				Effects: []Effect{{Kind: TopicChanged, Section: "海外动态"}}}},
		{name: "unsubscribe not followed", msg: text("退订 国内要闻"), rule: "topic", reply: "您没有订阅栏目：国内要闻",
			want: Plan{ChangesState: true, NeedsState: true}},
		{name: "no such section", msg: text("订阅 不存在"), rule: "topics", reply: "没有找到栏目“不存在”。\n" + topicsZH,
			want: Plan{NeedsState: true}},
	})
}

func TestAnswerRules(t *testing.T) {
	c := newChat(t, newShelf(fixture(), nil), func(bc *config.BotConfig) {
		bc.Rules = []config.Rule{
			{Match: "exact", Pattern: "Promo", Reply: config.Reply{Type: "text", Text: "Promo!"}},
			{Match: "prefix", Pattern: "contact", Reply: config.Reply{Type: "text", Text: "Call us"}},
			{Match: "contains", Pattern: "价格", Reply: config.Reply{Type: "news", Articles: []config.NewsArticle{
				{Title: "收费标准", Description: "d", URL: "https://example.com/fees"}, {Title: "second", URL: "https://example.com/2"}}}},
			{Match: "regex", Pattern: `^\d{3}-\d{4}$`, Reply: config.Reply{Type: "image", MediaID: "MEDIA"}},
			{Match: "exact", Pattern: "最新", Reply: config.Reply{Type: "text", Text: "rules come first"}},
		}
	}, "")
	runRoutes(t, c, []route{
		{name: "exact ignores case", msg: text("promo"), rule: "rule0", reply: "Promo!"},
		{name: "exact only", msg: text("promo code"), rule: "search", reply: "Nothing found for “promo code”. Try other keywords, or reply “help”."},
		{name: "prefix", msg: text("Contact me"), rule: "rule1", reply: "Call us"},
		{name: "contains, one card to a message", msg: text("律师价格如何"), rule: "rule2", reply: "card:收费标准|d|https://example.com/fees"},
		{name: "contains, all cards to a click", msg: click("价格"), rule: "rule2",
			reply: "card:收费标准|d|https://example.com/fees\ncard:second||https://example.com/2"},
		{name: "regex", msg: text("555-1234"), rule: "rule3", reply: "image:MEDIA"},
		{name: "before the built-ins", msg: text("最新"), rule: "rule4", reply: "rules come first"},
		{name: "55 is an issue number, not the regex", msg: text("55"), rule: "issue", reply: "没有第55期。…"},
	})
	if _, err := New(Options{Archive: newShelf(nil, nil), Config: config.BotConfig{Rules: []config.Rule{{Match: "regex", Pattern: "("}}}}); err == nil {
		t.Error("a bad expression was accepted")
	}
}

func TestAnswerEvents(t *testing.T) {
	c := newChat(t, newShelf(fixture(), map[int][]string{52: {"u52"}, 53: {"u53"}, 54: {urlNo54}}), func(bc *config.BotConfig) {
		bc.Scenes = map[string]config.Scene{"expo": {Welcome: "Welcome, expo visitor"}, "quiet": {}}
		bc.Rules = []config.Rule{{Match: "exact", Pattern: "promo", Reply: config.Reply{Type: "text", Text: "Promo!"}}}
	}, "")
	welcome := "感谢关注立方律师事务所！回复“最新”阅读本期《网络安全与数据合规周报》…"
	runRoutes(t, c, []route{
		{name: "subscribe with scene", msg: Message{Kind: Follow, From: sub, Scene: "expo"}, rule: "subscribe", reply: "Welcome, expo visitor",
			want: Plan{Effects: []Effect{{Kind: Followed, Scene: "expo"}}}},
		{name: "subscribe, scene without words", msg: Message{Kind: Follow, From: sub, Scene: "quiet"}, rule: "subscribe", reply: welcome,
			want: Plan{Effects: []Effect{{Kind: Followed, Scene: "quiet"}}}},
		{name: "subscribe", msg: event(Follow), rule: "subscribe", reply: welcome,
			want: Plan{Effects: []Effect{{Kind: Followed}}}},
		{name: "scan", msg: Message{Kind: Scan, From: sub, Scene: "expo"}, rule: "scan", reply: "Welcome, expo visitor",
			want: Plan{Effects: []Effect{{Kind: Scanned, Scene: "expo"}}}},
		{name: "scan, no words", msg: Message{Kind: Scan, From: sub, Scene: "other"}, rule: "scan",
			want: Plan{Effects: []Effect{{Kind: Scanned, Scene: "other"}}}},
		{name: "unsubscribe", msg: event(Unfollow), rule: "unsubscribe",
			want: Plan{ClearUser: true, Effects: []Effect{{Kind: Unfollowed}}}},
		{name: "click latest", msg: click(KeyLatest), rule: "latest",
			reply: "card:No.54 立方网络安全与数据合规周报|· 个人信息保护法草案二审稿公布\n· 欧盟提出人工智能监管提案|" + urlNo54},
		{name: "click archive: all published, cards", msg: click(KeyArchive), rule: "archive",
			reply: "card:No.54 立方网络安全与数据合规周报|· 个人信息保护法草案二审稿公布\n· 欧盟提出人工智能监管提案|" + urlNo54 +
				"\ncard:No.53 立方网络安全与数据合规周报|· 三家房企因使用人脸识别系统被罚款\n· EDPB发布社交媒体定向指南|u53" +
				"\ncard:No.52 立方网络安全与数据合规周报|· 网信办发布数据出境安全评估办法\n· 爱尔兰监管机构就GDPR处以罚款|u52"},
		{name: "click issue", msg: click("issue_53"), rule: "issue", reply: "card:No.53 …"},
		{name: "click help", msg: click(KeyHelp), st: State{Lang: LangEN}, rule: "help", reply: "You can reply:…"},
		{name: "click topics", msg: click(KeyTopics), rule: "topics", reply: "栏目：…", want: Plan{NeedsState: true}},
		{name: "click english", msg: click(KeyLangEN), rule: "language", reply: "OK, I will reply in English from now on.",
			want: Plan{SetLang: LangEN, ChangesState: true, NeedsState: true, Effects: []Effect{{Kind: LanguageChanged, Lang: LangEN}}}},
		{name: "click more", msg: click(KeyMore), rule: "more", reply: "没有正在进行的搜索。…", want: Plan{NeedsState: true}},
		{name: "click a rule's key", msg: click("promo"), rule: "rule0", reply: "Promo!"},
		{name: "click unknown", msg: click("nothing"), rule: "click"},
		{name: "view", msg: event(OtherEvent), rule: "event"},
		{name: "job report", msg: event(MassSendFinished), rule: "masssendjobfinish"},
		{name: "publish report", msg: event(PublishFinished), rule: "publishjobfinish"},
	})
}

func TestAnswerApprovals(t *testing.T) {
	const approver = "oApprover"
	c := newChat(t, newShelf(fixture(), nil), nil, approver)
	as := func(m Message) Message { m.From = approver; return m }
	runRoutes(t, c, []route{
		{name: "approve", msg: as(text("批准 55")), rule: "approve", reply: "",
			want: Plan{ChangesState: true, Effects: []Effect{{Kind: Approve, Issue: 55, Lang: LangZH}}}},
		{name: "reject", msg: as(text("reject No.55 the title is wrong")), rule: "reject", reply: "",
			want: Plan{ChangesState: true, Effects: []Effect{{Kind: Reject, Issue: 55, Reason: "the title is wrong", Lang: LangEN}}}},
		{name: "reject without a reason", msg: as(text("驳回 55")), rule: "reject", reply: "请写明驳回理由，例如：驳回 55 第二条标题有误"},
		{name: "approve with more words is chat", msg: as(text("批准 55 吧")), rule: "search", reply: "没有找到…"},
		{name: "not an approver", msg: text("批准 54"), rule: "search", reply: "没有找到与“批准 54”相关的内容。…"},
	})
	loc := time.FixedZone("CST", 8*3600)
	due := time.Date(2021, 5, 10, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		e      Effect
		out    ApprovalOutcome
		failed bool
		want   string
	}{
		{Effect{Kind: Approve, Issue: 55}, ApprovalOutcome{Scheduled: true, Due: due}, false, "已批准第55期，将于 05-10 09:00 CST 发送。"},
		{Effect{Kind: Approve, Issue: 55, Lang: LangEN}, ApprovalOutcome{}, false, "No.55 approved (this version)."},
		{Effect{Kind: Reject, Issue: 55, Reason: "标题有误"}, ApprovalOutcome{}, false, "已驳回第55期：标题有误。不会发送；编辑会收到通知。"},
		{Effect{Kind: Approve, Issue: 55}, ApprovalOutcome{Refused: "No.55 is not awaiting approval."}, false, "No.55 is not awaiting approval."},
		{Effect{Kind: Approve, Issue: 55}, ApprovalOutcome{}, true, "第55期未能处理，请稍后再试。"},
	} {
		if got := ApprovalText(tc.e, tc.out, tc.failed, loc); got != tc.want {
			t.Errorf("ApprovalText(%+v, %+v) = %q, want %q", tc.e, tc.out, got, tc.want)
		}
	}
}

func TestCannotSave(t *testing.T) {
	p := CannotSave(Plan{Rule: "language", SetLang: LangEN, Effects: []Effect{{Kind: LanguageChanged}}})
	if p.Rule != "language" || p.SetLang != "" || p.Effects != nil || !strings.HasPrefix(replyText(p.Reply), "暂时无法保存您的设置") {
		t.Fatalf("%+v", p)
	}
}

func TestCutText(t *testing.T) {
	long := strings.Repeat("数据合规", 600) // 7,200 bytes
	got := CutText(long, MaxTextBytes)
	if len(got) > MaxTextBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Fatalf("cut to %d bytes, valid=%v", len(got), utf8.ValidString(got))
	}
	if CutText("short", MaxTextBytes) != "short" {
		t.Fatal("short text changed")
	}
}

func TestNoArchive(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without an archive")
	}
	c := newChat(t, newShelf(nil, nil), nil, "")
	runRoutes(t, c, []route{
		{name: "latest", msg: text("最新"), rule: "latest", reply: "还没有发布任何一期。"},
		{name: "archive", msg: text("past issues"), rule: "archive", reply: "No issue has been published yet."},
		{name: "issue", msg: text("53"), rule: "issue", reply: "没有第53期。"},
		{name: "topics", msg: text("栏目"), rule: "topics", reply: "暂无栏目。\n回复“订阅 栏目名”或“退订 栏目名”。", want: Plan{NeedsState: true}},
	})
}
