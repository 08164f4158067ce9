package bot

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/chat"
	"github.com/lifang/wxbot/config"
)

func TestBuiltins(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	cases := []struct {
		ask  string
		want []string
		not  []string
	}{
		{"最新", []string{"No.54 · 2021.05", "【国内要闻】", "1. 个人信息保护法草案二审稿公布", "2. 欧盟委员会提出人工智能监管提案"}, []string{"Domestic"}},
		{"本期", []string{"No.54"}, nil},
		{"latest", []string{"No.54", "【Domestic News】", "Second Draft of the Personal Information Protection Law Released"}, []string{"个人"}},
		{"往期", []string{"往期周报", "No.54 · 2021.05 · 个人信息保护法草案二审稿公布", "No.53 · 2021.04", "No.52"}, nil},
		{"archive", []string{"Past issues", "No.53 · 2021.04 · MIIT Seeks Advice"}, nil},
		{"53", []string{"No.53", "三家房企因使用人脸识别系统"}, nil},
		{"No.52", []string{"No.52", "CAC Issues Measures on Security Assessment of Data Export"}, nil},
		{"第52期", []string{"No.52", "网信办发布数据出境安全评估办法"}, nil},
		{"no 52", []string{"No.52"}, nil},
		{"第53期", []string{"No.53"}, nil},
		{"#53", []string{"No.53"}, nil},
		{"99", []string{"没有第99期", "54, 53, 52"}, nil},
		{"帮助", []string{"最新", "往期", "订阅"}, nil},
		{"help", []string{"latest", "archive", "subscribe SECTION"}, nil},
		{"？", []string{"最新"}, nil},
		{"ＬＡＴＥＳＴ", []string{"No.54"}, nil},
		// Punctuation around a keyword: voice recognition ends "最新。".
		{"最新。", []string{"No.54 · 2021.05", "【国内要闻】"}, nil},
		{"latest!", []string{"No.54", "【Domestic News】"}, nil},
		{"帮助？", []string{"最新", "往期", "订阅"}, nil},
		{"“往期”", []string{"往期周报"}, nil},
		{"53。", []string{"No.53", "三家房企因使用人脸识别系统"}, nil},
		{"?", []string{"最新", "往期"}, nil},
	}
	for _, c := range cases {
		t.Run(c.ask, func(t *testing.T) {
			r := h.ask(testOpenID, c.ask, wechatsim.Safe)
			if r.MsgType != "text" {
				t.Fatalf("type %s", r.MsgType)
			}
			for _, w := range c.want {
				contains(t, r.Content, w)
			}
			for _, n := range c.not {
				if strings.Contains(r.Content, n) {
					t.Errorf("reply contains %q:\n%s", n, r.Content)
				}
			}
		})
	}
}

func TestIssueAsNewsCardOncepublished(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	if err := h.arch.SetURLs(context.Background(), 54, []string{"https://mp.weixin.qq.com/s/no54"}); err != nil {
		t.Fatal(err)
	}
	r := h.ask(testOpenID, "最新", wechatsim.Safe)
	if r.MsgType != "news" || len(r.Articles) != 1 {
		t.Fatalf("reply %s with %d articles, want one news card", r.MsgType, len(r.Articles))
	}
	a := r.Articles[0]
	if a.URL != "https://mp.weixin.qq.com/s/no54" || !strings.HasPrefix(a.Title, "No.54 ") || !strings.Contains(a.Description, "个人信息保护法") {
		t.Fatalf("card %+v", a)
	}
	// Unpublished issues stay text.
	if r := h.ask(testOpenID, "53", wechatsim.Safe); r.MsgType != "text" {
		t.Fatalf("No.53 answered as %s", r.MsgType)
	}
}

