package chat

import (
	"strconv"

	"github.com/lifang/wxbot/wechat"
)

// Message is what the chat reads of a push: who sent it and what they
// wrote or did. The webhook (package bot) makes it from WeChat's XML or
// JSON; the chat never sees the wire format.
type Message struct {
	Kind Kind
	From string // the subscriber's openid
	// Text is what was typed (Text), or WeChat's recognition of a voice
	// message (Voice; "" when it recognised nothing).
	Text string
	// Key is the menu key of a Click.
	Key string
	// Scene is the QR campaign of a Follow ("" when not through a
	// parametric code) or of a Scan.
	Scene string
}

// Kind is what a Message is.
type Kind uint8

const (
	Unsupported      Kind = iota // an image, video, link, location, file …
	Text                         // Text
	Voice                        // Text: the recognition
	Follow                       // subscribe; Scene
	Scan                         // a follower scanned a campaign code; Scene
	Unfollow                     // unsubscribe
	Click                        // a menu click; Key
	MassSendFinished             // MASSSENDJOBFINISH: the webhook's (bot/events.go)
	PublishFinished              // PUBLISHJOBFINISH: the webhook's
	OtherEvent                   // VIEW, LOCATION, template reports, events this version does not know
)

// Reply is what the account answers a message with.
type Reply struct {
	Kind     ReplyKind
	Text     string               // TextReply
	Articles []wechat.NewsArticle // NewsReply: the cards
	MediaID  string               // ImageReply: a permanent image's media_id
}

// ReplyKind is what a Reply holds.
type ReplyKind uint8

const (
	TextReply ReplyKind = iota + 1
	NewsReply
	ImageReply
)

var replyKindNames = [...]string{"", "text", "news", "image"}

// String is WeChat's MsgType for the reply (also the metrics label).
func (k ReplyKind) String() string {
	if int(k) < len(replyKindNames) && k != 0 {
		return replyKindNames[k]
	}
	return "reply" + strconv.Itoa(int(k))
}
