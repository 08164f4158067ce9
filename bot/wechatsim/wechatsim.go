// Package wechatsim plays WeChat's side of the message push: it writes
// messages and events as WeChat does, signs them, encrypts them in
// compatible and safe modes, and checks and decrypts the answers. `wxbot
// chat`, `wxbench` and the webhook's tests use it to talk to the webhook
// over real HTTP exactly as WeChat would.
package wechatsim

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"
)

// Mode is the message encryption mode of the account.
type Mode string

// The three modes of WeChat's admin page.
const (
	Plain  Mode = "plain"  // 明文模式
	Compat Mode = "compat" // 兼容模式: plaintext and ciphertext together
	Safe   Mode = "safe"   // 安全模式: ciphertext only
)

// ParseMode reads "plain", "compat" or "safe".
func ParseMode(s string) (Mode, error) {
	switch Mode(strings.ToLower(s)) {
	case Plain, "plaintext":
		return Plain, nil
	case Compat, "compatible":
		return Compat, nil
	case Safe, "aes":
		return Safe, nil
	}
	return "", fmt.Errorf("unknown mode %q: use plain, compat or safe", s)
}

// Account is the Official Account as WeChat knows it.
type Account struct {
	Token  string
	AppID  string
	AESKey string // EncodingAESKey; required for Compat and Safe
	// UserName is the account's original id (gh_…), the ToUserName of pushes.
	UserName string
}

// Push is a message ready to send: the query string and body.
type Push struct {
	Query string
	Body  []byte
	// Plain is the message before encryption.
	Plain []byte
	Mode  Mode
}

// Text writes a text message as WeChat pushes it.
func Text(from, to, content string, msgID, createTime int64) []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	cdata(&b, "ToUserName", to)
	cdata(&b, "FromUserName", from)
	fmt.Fprintf(&b, "<CreateTime>%d</CreateTime>", createTime)
	cdata(&b, "MsgType", "text")
	cdata(&b, "Content", content)
	fmt.Fprintf(&b, "<MsgId>%d</MsgId>", msgID)
	b.WriteString("</xml>")
	return b.Bytes()
}

