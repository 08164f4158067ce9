package bot

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/chat"
)

// WeChat's pushes are flat XML documents: <xml> and one level of elements
// whose text is usually CDATA. encoding/xml reads them into the SDK's
// MixMessage by reflection over its ~100 fields, which dominates the cost of
// a request. scanFlat reads that common shape directly; anything it does not
// recognise exactly (an unknown or nested element, an entity, a CR, a
// declaration, attributes) goes to encoding/xml, which stays the authority.
// FuzzParseMessage checks that both agree wherever the fast path answers.

// fastField maps the element names the fast path fills to MixMessage fields.
// An element outside this list sends the document to encoding/xml, so the
// fast path never leaves a field empty that encoding/xml would have filled.
func setFastField(m *message.MixMessage, name, val []byte) bool {
	switch string(name) {
	case "ToUserName":
		m.ToUserName = message.CDATA(val)
	case "FromUserName":
		m.FromUserName = message.CDATA(val)
	case "CreateTime":
		return setInt(&m.CreateTime, val)
	case "MsgType":
		m.MsgType = message.MsgType(val)
	case "MsgId":
		return setInt(&m.MsgID, val)
	case "MsgID":
		return setInt(&m.TemplateMsgID, val)
	case "Content":
		m.Content = string(val)
	case "Recognition":
		m.Recognition = string(val)
	case "PicUrl":
		m.PicURL = string(val)
	case "MediaId":
		m.MediaID = string(val)
	case "Format":
		m.Format = string(val)
	case "ThumbMediaId":
		m.ThumbMediaID = string(val)
	case "Title":
		m.Title = string(val)
	case "Description":
		m.Description = string(val)
	case "Url":
		m.URL = string(val)
	case "Event":
		m.Event = message.EventType(val)
	case "EventKey":
		m.EventKey = string(val)
	case "Ticket":
		m.Ticket = string(val)
	case "MenuId":
		m.MenuID = string(val)
	case "Status":
		m.Status = string(val)
	case "TotalCount":
		return setInt(&m.TotalCount, val)
	case "FilterCount":
		return setInt(&m.FilterCount, val)
	case "SentCount":
		return setInt(&m.SentCount, val)
	case "ErrorCount":
		return setInt(&m.ErrorCount, val)
	default:
		return false
	}
	return true
}

// setInt parses like encoding/xml (surrounding spaces allowed, empty is 0);
// anything unusual declines the fast path rather than guessing.
func setInt(dst *int64, val []byte) bool {
	val = bytes.Trim(val, " \t\n")
	if len(val) == 0 {
		*dst = 0
		return true
	}
	n, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil {
		return false
	}
	*dst = n
	return true
}

var (
	cdataOpen  = []byte("<![CDATA[")
	cdataClose = []byte("]]>")
)

// scanFlat walks <xml><Name>value</Name>…</xml> and calls visit for each
// element. It returns false as soon as the document is not of that shape
// or visit declines an element.
func scanFlat(data []byte, visit func(name, val []byte) bool) bool {
	p := skipSpace(data, 0)
	if !bytes.HasPrefix(data[p:], []byte("<xml>")) {
		return false
	}
	p += len("<xml>")
	for {
		p = skipSpace(data, p)
		if p >= len(data) || data[p] != '<' {
			return false
		}
		if bytes.HasPrefix(data[p:], []byte("</xml>")) {
			p = skipSpace(data, p+len("</xml>"))
			return p == len(data)
		}
		// Start tag: a plain name, no attributes, not self-closing.
		end := bytes.IndexByte(data[p+1:], '>')
		if end <= 0 {
			return false
		}
		name := data[p+1 : p+1+end]
		if !plainName(name) {
			return false
		}
		p += end + 2
		var val []byte
		if bytes.HasPrefix(data[p:], cdataOpen) {
			start := p + len(cdataOpen)
			stop := bytes.Index(data[start:], cdataClose)
			if stop < 0 {
				return false
			}
			val = data[start : start+stop]
			p = start + stop + len(cdataClose)
		} else {
			stop := bytes.IndexByte(data[p:], '<')
			if stop < 0 {
				return false
			}
			val = data[p : p+stop]
			if bytes.IndexByte(val, '&') >= 0 || bytes.Contains(val, cdataClose) {
				return false
			}
			p += stop
		}
		if !plainText(val) {
			return false
		}
		// End tag must close this element right here.
		if len(data) < p+3+len(name) || data[p] != '<' || data[p+1] != '/' ||
			!bytes.Equal(data[p+2:p+2+len(name)], name) || data[p+2+len(name)] != '>' {
			return false
		}
		p += 3 + len(name)
		if !visit(name, val) {
			return false
		}
	}
}

