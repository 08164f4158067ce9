package wechat_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// Several cards (a late archive reply holds up to 8) reach the follower as
// one valid customer-service message — the sandbox, like WeChat, answers
// 45008 to a news message of more than 1 article — and one card still
// goes as a news card.
func TestSendNewsFitsCustomerServiceRules(t *testing.T) {
	e := setup(t, sandbox.Options{Followers: []string{"oFollower1"}})
	ctx := ctxT(t)
	cards := make([]wechat.NewsArticle, 8)
	for i := range cards {
		cards[i] = wechat.NewsArticle{Title: fmt.Sprintf("网络安全周报 No.%d", 50+i), URL: fmt.Sprintf("https://mp.weixin.qq.com/s/no%d", 50+i), Description: "本期"}
	}
	if err := e.api.SendNews(ctx, "oFollower1", cards); err != nil {
		t.Fatalf("8 cards: %v", err)
	}
	if err := e.api.SendNews(ctx, "oFollower1", cards[:1]); err != nil {
		t.Fatalf("1 card: %v", err)
	}
	msgs := e.sb.Snapshot().Customs
	if len(msgs) != 2 {
		t.Fatalf("%d customer-service messages, want 2: %+v", len(msgs), msgs)
	}
	list := msgs[0]
	if list.MsgType != "text" {
		t.Fatalf("8 cards went as %s", list.MsgType)
	}
	for i, c := range cards {
		if !strings.Contains(list.Text, fmt.Sprintf("%d. %s\n%s", i+1, c.Title, c.URL)) {
			t.Errorf("the list lacks card %d:\n%s", i+1, list.Text)
		}
	}
	if card := msgs[1]; card.MsgType != "news" || card.Title != cards[0].Title || card.URL != cards[0].URL {
		t.Fatalf("1 card went as %+v", card)
	}
}

// A list longer than a text message keeps whole entries within 2,048
// bytes and counts the cards left out.
func TestCustomerNewsLongList(t *testing.T) {
	cards := make([]wechat.NewsArticle, 40)
	for i := range cards {
		cards[i] = wechat.NewsArticle{Title: strings.Repeat("长", 20) + fmt.Sprint(i+1), URL: "https://mp.weixin.qq.com/s/" + strings.Repeat("x", 40)}
	}
	card, text := wechat.CustomerNews(cards)
	if card != nil || len(text) > wechat.MaxCustomerText || !utf8.ValidString(text) {
		t.Fatalf("card %v, %d bytes", card, len(text))
	}
	shown := strings.Count(text, "https://")
	if shown < 10 || !strings.HasSuffix(text, fmt.Sprintf("… %d more", len(cards)-shown)) {
		t.Fatalf("%d shown, text ends %q", shown, text[max(0, len(text)-40):])
	}
	one := []wechat.NewsArticle{{Title: strings.Repeat("长", 1000), URL: "https://a"}, {Title: "b"}}
	if _, text := wechat.CustomerNews(one); len(text) > wechat.MaxCustomerText || !utf8.ValidString(text) || !strings.HasSuffix(text, "… 1 more") {
		t.Fatalf("an oversized first card: %d bytes, ends %q", len(text), text[max(0, len(text)-20):])
	}
}
