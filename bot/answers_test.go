package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/bot/wechatsim"
)

// question is a message as the quick path sees it once opened.
func question(openid, text string, voice, json bool) *inbound {
	m := &message.MixMessage{}
	m.MsgType = message.MsgTypeText
	m.Content = text
	if voice {
		m.MsgType, m.Content, m.Recognition = message.MsgTypeVoice, "", text
	}
	m.FromUserName, m.ToUserName = message.CDATA(openid), testAccount
	m.CreateTime, m.MsgID = time.Now().Unix(), nextMsgID()
	return &inbound{msg: m, json: json}
}

// TestRememberedAnswerIsTheSame: an answer from memory is, byte for byte,
// the answer worked out afresh (payload, stored value, body, plan), for
// each format, language and message kind, and for another subscriber.
func TestRememberedAnswerIsTheSame(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	b := h.bot
	b.now = func() time.Time { return time.Unix(1700000000, 0) }
	ctx := context.Background()
	for _, text := range []string{"最新", "GDPR", "数据安全法", "帮助", "no such thing at all"} {
		for _, lang := range []string{"", langZH, langEN, langBoth} {
			for _, json := range []bool{false, true} {
				for _, voice := range []bool{false, true} {
					name := fmt.Sprintf("%s/%q/json=%v/voice=%v", text, lang, json, voice)
					first, second := question("oFirst", text, voice, json), question("oSecond", text, voice, json)
					p1, r1, ok := b.answerFor(ctx, first, lang)
					if !ok {
						t.Fatalf("%s: not a question", name)
					}
					p2, r2, ok := b.answerFor(ctx, second, lang)
					if !ok {
						t.Fatalf("%s: not a question the second time", name)
					}
					// What the second subscriber would get without the memory.
					fresh, ok := b.pureRoute(second, lang)
					if !ok {
						t.Fatal(name)
					}
					want := b.encode(ctx, &fresh, second, langByte(lang))
					if !bytes.Equal(r2.payload, want.payload) || !bytes.Equal(r2.value, want.value) ||
						!bytes.Equal(r2.body, want.body) || r2.digest != want.digest {
						t.Fatalf("%s: remembered answer differs:\n%s\n%s", name, r2.payload, want.payload)
					}
					if r1.digest != r2.digest || p1.rule != p2.rule || p2.rule != fresh.rule || !samePlan(p2, fresh) {
						t.Fatalf("%s: plans differ: %+v / %+v", name, p2, fresh)
					}
					if !bytes.Contains(r2.payload, []byte("oSecond")) {
						t.Fatalf("%s: not addressed to the second subscriber:\n%s", name, r2.payload)
					}
				}
			}
		}
	}
}

func samePlan(a, b plan) bool {
	if (a.session == nil) != (b.session == nil) || a.session != nil && *a.session != *b.session {
		return false
	}
	if (a.reply == nil) != (b.reply == nil) || a.reply != nil && a.reply.Kind != b.reply.Kind {
		return false
	}
	return a.rule == b.rule && a.pure() == b.pure()
}

// TestRememberedAnswersFollowTheArchive: a new issue is answered at once,
// over HTTP, by a replica that answered the same question before it.
func TestRememberedAnswersFollowTheArchive(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	for i := 0; i < 3; i++ {
		if r := h.ask(fmt.Sprintf("oArch%d", i), "最新", wechatsim.Safe); bytes.Contains(r.Plain, []byte("No.56")) {
			t.Fatalf("No.56 before it exists:\n%s", r.Plain)
		}
	}
	issues := append(testIssues(), oneItemIssue(56, "2021-07", "新的判决", "A new ruling", "法院作出判决。", "A court ruled."))
	if _, err := h.arch.Replace(context.Background(), issues); err != nil {
		t.Fatal(err)
	}
	if r := h.ask("oArchAfter", "最新", wechatsim.Safe); !bytes.Contains(r.Plain, []byte("No.56")) {
		t.Fatalf("the new issue is not the latest once the archive changed:\n%s", r.Plain)
	}
	// Withholding it (as the publisher does until the broadcast is sent)
	// is a change too.
	if err := h.arch.Withhold(context.Background(), 56, "not sent yet"); err != nil {
		t.Fatal(err)
	}
	if r := h.ask("oArchWithheld", "最新", wechatsim.Safe); bytes.Contains(r.Plain, []byte("No.56")) {
		t.Fatalf("a withheld issue is answered from memory:\n%s", r.Plain)
	}
}

