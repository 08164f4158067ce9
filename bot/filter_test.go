package bot

import (
	"strings"
	"testing"

	"github.com/lifang/wxbot/bot/wechatsim"
)

// WeChat's emoji in a query are not searched for, and an insult is never
// quoted back: over the real webhook.
func TestChatEmojiAndBlockedWords(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	plain := h.ask(testOpenID, "人脸识别", wechatsim.Safe).Content
	if !strings.Contains(plain, "“人脸识别”：共") {
		t.Fatalf("search for 人脸识别:\n%s", plain)
	}
	for _, q := range []string{"人脸识别/:hug", "/::)人脸识别", "[微笑]人脸识别[捂脸]", "人脸识别 /:8-)"} {
		if got := h.ask(testOpenID, q, wechatsim.Safe).Content; got != plain {
			t.Errorf("%q answered\n%s\nnot as 人脸识别:\n%s", q, got, plain)
		}
	}
	for _, q := range []string{"/::)", "/:8-)", "[微笑]", "/:hug [Smile]"} {
		contains(t, h.ask(testOpenID, q, wechatsim.Safe).Content, "您可以回复")
	}
	if got := h.ask(testOpenID, "最新[微笑]", wechatsim.Safe).Content; !strings.Contains(got, "No.54") {
		t.Errorf("最新[微笑]:\n%s", got)
	}

	// Nothing found for an insult: the help text, not the insult.
	for q, want := range map[string]string{"傻逼": "您可以回复", "你个傻逼机器人": "您可以回复", "fuck you": "You can reply"} {
		got := h.ask(testOpenID, q, wechatsim.Safe).Content
		if !strings.Contains(got, want) || strings.Contains(got, "傻逼") || strings.Contains(strings.ToLower(got), "fuck") {
			t.Errorf("%q answered:\n%s", q, got)
		}
	}
	// An insult beside a real keyword finds results, not quoting the query.
	got := h.ask(testOpenID, "傻逼 人脸识别", wechatsim.Safe).Content
	if strings.Contains(got, "傻逼") || !strings.Contains(got, "共") {
		t.Errorf("傻逼 人脸识别 answered:\n%s", got)
	}
	// Other queries that find nothing are still quoted.
	contains(t, h.ask(testOpenID, "区块链", wechatsim.Safe).Content, "没有找到与“区块链”相关的内容")
}

// bot.blocked_words replaces the default list.
func TestChatBlockedWordsConfigured(t *testing.T) {
	h := newHarness(t, harnessOpt{env: map[string]string{"WXBOT_BOT_BLOCKED_WORDS": "区块链, crypto"}})
	contains(t, h.ask(testOpenID, "区块链", wechatsim.Safe).Content, "您可以回复")
	contains(t, h.ask(testOpenID, "crypto scam", wechatsim.Safe).Content, "You can reply")
	contains(t, h.ask(testOpenID, "傻逼", wechatsim.Safe).Content, "没有找到与“傻逼”") // the default list is replaced
}