func TestArchiveClickAsCards(t *testing.T) {
	h := newHarness(t, harnessOpt{cfg: func(c *config.Config) { c.Bot.ArchiveCount = 2 }})
	for _, n := range []int{53, 54} {
		if err := h.arch.SetURLs(context.Background(), n, []string{"https://mp.weixin.qq.com/s/" + string(rune('a'+n-53))}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := h.send(wechatsim.Event(testOpenID, testAccount, "CLICK", KeyArchive, time.Now().Unix()), wechatsim.Safe)
	if err != nil {
		t.Fatal(err)
	}
	// An answer to a click may carry several cards (a message's only one).
	if r.MsgType != "news" || len(r.Articles) != 2 || !strings.HasPrefix(r.Articles[0].Title, "No.54") {
		t.Fatalf("click archive: %s %+v", r.MsgType, r.Articles)
	}
	if r := h.ask(testOpenID, "往期", wechatsim.Safe); r.MsgType != "text" {
		t.Fatalf("typed 往期 answered as %s", r.MsgType)
	}
}

func TestLanguagePreference(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	const u = "oLang"
	// No preference: the script of the message decides.
	contains(t, h.ask(u, "help", wechatsim.Safe).Content, "You can reply")
	contains(t, h.ask(u, "帮助", wechatsim.Safe).Content, "您可以回复")

	contains(t, h.ask(u, "English", wechatsim.Safe).Content, "English from now on")
	contains(t, h.ask(u, "帮助", wechatsim.Safe).Content, "You can reply")
	contains(t, h.ask(u, "最新", wechatsim.Safe).Content, "【Domestic News】")

	r := h.ask(u, "双语", wechatsim.Safe).Content
	contains(t, r, "中英双语")
	both := h.ask(u, "帮助", wechatsim.Safe).Content
	contains(t, both, "您可以回复")
	contains(t, both, "You can reply")

	contains(t, h.ask(u, "中文", wechatsim.Safe).Content, "中文回复")
	contains(t, h.ask(u, "help", wechatsim.Safe).Content, "您可以回复")

	if got := strings.Join(h.rec.Calls(), "; "); got != "lang oLang en; lang oLang both; lang oLang zh" {
		t.Fatalf("audience calls: %s", got)
	}
	// Saying the same language again changes nothing.
	h.ask(u, "中文", wechatsim.Safe)
	if n := len(h.rec.Calls()); n != 3 {
		t.Fatalf("%d audience calls after a repeated choice", n)
	}
}

func TestTopics(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	const u = "oTopics"
	contains(t, h.ask(u, "订阅 海外动态", wechatsim.Safe).Content, "已订阅栏目：海外动态")
	contains(t, h.ask(u, "subscribe domestic news", wechatsim.Safe).Content, "You now follow the section: Domestic News")
	contains(t, h.ask(u, "订阅海外", wechatsim.Safe).Content, "您已订阅栏目：海外动态")
	list := h.ask(u, "栏目", wechatsim.Safe).Content
	contains(t, list, "栏目：国内要闻、海外动态")
	contains(t, list, "已订阅：国内要闻、海外动态")
	contains(t, h.ask(u, "unsubscribe Overseas News", wechatsim.Safe).Content, "no longer follow the section: Overseas News")
	contains(t, h.ask(u, "退订 海外动态", wechatsim.Safe).Content, "您没有订阅栏目：海外动态")
	contains(t, h.ask(u, "订阅 体育", wechatsim.Safe).Content, "没有找到栏目“体育”")

	want := "topic+ oTopics 海外动态; topic+ oTopics 国内要闻; topic- oTopics 海外动态"
	if got := strings.Join(h.rec.Calls(), "; "); got != want {
		t.Fatalf("audience calls:\n got %s\nwant %s", got, want)
	}
	prefs, err := h.rdb.HGetAll(context.Background(), h.keys.Prefs(u)).Result()
	if err != nil || prefs["topic:国内要闻"] != "1" || prefs["topic:海外动态"] != "" {
		t.Fatalf("prefs in redis: %v %v", prefs, err)
	}
}

func TestRules(t *testing.T) {
	h := newHarness(t, harnessOpt{cfg: func(c *config.Config) {
		c.Bot.Rules = []config.Rule{
			{Match: "exact", Pattern: "联系", Reply: config.Reply{Type: "text", Text: "电话 010-12345678"}},
			{Match: "prefix", Pattern: "活动", Reply: config.Reply{Type: "news", Articles: []config.NewsArticle{
				{Title: "年会报名", Description: "点击报名", URL: "https://example.com/a"},
				{Title: "第二篇", URL: "https://example.com/b"},
			}}},
			{Match: "contains", Pattern: "logo", Reply: config.Reply{Type: "image", MediaID: "MEDIA123"}},
			{Match: "regex", Pattern: `^(?i)contact\b`, Reply: config.Reply{Type: "text", Text: "Call +86 10 12345678"}},
			// Rules come before the built-ins.
			{Match: "exact", Pattern: "HELP", Reply: config.Reply{Type: "text", Text: "custom help"}},
			{Match: "exact", Pattern: "menu_contact", Reply: config.Reply{Type: "text", Text: "from a menu key"}},
		}
	}})
	if got := h.ask(testOpenID, " 联系 ", wechatsim.Safe).Content; got != "电话 010-12345678" {
		t.Fatalf("exact: %q", got)
	}
	r := h.ask(testOpenID, "活动报名", wechatsim.Safe)
	if r.MsgType != "news" || len(r.Articles) != 1 || r.Articles[0].Title != "年会报名" {
		t.Fatalf("prefix news to a message must hold 1 article: %+v", r)
	}
	if r := h.ask(testOpenID, "send the LOGO please", wechatsim.Safe); r.MsgType != "image" || r.MediaID != "MEDIA123" {
		t.Fatalf("contains image: %+v", r)
	}
	if got := h.ask(testOpenID, "Contact us", wechatsim.Safe).Content; got != "Call +86 10 12345678" {
		t.Fatalf("regex: %q", got)
	}
	if got := h.ask(testOpenID, "help", wechatsim.Safe).Content; got != "custom help" {
		t.Fatalf("rule before built-in: %q", got)
	}
	if got := h.ask(testOpenID, "contacts-list", wechatsim.Safe).Content; strings.Contains(got, "Call") {
		t.Fatalf("regex matched too much: %q", got)
	}
	r, err := h.send(wechatsim.Event(testOpenID, testAccount, "CLICK", "menu_contact", time.Now().Unix()), wechatsim.Safe)
	if err != nil || r.Content != "from a menu key" {
		t.Fatalf("unknown click key through rules: %+v %v", r, err)
	}
}

func TestSearch(t *testing.T) {
	h := newHarness(t, harnessOpt{cfg: func(c *config.Config) { c.Bot.PageSize = 2 }})
	const u = "oSearch"

	// 人脸识别: No.53's title hit first, then body hits newest first.
	r := h.ask(u, "人脸识别", wechatsim.Safe).Content
	lines := resultLines(r)
	want := []string{
		"No.53 · 三家房企因使用人脸识别系统被宁波市市监局共罚款75万",
		"No.54 · 个人信息保护法草案二审稿公布",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("page 1:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	contains(t, r, "共 3 条（第 1/2 页）")
	contains(t, r, "下一页")

	r = h.ask(u, "下一页", wechatsim.Safe).Content
	if got := strings.Join(resultLines(r), "\n"); got != "No.52 · 网信办发布数据出境安全评估办法" {
		t.Fatalf("page 2:\n%s", r)
	}
	contains(t, h.ask(u, "下一页", wechatsim.Safe).Content, "没有更多结果了")

	// English, case-insensitive, plural-insensitive; titles first, then newer.
	r = h.ask(u, "gdpr", wechatsim.Safe).Content
	contains(t, r, "3 results (page 1/2)")
	lines = resultLines(r)
	if len(lines) != 2 || lines[0] != "No.52 · Irish DPC Fines a Company under the GDPR" ||
		lines[1] != "No.54 · EU Commission Proposes a Regulation on Artificial Intelligence" {
		t.Fatalf("gdpr page 1: %q", lines)
	}
	r = h.ask(u, "more", wechatsim.Safe).Content
	lines = resultLines(r)
	if len(lines) != 1 || lines[0] != "No.53 · EDPB Publishes Final Version of Guidelines on Targeting of Social Media Users" {
		t.Fatalf("gdpr page 2: %q", lines)
	}
	contains(t, h.ask(u, "Facial Recognition fine", wechatsim.Safe).Content, "No.53 · Ningbo AMR Fines 3 Real Estate Companies")
	contains(t, h.ask(u, "量子计算", wechatsim.Safe).Content, "没有找到")

	// The session is per subscriber and expires.
	contains(t, h.ask("oOther", "more", wechatsim.Safe).Content, "no search to continue")
	ttl, err := h.rdb.PTTL(context.Background(), h.keys.Session(u)).Result()
	if err != nil || ttl <= 0 || ttl > 30*time.Minute {
		t.Fatalf("session TTL %s %v", ttl, err)
	}
}

func httpClient() *http.Client { return http.DefaultClient }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func resultLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "No.") {
			out = append(out, l)
		}
	}
	return out
}

func TestEvents(t *testing.T) {
	h := newHarness(t, harnessOpt{cfg: func(c *config.Config) {
		c.Bot.Scenes = map[string]config.Scene{"expo2026": {Welcome: "感谢在展会关注我们！"}}
		c.Bot.Welcome = ""
	}})
	ev := func(from, event, key string) *wechatsim.Reply {
		t.Helper()
		r, err := h.send(wechatsim.Event(from, testAccount, event, key, time.Now().Unix()+int64(nextMsgID()%1000)), wechatsim.Safe)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	contains(t, ev("oA", "subscribe", "").Content, "感谢关注立方律师事务所")
	if got := ev("oB", "subscribe", "qrscene_expo2026").Content; got != "感谢在展会关注我们！" {
		t.Fatalf("scene welcome: %q", got)
	}
	if got := ev("oB", "SCAN", "expo2026").Content; got != "感谢在展会关注我们！" {
		t.Fatalf("scan welcome: %q", got)
	}
	if r := ev("oC", "SCAN", "other"); !r.Success {
		t.Fatalf("scan of a scene without words: %+v", r)
	}

	// Unsubscribe clears preferences and session; dedupe history stays.
	h.ask("oB", "English", wechatsim.Safe)
	h.ask("oB", "GDPR", wechatsim.Safe)
	if r := ev("oB", "unsubscribe", ""); !r.Success {
		t.Fatalf("unsubscribe: %+v", r)
	}
	n, _ := h.rdb.Exists(context.Background(), h.keys.Prefs("oB"), h.keys.Session("oB")).Result()
	if n != 0 {
		t.Fatalf("prefs/session left after unsubscribe: %d", n)
	}
	if keys, _ := h.rdb.Keys(context.Background(), h.keys.Prefix+"{u:oB}:d:*").Result(); len(keys) == 0 {
		t.Fatal("dedupe history was removed")
	}

	contains(t, ev("oA", "CLICK", KeyLatest).Content, "No.54")
	contains(t, ev("oA", "CLICK", KeyHelp).Content, "最新")
	contains(t, ev("oA", "CLICK", KeyTopics).Content, "栏目：")
	contains(t, ev("oA", "CLICK", KeyLangEN).Content, "English from now on")
	contains(t, ev("oA", "CLICK", "issue_53").Content, "No.53")
	if r := ev("oA", "CLICK", "no_such_key"); !r.Success {
		t.Fatalf("unknown click: %+v", r)
	}
	if r := ev("oA", "VIEW", "https://example.com/x"); !r.Success {
		t.Fatalf("view: %+v", r)
	}
	if r := ev("oA", "LOCATION", ""); !r.Success {
		t.Fatalf("unknown event: %+v", r)
	}

	want := "followed oA ; followed oB expo2026; scanned oB expo2026; scanned oC other; lang oB en; unfollowed oB; lang oA en"
	if got := strings.Join(h.rec.Calls(), "; "); got != want {
		t.Fatalf("audience:\n got %s\nwant %s", got, want)
	}
}

func TestJobEvents(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	mass := []byte(`<xml><ToUserName><![CDATA[` + testAccount + `]]></ToUserName><FromUserName><![CDATA[oSystem]]></FromUserName>` +
		`<CreateTime>1394524295</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[MASSSENDJOBFINISH]]></Event>` +
		`<MsgID>1988</MsgID><Status><![CDATA[sendsuccess]]></Status><TotalCount>100</TotalCount><FilterCount>80</FilterCount>` +
		`<SentCount>75</SentCount><ErrorCount>5</ErrorCount><CopyrightCheckResult><Count>0</Count><ResultList></ResultList><CheckState>1</CheckState></CopyrightCheckResult>` +
		`<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx><ArticleUrl><![CDATA[https://mp.weixin.qq.com/s/m1]]></ArticleUrl></item></ResultList></ArticleUrlResult></xml>`)
	h.bot.now = func() time.Time { return time.Unix(1394524295, 0) }
	p, _ := h.acct.Seal(mass, wechatsim.Safe, time.Unix(1394524295, 0))
	r, err := h.acct.Send(httpClient(), h.url(), p)
	if err != nil || !r.Success {
		t.Fatalf("mass: %+v %v", r, err)
	}
	pub := []byte(`<xml><ToUserName><![CDATA[` + testAccount + `]]></ToUserName><FromUserName><![CDATA[oSystem]]></FromUserName>` +
		`<CreateTime>1394524296</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[PUBLISHJOBFINISH]]></Event>` +
		`<PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status><article_id><![CDATA[b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvy]]></article_id>` +
		`<article_detail><count>1</count><item><idx>1</idx><article_url><![CDATA[https://mp.weixin.qq.com/s/p1]]></article_url></item></article_detail></PublishEventInfo></xml>`)
	p, _ = h.acct.Seal(pub, wechatsim.Safe, time.Unix(1394524295, 0))
	r, err = h.acct.Send(httpClient(), h.url(), p)
	if err != nil || !r.Success {
		t.Fatalf("publish: %+v %v", r, err)
	}
	// A retry of the report does not reach the publisher twice.
	if _, err := h.acct.Send(httpClient(), h.url(), p); err != nil {
		t.Fatal(err)
	}
	// A failed publication, as WeChat documents it: fail_idx repeated.
	failed := []byte(`<xml><ToUserName><![CDATA[` + testAccount + `]]></ToUserName><FromUserName><![CDATA[oSystem]]></FromUserName>` +
		`<CreateTime>1394524297</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[PUBLISHJOBFINISH]]></Event>` +
		`<PublishEventInfo><publish_id>2247503052</publish_id><publish_status>2</publish_status><fail_idx>1</fail_idx><fail_idx>2</fail_idx></PublishEventInfo></xml>`)
	p, _ = h.acct.Seal(failed, wechatsim.Safe, time.Unix(1394524295, 0))
	if r, err := h.acct.Send(httpClient(), h.url(), p); err != nil || !r.Success {
		t.Fatalf("failed publication: %+v %v", r, err)
	}
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if len(h.rec.mass) != 1 {
		t.Fatalf("mass events: %+v", h.rec.mass)
	}
	m := h.rec.mass[0]
	if m.MsgID != 1988 || m.Status != "sendsuccess" || m.TotalCount != 100 || m.SentCount != 75 || m.ErrorCount != 5 ||
		len(m.ArticleURLs) != 1 || m.ArticleURLs[0] != "https://mp.weixin.qq.com/s/m1" {
		t.Fatalf("mass event %+v", m)
	}
	if len(h.rec.publish) != 2 {
		t.Fatalf("publish events: %+v", h.rec.publish)
	}
	if f := h.rec.publish[1]; f.PublishID != "2247503052" || f.Status != 2 || len(f.ArticleURLs) != 0 || fmt.Sprint(f.FailIdx) != "[1 2]" {
		t.Fatalf("failed publication event %+v", f)
	}
	pe := h.rec.publish[0]
	if pe.PublishID != "2247503051" || pe.Status != 0 || pe.ArticleID != "b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvy" ||
		len(pe.ArticleURLs) != 1 || pe.ArticleURLs[0] != "https://mp.weixin.qq.com/s/p1" {
		t.Fatalf("publish event %+v", pe)
	}
}

func TestNonTextMessages(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	img := []byte(`<xml><ToUserName><![CDATA[` + testAccount + `]]></ToUserName><FromUserName><![CDATA[oPic]]></FromUserName>` +
		`<CreateTime>` + itoa64(time.Now().Unix()) + `</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/y.jpg]]></PicUrl>` +
		`<MediaId><![CDATA[m]]></MediaId><MsgId>` + itoa64(nextMsgID()) + `</MsgId></xml>`)
	r, err := h.send(img, wechatsim.Safe)
	if err != nil {
		t.Fatal(err)
	}
	contains(t, r.Content, "文字")
	voice := []byte(`<xml><ToUserName><![CDATA[` + testAccount + `]]></ToUserName><FromUserName><![CDATA[oVoice]]></FromUserName>` +
		`<CreateTime>` + itoa64(time.Now().Unix()) + `</CreateTime><MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m]]></MediaId>` +
		`<Format><![CDATA[amr]]></Format><Recognition><![CDATA[最新]]></Recognition><MsgId>` + itoa64(nextMsgID()) + `</MsgId></xml>`)
	r, err = h.send(voice, wechatsim.Safe)
	if err != nil {
		t.Fatal(err)
	}
	contains(t, r.Content, "No.54")
}

func TestTextCut(t *testing.T) {
	// A long reply through the webhook stays under the limit (chat.CutText).
	long := strings.Repeat("数据合规", 600) // 7,200 bytes
	h := newHarness(t, harnessOpt{cfg: func(c *config.Config) {
		c.Bot.Rules = []config.Rule{{Match: "exact", Pattern: "long", Reply: config.Reply{Type: "text", Text: long}}}
	}})
	r := h.ask(testOpenID, "long", wechatsim.Safe)
	if len(r.Content) > chat.MaxTextBytes || !utf8.ValidString(r.Content) {
		t.Fatalf("reply of %d bytes", len(r.Content))
	}
}
