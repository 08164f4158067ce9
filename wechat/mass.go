package wechat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/broadcast"
	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// MassSend is a mass send of a draft (msgtype mpnews).
type MassSend struct {
	MediaID string // the draft's media_id
	// ToAll sends to every follower; otherwise to the followers with TagID.
	ToAll             bool
	TagID             int
	SendIgnoreReprint bool
	// ClientMsgID (≤ MaxClientMsgID bytes) makes the send exactly-once:
	// WeChat refuses a second send with the same id for 24 h and answers
	// the original msg_id. With it, a lost answer is retried; without it,
	// never.
	ClientMsgID string
}

// MaxClientMsgID is the longest clientmsgid wxbot makes. WeChat documents
// 64 bytes, but developers report 45067 ("too long") for 34- and 36-byte
// ids (WECHAT.md §5): 32 is what is known to pass.
const MaxClientMsgID = 32

// MassResult is WeChat's answer to a mass send.
type MassResult struct {
	MsgID     int64
	MsgDataID int64
	// Duplicate is true when WeChat answered 45065: this clientmsgid was
	// already sent within 24 h. The send happened (once); MsgID is the
	// original's when WeChat includes it (0 otherwise).
	Duplicate bool
}

type massAnswer struct {
	MsgID     flexString `json:"msg_id"`
	MsgDataID flexString `json:"msg_data_id"`
}

// SendAll broadcasts a draft (message/mass/sendall, with clientmsgid, which
// the SDK lacks). 45065 is not an error: it returns the original msg_id
// with Duplicate set, so a retry after a crash or a lost answer is treated
// as already sent. 45066 (same clientmsgid retried too fast) is returned as
// an *APIError: try again a minute later with the same id.
func (c *Client) SendAll(ctx context.Context, s MassSend) (MassResult, error) {
	if s.MediaID == "" {
		return MassResult{}, errors.New("wechat: mass send: no media_id")
	}
	filter := map[string]any{"is_to_all": s.ToAll}
	if !s.ToAll {
		filter["tag_id"] = s.TagID
	}
	body := map[string]any{
		"filter":              filter,
		"mpnews":              map[string]string{"media_id": s.MediaID},
		"msgtype":             "mpnews",
		"send_ignore_reprint": boolInt(s.SendIgnoreReprint),
	}
	ep := epSendAllBare
	if s.ClientMsgID != "" {
		body["clientmsgid"] = s.ClientMsgID
		ep = epSendAll
	}
	var ans massAnswer
	err := c.postJSON(ctx, ep, body, &ans)
	res := MassResult{MsgID: parseInt(ans.MsgID), MsgDataID: parseInt(ans.MsgDataID)}
	if IsCode(err, CodeClientMsgIDUsed) {
		res.Duplicate = true
		c.log.Info("wechat: mass send already done for this clientmsgid",
			"clientmsgid", s.ClientMsgID, "msg_id", res.MsgID)
		return res, nil
	}
	if err != nil {
		return MassResult{}, fmt.Errorf("wechat: mass send draft %s: %w", s.MediaID, err)
	}
	return res, nil
}

