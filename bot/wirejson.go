package bot

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/silenceper/wechat/v2/officialaccount/freepublish"
	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// JSON-format pushes ("数据格式: JSON" on the platform's server settings
// page) carry the same fields as the XML ones under the same names — the
// official safe-mode test vector is one. The SDK's MixMessage has XML tags
// only, so encoding/json would match its Go field names instead: close for
// MsgId or PicUrl (case-insensitively), wrong for PublishEventInfo's
// publish_id, article_detail… and Location_X. jsonPush names every field
// wxbot reads as WeChat spells it; toMix makes the same MixMessage the XML
// decoder makes (FuzzXMLvsJSON checks it).
type jsonPush struct {
	ToUserName   string  `json:"ToUserName"`
	FromUserName string  `json:"FromUserName"`
	CreateTime   jsonInt `json:"CreateTime"`
	MsgType      string  `json:"MsgType"`
	// MsgId of messages; MsgID of MASSSENDJOBFINISH (and template sends).
	MsgId        jsonInt  `json:"MsgId"`
	MsgID        jsonInt  `json:"MsgID"`
	Content      string   `json:"Content"`
	Recognition  string   `json:"Recognition"`
	PicURL       string   `json:"PicUrl"`
	MediaID      string   `json:"MediaId"`
	Format       string   `json:"Format"`
	ThumbMediaID string   `json:"ThumbMediaId"`
	LocationX    jsonReal `json:"Location_X"`
	LocationY    jsonReal `json:"Location_Y"`
	Scale        jsonReal `json:"Scale"`
	Label        string   `json:"Label"`
	Title        string   `json:"Title"`
	Description  string   `json:"Description"`
	URL          string   `json:"Url"`
	Event        string   `json:"Event"`
	EventKey     string   `json:"EventKey"`
	Ticket       string   `json:"Ticket"`
	MenuID       string   `json:"MenuId"`
	Status       string   `json:"Status"`
	TotalCount   jsonInt  `json:"TotalCount"`
	FilterCount  jsonInt  `json:"FilterCount"`
	SentCount    jsonInt  `json:"SentCount"`
	ErrorCount   jsonInt  `json:"ErrorCount"`

	PublishEventInfo struct {
		PublishID     jsonInt `json:"publish_id"`
		PublishStatus jsonInt `json:"publish_status"`
		ArticleID     string  `json:"article_id"`
		ArticleDetail struct {
			Count jsonInt `json:"count"`
			Item  jsonList[struct {
				Idx        jsonInt `json:"idx"`
				ArticleURL string  `json:"article_url"`
			}] `json:"item"`
		} `json:"article_detail"`
		FailIdx jsonList[jsonInt] `json:"fail_idx"`
	} `json:"PublishEventInfo"`
}

// parseJSONMessage reads a JSON-format plaintext push.
func parseJSONMessage(body []byte) (*message.MixMessage, error) {
	var j jsonPush
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, malformed("parse message", err)
	}
	return j.toMix(), nil
}

func (j *jsonPush) toMix() *message.MixMessage {
	m := &message.MixMessage{}
	m.ToUserName = message.CDATA(j.ToUserName)
	m.FromUserName = message.CDATA(j.FromUserName)
	m.CreateTime = int64(j.CreateTime)
	m.MsgType = message.MsgType(j.MsgType)
	m.MsgID = int64(j.MsgId)
	m.TemplateMsgID = int64(j.MsgID)
	m.Content = j.Content
	m.Recognition = j.Recognition
	m.PicURL = j.PicURL
	m.MediaID = j.MediaID
	m.Format = j.Format
	m.ThumbMediaID = j.ThumbMediaID
	m.LocationX, m.LocationY, m.Scale = float64(j.LocationX), float64(j.LocationY), float64(j.Scale)
	m.Label = j.Label
	m.Title = j.Title
	m.Description = j.Description
	m.URL = j.URL
	m.Event = message.EventType(j.Event)
	m.EventKey = j.EventKey
	m.Ticket = j.Ticket
	m.MenuID = j.MenuID
	m.Status = j.Status
	m.TotalCount, m.FilterCount = int64(j.TotalCount), int64(j.FilterCount)
	m.SentCount, m.ErrorCount = int64(j.SentCount), int64(j.ErrorCount)

	p := &m.PublishEventInfo
	jp := j.PublishEventInfo
	p.PublishID = int64(jp.PublishID)
	p.PublishStatus = freepublish.PublishStatus(jp.PublishStatus)
	p.ArticleID = jp.ArticleID
	p.ArticleDetail.Count = uint(jp.ArticleDetail.Count)
	for _, it := range jp.ArticleDetail.Item {
		p.ArticleDetail.Item = append(p.ArticleDetail.Item, struct {
			Index      uint   `xml:"idx"`
			ArticleURL string `xml:"article_url"`
		}{Index: uint(it.Idx), ArticleURL: it.ArticleURL})
	}
	for _, i := range jp.FailIdx {
		p.FailIndex = append(p.FailIndex, uint(i))
	}
	return m
}

// jsonInt is a JSON integer, also accepted as a string of digits (WeChat
// quotes some ids: publish_id, MsgId past 2^53 in some SDKs' samples).
type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	s, err := numberText(b)
	if err != nil || s == "" {
		return err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// strconv's error; malformed() reports it without the value.
		return err
	}
	*n = jsonInt(v)
	return nil
}

// jsonReal is a JSON number, also accepted as a numeric string.
type jsonReal float64

func (f *jsonReal) UnmarshalJSON(b []byte) error {
	s, err := numberText(b)
	if err != nil || s == "" {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*f = jsonReal(v)
	return nil
}

// numberText is a JSON number's text, unquoted when WeChat sent it as a
// string; "" for null or an empty string (the field keeps its zero).
func numberText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return "", nil
	}
	s := string(b)
	if len(b) >= 2 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
	}
	return s, nil
}

// jsonList is a list WeChat may send as an array, as a single object
// (one item), or wrapped as {"item": …} the way XML nests it.
type jsonList[T any] []T

func (l *jsonList[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '[':
		var a []T
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		*l = a
		return nil
	case b[0] == '{':
		var wrap struct {
			Item json.RawMessage `json:"item"`
		}
		if err := json.Unmarshal(b, &wrap); err == nil && len(wrap.Item) > 0 {
			var inner jsonList[T]
			if err := inner.UnmarshalJSON(wrap.Item); err != nil {
				return err
			}
			*l = inner
			return nil
		}
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*l = jsonList[T]{one}
	return nil
}