// Event writes an event push (subscribe, SCAN, CLICK, VIEW, …). For a
// subscribe through a QR code pass key "qrscene_<scene>".
func Event(from, to, event, key string, createTime int64) []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	cdata(&b, "ToUserName", to)
	cdata(&b, "FromUserName", from)
	fmt.Fprintf(&b, "<CreateTime>%d</CreateTime>", createTime)
	cdata(&b, "MsgType", "event")
	cdata(&b, "Event", event)
	if key != "" || event == "subscribe" {
		cdata(&b, "EventKey", key)
	}
	if strings.HasPrefix(key, "qrscene_") || event == "SCAN" {
		cdata(&b, "Ticket", "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

func cdata(b *bytes.Buffer, name, val string) {
	b.WriteString("<" + name + "><![CDATA[")
	b.WriteString(strings.ReplaceAll(val, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]></" + name + ">")
}

// Nonce returns a random numeric nonce like WeChat's.
func Nonce() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(uint64(b[0])<<24|uint64(b[1])<<16|uint64(b[2])<<8|uint64(b[3]), 10)
}

// Seal prepares msg for sending in mode at time now.
func (a Account) Seal(msg []byte, mode Mode, now time.Time) (Push, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := Nonce()
	q := url.Values{}
	q.Set("signature", util.Signature(a.Token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	openid := openidOf(msg)
	if openid != "" {
		q.Set("openid", openid)
	}
	if mode == Plain || mode == "" {
		return Push{Query: q.Encode(), Body: msg, Plain: msg, Mode: Plain}, nil
	}
	if a.AESKey == "" {
		return Push{}, errors.New("wechatsim: compatible and safe modes need an EncodingAESKey")
	}
	var random [16]byte
	_, _ = rand.Read(random[:])
	r := []byte(hex.EncodeToString(random[:])[:16])
	enc, err := util.EncryptMsg(r, msg, a.AppID, a.AESKey)
	if err != nil {
		return Push{}, fmt.Errorf("wechatsim: encrypt: %w", err)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", util.Signature(a.Token, ts, nonce, string(enc)))
	var body bytes.Buffer
	body.WriteString("<xml>")
	cdata(&body, "ToUserName", toOf(msg))
	if mode == Compat {
		// Compatible mode repeats the message in plaintext beside Encrypt.
		inner := bytes.TrimSuffix(bytes.TrimPrefix(bytes.TrimSpace(msg), []byte("<xml>")), []byte("</xml>"))
		inner = dropElement(inner, "ToUserName")
		body.Write(inner)
	}
	cdata(&body, "Encrypt", string(enc))
	body.WriteString("</xml>")
	return Push{Query: q.Encode(), Body: body.Bytes(), Plain: msg, Mode: mode}, nil
}

func dropElement(b []byte, name string) []byte {
	start := bytes.Index(b, []byte("<"+name+">"))
	end := bytes.Index(b, []byte("</"+name+">"))
	if start < 0 || end < start {
		return b
	}
	return append(append([]byte(nil), b[:start]...), b[end+len(name)+3:]...)
}

func fieldOf(msg []byte, name string) string {
	var x struct {
		To   string `xml:"ToUserName"`
		From string `xml:"FromUserName"`
	}
	_ = xml.Unmarshal(msg, &x)
	if name == "to" {
		return x.To
	}
	return x.From
}

func openidOf(msg []byte) string { return fieldOf(msg, "from") }
func toOf(msg []byte) string     { return fieldOf(msg, "to") }

// Reply is a decoded answer of the webhook.
type Reply struct {
	Status int
	// Success is true for "success" or an empty body: nothing to show.
	Success bool
	// Encrypted is true when the answer came sealed (and its signature checked).
	Encrypted bool
	// Plain is the reply message XML.
	Plain   []byte
	MsgType string
	Content string
	// Articles of a news reply.
	Articles []message.Article
	MediaID  string
}

// Open checks and decodes an answer as WeChat would: an encrypted answer must
// carry a valid MsgSignature and decrypt to our AppID.
func (a Account) Open(status int, body []byte) (*Reply, error) {
	r := &Reply{Status: status}
	if status != http.StatusOK {
		return r, fmt.Errorf("wechatsim: HTTP %d: %s", status, strings.TrimSpace(string(body)))
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || string(trimmed) == "success" {
		r.Success = true
		return r, nil
	}
	var env struct {
		Encrypt      string `xml:"Encrypt"`
		MsgSignature string `xml:"MsgSignature"`
		TimeStamp    string `xml:"TimeStamp"`
		Nonce        string `xml:"Nonce"`
		MsgType      string `xml:"MsgType"`
	}
	if err := xml.Unmarshal(trimmed, &env); err != nil {
		return r, fmt.Errorf("wechatsim: answer is not XML: %w", err)
	}
	plain := trimmed
	if env.Encrypt != "" {
		want := util.Signature(a.Token, env.TimeStamp, env.Nonce, env.Encrypt)
		if subtle.ConstantTimeCompare([]byte(want), []byte(env.MsgSignature)) != 1 {
			return r, errors.New("wechatsim: answer's MsgSignature is wrong")
		}
		var err error
		_, plain, err = util.DecryptMsg(a.AppID, env.Encrypt, a.AESKey)
		if err != nil {
			return r, fmt.Errorf("wechatsim: answer does not decrypt: %w", err)
		}
		r.Encrypted = true
	}
	var m struct {
		MsgType  string            `xml:"MsgType"`
		Content  string            `xml:"Content"`
		Articles []message.Article `xml:"Articles>item"`
		MediaID  string            `xml:"Image>MediaId"`
	}
	if err := xml.Unmarshal(plain, &m); err != nil {
		return r, fmt.Errorf("wechatsim: reply is not XML: %w", err)
	}
	if m.MsgType == "" {
		return r, errors.New("wechatsim: reply has no MsgType")
	}
	r.Plain, r.MsgType, r.Content, r.Articles, r.MediaID = plain, m.MsgType, m.Content, m.Articles, m.MediaID
	return r, nil
}

// Send posts a push to the webhook at endpoint and decodes the answer.
func (a Account) Send(client *http.Client, endpoint string, p Push) (*Reply, error) {
	u := endpoint
	if strings.Contains(u, "?") {
		u += "&" + p.Query
	} else {
		u += "?" + p.Query
	}
	resp, err := client.Post(u, "text/xml", bytes.NewReader(p.Body))
	if err != nil {
		return nil, fmt.Errorf("wechatsim: post: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("wechatsim: read answer: %w", err)
	}
	return a.Open(resp.StatusCode, body)
}

// VerifyURL performs the URL check of WeChat's admin page and returns the
// echoed string.
func (a Account) VerifyURL(client *http.Client, endpoint, echostr string, now time.Time) (int, string, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := Nonce()
	q := url.Values{}
	q.Set("signature", util.Signature(a.Token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("echostr", echostr)
	resp, err := client.Get(endpoint + "?" + q.Encode())
	if err != nil {
		return 0, "", fmt.Errorf("wechatsim: verify: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body), nil
}