func skipSpace(b []byte, p int) int {
	for p < len(b) && (b[p] == ' ' || b[p] == '\n' || b[p] == '\t') {
		p++
	}
	return p
}

func plainName(n []byte) bool {
	for i, c := range n {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9'):
		default:
			return false
		}
	}
	return len(n) > 0
}

// plainText accepts valid UTF-8 made of XML characters, without CR (which
// encoding/xml would normalise) — the fast path copies bytes as they are.
func plainText(v []byte) bool {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += size
	}
	return true
}

// isJSON reports whether a body is JSON: WeChat's newer push settings offer
// JSON as the data format (the official safe-mode test vector is one).
func isJSON(body []byte) bool {
	p := skipSpace(body, 0)
	return p < len(body) && body[p] == '{'
}

// parseMessage reads a plaintext push into the SDK's MixMessage.
func parseMessage(body []byte) (*message.MixMessage, error) {
	m := &message.MixMessage{}
	if isJSON(body) {
		return parseJSONMessage(body)
	}
	if scanFlat(body, func(name, val []byte) bool { return setFastField(m, name, val) }) {
		return m, nil
	}
	*m = message.MixMessage{}
	if err := xml.Unmarshal(body, m); err != nil {
		return nil, malformed("parse message", err)
	}
	return m, nil
}

// malformed wraps a decoder's error as errMalformed without its text:
// encoding/xml and encoding/json quote what they could not read (an element
// name, a value that is not a number), which is message content and must
// not reach the log. Only the kind of error and its position remain.
func malformed(op string, err error) error {
	var (
		xmlSyntax  *xml.SyntaxError
		jsonSyntax *json.SyntaxError
		jsonType   *json.UnmarshalTypeError
		number     *strconv.NumError
	)
	what := "not a WeChat message"
	switch {
	case errors.As(err, &xmlSyntax):
		what = "XML syntax error on line " + strconv.Itoa(xmlSyntax.Line)
	case errors.As(err, &jsonSyntax):
		what = "JSON syntax error at offset " + strconv.FormatInt(jsonSyntax.Offset, 10)
	case errors.As(err, &jsonType):
		what = "a JSON value of the wrong type at offset " + strconv.FormatInt(jsonType.Offset, 10)
	case errors.As(err, &number):
		what = "a number field that is not a number"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		what = "unexpected end of input"
	}
	return fmt.Errorf("%s: %w: %s", op, errMalformed, what)
}

// envelope is the outer body in compatible and safe modes.
type envelope struct {
	// Encrypt is the base64 ciphertext; from the fast path, a slice of the
	// body.
	Encrypt []byte
	// Plain is true when the body also carries the message in plaintext
	// (compatible mode). The plaintext copy is ignored: only the encrypted,
	// signed one is trusted.
	Plain bool
	JSON  bool
}

// errNoEncrypt: the body of an encrypt_type=aes push has no Encrypt
// element — a plaintext body under an encrypted push's query.
var errNoEncrypt = fmt.Errorf("parse envelope: %w: no Encrypt element", errMalformed)

func parseEnvelope(body []byte) (envelope, error) {
	var env envelope
	if isJSON(body) {
		var j struct {
			Encrypt string `json:"Encrypt"`
			MsgType string `json:"MsgType"`
		}
		if err := json.Unmarshal(body, &j); err != nil {
			return env, malformed("parse envelope", err)
		}
		env = envelope{Encrypt: []byte(j.Encrypt), Plain: j.MsgType != "", JSON: true}
	} else {
		ok := scanFlat(body, func(name, val []byte) bool {
			switch string(name) {
			case "Encrypt":
				env.Encrypt = val
			case "MsgType":
				env.Plain = true
			}
			return true
		})
		if !ok {
			var x struct {
				XMLName struct{} `xml:"xml"`
				Encrypt string   `xml:"Encrypt"`
				MsgType string   `xml:"MsgType"`
			}
			if err := xml.Unmarshal(body, &x); err != nil {
				return env, malformed("parse envelope", err)
			}
			env = envelope{Encrypt: []byte(x.Encrypt), Plain: x.MsgType != ""}
		}
	}
	if len(env.Encrypt) == 0 {
		return env, errNoEncrypt
	}
	return env, nil
}

// appendCDATA writes s as CDATA. "]]>" inside is split across two sections
// and characters XML cannot carry become U+FFFD, so any text is safe to send.
func appendCDATA(dst []byte, s string) []byte {
	dst = append(dst, cdataOpen...)
	for i := 0; i < len(s); {
		c := s[i]
		if c == ']' && len(s) >= i+3 && s[i+1] == ']' && s[i+2] == '>' {
			dst = append(dst, "]]]]><![CDATA[>"...)
			i += 3
			continue
		}
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, cdataClose...)
}