// unannounced is an archive that does not announce its changes (no
// OnChange): the chat's search index then follows it a question late, in
// the background, as it does for any replica between an archive change and
// the end of the new index's build.
type unannounced struct{ a *archive.Archive }

func (u unannounced) Current() *archive.Snapshot { return u.a.Current() }

// TestNoAnswerKeptFromAnOldIndex: a search answered from the previous
// snapshot's index, while the new one is being built, is not kept: once the
// index has caught up, the same question finds the new issue.
func TestNoAnswerKeptFromAnOldIndex(t *testing.T) {
	h := newHarness(t, harnessOpt{archive: func(a *archive.Archive) Archive { return unannounced{a} }})
	const q = "格陵兰判决"
	if r := h.ask("oIdx0", q, wechatsim.Safe); bytes.Contains(r.Plain, []byte("No.57")) {
		t.Fatalf("No.57 before it exists:\n%s", r.Plain)
	}
	issues := append(testIssues(), oneItemIssue(57, "2021-08", "格陵兰判决", "The Greenland ruling", "格陵兰法院作出判决。", "A Greenland court ruled."))
	if _, err := h.arch.Replace(context.Background(), issues); err != nil {
		t.Fatal(err)
	}
	// Answered from the old index (and its rebuild started).
	h.ask("oIdx1", q, wechatsim.Safe)
	waitUntil(t, func() bool { ix := h.bot.chat.Loaded(); return ix != nil && ix.Snapshot() == h.arch.Current() })
	if r := h.ask("oIdx2", q, wechatsim.Safe); !bytes.Contains(r.Plain, []byte("No.57")) {
		t.Fatalf("the answer from the old index was kept:\n%s", r.Plain)
	}
}

type approversOnly map[string]bool

func (a approversOnly) IsApprover(openid string) bool { return a[openid] }
func (a approversOnly) Approve(context.Context, int, string) (ApprovalOutcome, error) {
	return ApprovalOutcome{}, errors.New("not in this test")
}
func (a approversOnly) Reject(context.Context, int, string, string) (ApprovalOutcome, error) {
	return ApprovalOutcome{}, errors.New("not in this test")
}

// TestApproverNeverGetsARememberedAnswer: the one answer that depends on
// who asks (an approver's 驳回 N without a reason) is neither taken from
// nor given to anybody else, in either order.
func TestApproverNeverGetsARememberedAnswer(t *testing.T) {
	h := newHarness(t, harnessOpt{approvals: approversOnly{"oPartner": true}})
	const text = "驳回 53"
	asApprover := func() {
		t.Helper()
		if r := h.ask("oPartner", text, wechatsim.Safe); !strings.Contains(r.Content, "请写明驳回理由") {
			t.Fatalf("approver got %q", r.Content)
		}
	}
	asSubscriber := func(u string) {
		t.Helper()
		if r := h.ask(u, text, wechatsim.Safe); strings.Contains(r.Content, "驳回理由") {
			t.Fatalf("subscriber %s got the approver's answer %q", u, r.Content)
		}
	}
	asSubscriber("oClient1")
	asSubscriber("oClient2")
	asApprover()
	asApprover()
	asSubscriber("oClient3")
}

// TestAnswersBounded: hostile traffic of distinct words does not grow the
// memory past maxAnswers, and long texts are not kept.
func TestAnswersBounded(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	ctx := context.Background()
	for i := 0; i < maxAnswers+300; i++ {
		if _, _, ok := h.bot.answerFor(ctx, question("oHostile", fmt.Sprintf("word%d", i), false, false), ""); !ok {
			t.Fatal("not a question")
		}
	}
	long := strings.Repeat("长", maxAnswerText)
	if _, _, ok := h.bot.answerFor(ctx, question("oHostile", long, false, false), ""); !ok {
		t.Fatal("not a question")
	}
	h.bot.answers.mu.RLock()
	defer h.bot.answers.mu.RUnlock()
	if n := len(h.bot.answers.m); n > maxAnswers || n == 0 {
		t.Fatalf("%d answers kept, want 1…%d", n, maxAnswers)
	}
	for k := range h.bot.answers.m {
		if len(k.text) > maxAnswerText {
			t.Fatalf("a %d-byte text was kept", len(k.text))
		}
	}
}
