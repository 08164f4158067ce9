package bot

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/chat"
	"github.com/lifang/wxbot/wechat"
)

// seedMessages are pushes of several shapes: the fast path's and the ones it
// must hand to encoding/xml.
var seedMessages = []string{
	string(wechatsim.Text("oUser", "gh_1", "最新", 1234567890123456, 1714112445)),
	string(wechatsim.Event("oUser", "gh_1", "subscribe", "qrscene_expo", 1714112445)),
	"<xml>\n  <ToUserName><![CDATA[gh_1]]></ToUserName>\n  <FromUserName><![CDATA[o]]></FromUserName>\n  <CreateTime> 12 </CreateTime>\n  <MsgType>text</MsgType>\n  <Content>a &amp; b</Content>\n  <MsgId>7</MsgId>\n</xml>",
	"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[location]]></MsgType><Location_X>23.1</Location_X><Location_Y>113.3</Location_Y><Scale>20</Scale><Label><![CDATA[x]]></Label><MsgId>9</MsgId></xml>",
	"<xml><FromUserName><![CDATA[o]]></FromUserName><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>",
	"<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><Event>CLICK</Event><EventKey/></xml>",
	"<xml><FromUserName>o</FromUserName><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>",
	"<?xml version=\"1.0\"?><xml><FromUserName>o</FromUserName></xml>",
	"<xml><FromUserName>o\r\nx</FromUserName></xml>",
	"<xml><FromUserName>o</FromUserName></xml> trailing",
	"<xml><CreateTime>nope</CreateTime></xml>",
	"<xml><Content><![CDATA[unterminated</Content></xml>",
	"<xml><a>1</b></xml>",
	"<notxml><FromUserName>o</FromUserName></notxml>",
	"",
	"\xff\xfe<xml/>",
}

// FuzzParseMessage checks the fast path against encoding/xml: where the fast
// path accepts a document, encoding/xml must read the very same message.
func FuzzParseMessage(f *testing.F) {
	for _, s := range seedMessages {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast := &message.MixMessage{}
		ok := scanFlat(data, func(name, val []byte) bool { return setFastField(fast, name, val) })
		if !ok {
			// Not the simple shape: parseMessage must still not panic.
			_, _ = parseMessage(data)
			return
		}
		slow := &message.MixMessage{}
		if err := xml.Unmarshal(data, slow); err != nil {
			t.Fatalf("fast path accepted what encoding/xml refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast and encoding/xml differ on %q:\nfast %+v\nslow %+v", data, fast, slow)
		}
	})
}

func TestParseMessageShapes(t *testing.T) {
	for i, s := range seedMessages {
		m, err := parseMessage([]byte(s))
		slow := &message.MixMessage{}
		slowErr := xml.Unmarshal([]byte(s), slow)
		if (err == nil) != (slowErr == nil) {
			t.Errorf("seed %d: parseMessage err=%v, encoding/xml err=%v", i, err, slowErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(m, slow) {
			t.Errorf("seed %d differs:\n%+v\n%+v", i, m, slow)
		}
	}
}

// The hand-written reply encoder must produce what the SDK's types decode to.
func TestReplyEncoding(t *testing.T) {
	text := &chat.Reply{Kind: chat.TextReply, Text: "a ]]> b <c> & \x01 中文"}
	card := wechat.NewsArticle{Title: "No.54 周报", Description: "desc & more", PicURL: "https://x/p.png", URL: "https://mp.weixin.qq.com/s/a?b=1&c=2"}
	news := &chat.Reply{Kind: chat.NewsReply, Articles: []wechat.NewsArticle{card}}
	img := &chat.Reply{Kind: chat.ImageReply, MediaID: "MEDIA_1"}
	for _, r := range []*chat.Reply{text, news, img} {
		out, err := appendReplyXML(nil, r, "oUser", "gh_1", 1714112445)
		if err != nil {
			t.Fatal(err)
		}
		switch r.Kind {
		case chat.TextReply:
			var got message.Text
			if err := xml.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if string(got.Content) != "a ]]> b <c> & \uFFFD 中文" || got.ToUserName != "oUser" || got.FromUserName != "gh_1" ||
				got.CreateTime != 1714112445 || got.MsgType != "text" {
				t.Fatalf("text decoded as %+v", got)
			}
		case chat.NewsReply:
			var got message.News
			if err := xml.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			want := message.NewArticle(card.Title, card.Description, card.PicURL, card.URL)
			if got.ArticleCount != 1 || got.MsgType != "news" || !reflect.DeepEqual(*got.Articles[0], *want) {
				t.Fatalf("news decoded as %+v %+v", got, got.Articles)
			}
		case chat.ImageReply:
			var got message.Image
			if err := xml.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if got.Image.MediaID != "MEDIA_1" || got.MsgType != "image" {
				t.Fatalf("image decoded as %+v", got)
			}
		}
	}
	if !strings.HasPrefix(mustReply(t, text), "<xml><ToUserName><![CDATA[oUser]]></ToUserName>") {
		t.Fatal("unexpected layout")
	}
}

func mustReply(t *testing.T, r *chat.Reply) string {
	out, err := appendReplyXML(nil, r, "oUser", "gh_1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