func appendElem(dst []byte, name, val string) []byte {
	dst = append(dst, '<')
	dst = append(dst, name...)
	dst = append(dst, '>')
	dst = appendCDATA(dst, val)
	dst = append(dst, "</"...)
	dst = append(dst, name...)
	return append(dst, '>')
}

func appendIntElem(dst []byte, name string, v int64) []byte {
	dst = append(dst, '<')
	dst = append(dst, name...)
	dst = append(dst, '>')
	dst = strconv.AppendInt(dst, v, 10)
	dst = append(dst, "</"...)
	dst = append(dst, name...)
	return append(dst, '>')
}

// appendReplyXML writes a passive reply addressed from the account (from)
// to the subscriber (to). It writes what the SDK's xml.Marshal of its reply
// types would, without reflection.
func appendReplyXML(dst []byte, r *chat.Reply, to, from string, now int64) ([]byte, error) {
	dst = append(dst, "<xml>"...)
	dst = appendElem(dst, "ToUserName", to)
	dst = appendElem(dst, "FromUserName", from)
	dst = appendIntElem(dst, "CreateTime", now)
	dst = appendElem(dst, "MsgType", r.Kind.String())
	switch r.Kind {
	case chat.TextReply:
		dst = appendElem(dst, "Content", r.Text)
	case chat.ImageReply:
		dst = append(dst, "<Image>"...)
		dst = appendElem(dst, "MediaId", r.MediaID)
		dst = append(dst, "</Image>"...)
	case chat.NewsReply:
		dst = appendIntElem(dst, "ArticleCount", int64(len(r.Articles)))
		dst = append(dst, "<Articles>"...)
		for _, a := range r.Articles {
			dst = append(dst, "<item>"...)
			dst = appendElem(dst, "Title", a.Title)
			dst = appendElem(dst, "Description", a.Description)
			dst = appendElem(dst, "PicUrl", a.PicURL)
			dst = appendElem(dst, "Url", a.URL)
			dst = append(dst, "</item>"...)
		}
		dst = append(dst, "</Articles>"...)
	default:
		return nil, fmt.Errorf("encode reply: unsupported reply %s", r.Kind)
	}
	return append(dst, "</xml>"...), nil
}

// appendReplyJSON writes a reply for a JSON-format push.
func appendReplyJSON(dst []byte, r *chat.Reply, to, from string, now int64) ([]byte, error) {
	type article struct {
		Title       string `json:"Title"`
		Description string `json:"Description"`
		PicURL      string `json:"PicUrl"`
		URL         string `json:"Url"`
	}
	out := struct {
		ToUserName   string    `json:"ToUserName"`
		FromUserName string    `json:"FromUserName"`
		CreateTime   int64     `json:"CreateTime"`
		MsgType      string    `json:"MsgType"`
		Content      string    `json:"Content,omitempty"`
		Image        any       `json:"Image,omitempty"`
		ArticleCount int       `json:"ArticleCount,omitempty"`
		Articles     []article `json:"Articles,omitempty"`
	}{ToUserName: to, FromUserName: from, CreateTime: now, MsgType: r.Kind.String()}
	switch r.Kind {
	case chat.TextReply:
		out.Content = r.Text
	case chat.ImageReply:
		out.Image = map[string]string{"MediaId": r.MediaID}
	case chat.NewsReply:
		out.ArticleCount = len(r.Articles)
		for _, a := range r.Articles {
			out.Articles = append(out.Articles, article{a.Title, a.Description, a.PicURL, a.URL})
		}
	default:
		return nil, fmt.Errorf("encode reply: unsupported reply %s", r.Kind)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode reply: %w", err)
	}
	return append(dst, b...), nil
}

// appendXMLEnvelopeTail ends the safe-mode envelope whose Encrypt CDATA
// section (base64: nothing in it to escape) has been written into dst.
func appendXMLEnvelopeTail(dst, sig []byte, ts, nonce string) []byte {
	dst = append(dst, "]]></Encrypt><MsgSignature><![CDATA["...)
	dst = append(dst, sig...) // hex
	dst = append(dst, "]]></MsgSignature><TimeStamp>"...)
	dst = append(dst, ts...)
	dst = append(dst, "</TimeStamp><Nonce>"...)
	dst = appendCDATA(dst, nonce)
	return append(dst, "</Nonce></xml>"...)
}

func appendJSONEnvelope(dst, enc []byte, sig, ts, nonce string) []byte {
	t, _ := strconv.ParseInt(ts, 10, 64)
	b, _ := json.Marshal(struct {
		Encrypt      string `json:"Encrypt"`
		MsgSignature string `json:"MsgSignature"`
		TimeStamp    int64  `json:"TimeStamp"`
		Nonce        string `json:"Nonce"`
	}{string(enc), sig, t, nonce})
	return append(dst, b...)
}