// Preview sends a draft to one follower's phone (message/mass/preview).
// Each preview uses a fresh SDK broadcast object: Preview() sets a sticky
// flag on the object it is called on. Not retried after a lost answer.
func (c *Client) Preview(ctx context.Context, openID, mediaID string) (int64, error) {
	if openID == "" || mediaID == "" {
		return 0, errors.New("wechat: preview: openid and media_id are required")
	}
	var msgID int64
	err := c.sdkCall(ctx, epPreview, func() error {
		res, err := broadcast.NewBroadcast(c.sdk).Preview().
			SendNews(&broadcast.User{OpenID: []string{openID}}, mediaID, false)
		if res != nil {
			msgID = res.MsgID
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("wechat: preview draft %s to %s: %w", mediaID, openID, err)
	}
	return msgID, nil
}

// PreviewToWxName sends a draft to the phone of the user with this WeChat
// ID (微信号): message/mass/preview with towxname instead of touser, which
// also reaches a reviewer whose openid is not known. Not retried after a
// lost answer.
func (c *Client) PreviewToWxName(ctx context.Context, wxName, mediaID string) (int64, error) {
	if wxName == "" || mediaID == "" {
		return 0, errors.New("wechat: preview: towxname and media_id are required")
	}
	body := map[string]any{
		"towxname": wxName,
		"mpnews":   map[string]string{"media_id": mediaID},
		"msgtype":  "mpnews",
	}
	var ans massAnswer
	if err := c.postJSON(ctx, epPreview, body, &ans); err != nil {
		return 0, fmt.Errorf("wechat: preview draft %s to WeChat ID %s: %w", mediaID, wxName, err)
	}
	return parseInt(ans.MsgID), nil
}

// MassStatus returns the state of a mass send (message/mass/get):
// SEND_SUCCESS, SENDING, SEND_FAIL or DELETE.
func (c *Client) MassStatus(ctx context.Context, msgID int64) (string, error) {
	var status string
	err := c.sdkCall(ctx, epMassGet, func() error {
		res, err := broadcast.NewBroadcast(c.sdk).GetMassStatus(strconv.FormatInt(msgID, 10))
		if res != nil {
			status = res.MsgStatus
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("wechat: mass send %d status: %w", msgID, err)
	}
	return status, nil
}

// SendText sends a customer-service text message. WeChat allows it within
// 48 h of the follower's last message (45015 after that, 45047 past the
// quota). Not retried after a lost answer: the follower would read it twice.
func (c *Client) SendText(ctx context.Context, openID, text string) error {
	err := c.sdkCall(ctx, epCustomSend, func() error {
		return c.custom.Send(message.NewCustomerTextMessage(openID, text))
	})
	if err != nil {
		return fmt.Errorf("wechat: customer-service text to %s: %w", openID, err)
	}
	return nil
}

// SendNews sends cards to a follower as customer-service messages, in the
// shape WeChat takes: one card as a news message (which holds 1 article:
// 45008 beyond), several as one text message listing their titles and
// links (CustomerNews) — one message rather than one per card, since the
// customer-service quota is a few messages per window (WECHAT.md §6). Not
// retried after a lost answer: the follower would read it twice.
func (c *Client) SendNews(ctx context.Context, openID string, articles []NewsArticle) error {
	if len(articles) == 0 {
		return errors.New("wechat: customer-service news: no article")
	}
	card, text := CustomerNews(articles)
	if card == nil {
		if err := c.SendText(ctx, openID, text); err != nil {
			return fmt.Errorf("wechat: customer-service list of %d cards: %w", len(articles), err)
		}
		return nil
	}
	news := &message.MediaNews{Articles: []message.MediaArticles{{
		Title: card.Title, Description: card.Description, URL: card.URL, Picurl: card.PicURL,
	}}}
	msg := &message.CustomerMessage{ToUser: openID, Msgtype: message.MsgTypeNews, News: news}
	err := c.sdkCall(ctx, epCustomSend, func() error { return c.custom.Send(msg) })
	if err != nil {
		return fmt.Errorf("wechat: customer-service news to %s: %w", openID, err)
	}
	return nil
}

// MaxCustomerText is the longest customer-service text wxbot sends:
// clients cut texts past about 2,048 bytes (WECHAT.md §3).
const MaxCustomerText = 2048

// CustomerNews fits cards to customer-service rules: one card is sent as
// it is (card non-nil); several become a text listing "N. title" and the
// link of each, within MaxCustomerText, the cards that do not fit counted
// in a last line.
func CustomerNews(articles []NewsArticle) (card *NewsArticle, text string) {
	if len(articles) == 1 {
		a := articles[0]
		return &a, ""
	}
	more := func(n int) string { return fmt.Sprintf("\n\n… %d more", n) }
	var b strings.Builder
	for i, a := range articles {
		entry := fmt.Sprintf("%d. %s", i+1, a.Title)
		if a.URL != "" {
			entry += "\n" + a.URL
		}
		if i > 0 {
			entry = "\n\n" + entry
		}
		// Room is kept after each entry for the line counting the cards
		// that may not fit after it.
		after := len(articles) - i - 1
		reserve := 0
		if after > 0 {
			reserve = len(more(after))
		}
		if b.Len()+len(entry)+reserve > MaxCustomerText {
			if i == 0 {
				// One card longer than a message: its cut entry, then the count.
				b.WriteString(cutBytes(entry, MaxCustomerText-reserve))
				if after > 0 {
					b.WriteString(more(after))
				}
				break
			}
			b.WriteString(more(len(articles) - i))
			break
		}
		b.WriteString(entry)
	}
	return nil, b.String()
}

// cutBytes cuts s to at most n bytes on a rune boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func parseInt(f flexString) int64 {
	n, _ := strconv.ParseInt(string(f), 10, 64)
	return n
}
