package bot

import (
	"encoding/json"
	"encoding/xml"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/bot/wechatsim"
)

// pushFields is one message, to be written both ways.
type pushFields struct {
	to, from, msgType, content, event, eventKey, status string
	createTime, msgId, msgID, publishID                 int64
	publishStatus                                       uint8
	urls                                                []string // PublishEventInfo items and ArticleUrlResult
	locX                                                float64
	flags                                               uint8 // 1 PublishEventInfo, 2 ArticleUrlResult, 4 ids as JSON strings, 8 lists wrapped in "item", 16 Location_X
}

func (p pushFields) xml() []byte {
	b := []byte("<xml>")
	b = appendElem(b, "ToUserName", p.to)
	b = appendElem(b, "FromUserName", p.from)
	b = appendIntElem(b, "CreateTime", p.createTime)
	b = appendElem(b, "MsgType", p.msgType)
	b = appendElem(b, "Content", p.content)
	b = appendElem(b, "Event", p.event)
	b = appendElem(b, "EventKey", p.eventKey)
	b = appendElem(b, "Status", p.status)
	b = appendIntElem(b, "MsgId", p.msgId)
	b = appendIntElem(b, "MsgID", p.msgID)
	if p.flags&16 != 0 {
		b = append(b, "<Location_X>"+strconv.FormatFloat(p.locX, 'g', -1, 64)+"</Location_X>"...)
	}
	if p.flags&1 != 0 {
		b = append(b, "<PublishEventInfo>"...)
		b = appendIntElem(b, "publish_id", p.publishID)
		b = appendIntElem(b, "publish_status", int64(p.publishStatus))
		b = appendElem(b, "article_id", p.eventKey)
		b = append(b, "<article_detail>"...)
		b = appendIntElem(b, "count", int64(len(p.urls)))
		for i, u := range p.urls {
			b = append(b, "<item>"...)
			b = appendIntElem(b, "idx", int64(i+1))
			b = appendElem(b, "article_url", u)
			b = append(b, "</item>"...)
		}
		b = append(b, "</article_detail>"...)
		b = appendIntElem(b, "fail_idx", int64(p.publishStatus))
		b = append(b, "</PublishEventInfo>"...)
	}
	if p.flags&2 != 0 {
		b = append(b, "<ArticleUrlResult>"...)
		b = appendIntElem(b, "Count", int64(len(p.urls)))
		b = append(b, "<ResultList>"...)
		for i, u := range p.urls {
			b = append(b, "<item>"...)
			b = appendIntElem(b, "ArticleIdx", int64(i+1))
			b = appendElem(b, "ArticleUrl", u)
			b = append(b, "</item>"...)
		}
		b = append(b, "</ResultList></ArticleUrlResult>"...)
	}
	return append(b, "</xml>"...)
}

func (p pushFields) json() []byte {
	id := func(n int64) any {
		if p.flags&4 != 0 {
			return strconv.FormatInt(n, 10)
		}
		return n
	}
	list := func(items []any) any {
		if p.flags&8 != 0 {
			return map[string]any{"item": items}
		}
		return items
	}
	m := map[string]any{
		"ToUserName": p.to, "FromUserName": p.from, "CreateTime": p.createTime, "MsgType": p.msgType,
		"Content": p.content, "Event": p.event, "EventKey": p.eventKey, "Status": p.status,
		"MsgId": id(p.msgId), "MsgID": id(p.msgID),
	}
	if p.flags&16 != 0 {
		m["Location_X"] = p.locX
	}
	if p.flags&1 != 0 {
		var items []any
		for i, u := range p.urls {
			items = append(items, map[string]any{"idx": i + 1, "article_url": u})
		}
		m["PublishEventInfo"] = map[string]any{
			"publish_id": id(p.publishID), "publish_status": p.publishStatus, "article_id": p.eventKey,
			"article_detail": map[string]any{"count": len(p.urls), "item": list(items)},
			"fail_idx":       []any{p.publishStatus},
		}
	}
	if p.flags&2 != 0 {
		var items []any
		for i, u := range p.urls {
			items = append(items, map[string]any{"ArticleIdx": i + 1, "ArticleUrl": u})
		}
		m["ArticleUrlResult"] = map[string]any{"Count": len(p.urls), "ResultList": list(items)}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// xmlSafe: text XML carries as it is (no CR, which XML normalises; no
// characters XML cannot hold).
func xmlSafe(s string) bool {
	if !utf8.ValidString(s) || strings.ContainsRune(s, '\r') {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError {
			return false
		}
	}
	return true
}

func decodeBoth(t *testing.T, p pushFields) (x, j *message.MixMessage) {
	t.Helper()
	xb, jb := p.xml(), p.json()
	x, err := parseMessage(xb)
	if err != nil {
		t.Fatalf("XML %q: %v", xb, err)
	}
	j, err = parseMessage(jb)
	if err != nil {
		t.Fatalf("JSON %s: %v", jb, err)
	}
	x.XMLName, j.XMLName = xml.Name{}, xml.Name{}
	if !reflect.DeepEqual(x, j) {
		t.Fatalf("XML and JSON decode differently:\nXML  %s\n%+v\nJSON %s\n%+v", xb, x, jb, j)
	}
	if ux, uj := articleURLResult(xb), articleURLResult(jb); !reflect.DeepEqual(ux, uj) {
		t.Fatalf("ArticleUrlResult: XML %q, JSON %q", ux, uj)
	}
	return x, j
}

// FuzzXMLvsJSON writes the same push as XML and as JSON (WeChat's two
// data formats) and checks both decode to the same message.
func FuzzXMLvsJSON(f *testing.F) {
	f.Add("gh_0123456789ab", "oUser1", "text", "人脸识别 ]]> & <b>", "", "", "", int64(1714112445), int64(24000000000000001), int64(0), int64(0), uint8(0), "", 0.0, uint8(0))
	f.Add("gh_0123456789ab", "oUser1", "event", "", "MASSSENDJOBFINISH", "", "send success", int64(1714112445), int64(0), int64(1000001625), int64(0), uint8(0), "https://mp.weixin.qq.com/s/a\nhttps://mp.weixin.qq.com/s/b", 0.0, uint8(2|8))
	f.Add("gh_0123456789ab", "oUser1", "event", "", "PUBLISHJOBFINISH", "2247503051_1", "", int64(1714112445), int64(0), int64(0), int64(2247503051), uint8(0), "https://mp.weixin.qq.com/s/p", 0.0, uint8(1|4))
	f.Add("gh_x", "o", "location", "", "", "", "", int64(1), int64(7), int64(0), int64(0), uint8(2), "", 23.134521, uint8(16|1|8))
	f.Fuzz(func(t *testing.T, to, from, msgType, content, event, eventKey, status string, createTime, msgId, msgID, publishID int64, publishStatus uint8, urls string, locX float64, flags uint8) {
		for _, s := range []string{to, from, msgType, content, event, eventKey, status, urls} {
			if !xmlSafe(s) {
				t.Skip()
			}
		}
		if math.IsNaN(locX) || math.IsInf(locX, 0) {
			t.Skip()
		}
		p := pushFields{to: to, from: from, msgType: msgType, content: content, event: event, eventKey: eventKey, status: status,
			createTime: createTime, msgId: msgId, msgID: msgID, publishID: publishID, publishStatus: publishStatus, locX: locX, flags: flags}
		if urls != "" {
			p.urls = strings.Split(urls, "\n")
			if len(p.urls) > 8 {
				p.urls = p.urls[:8]
			}
		}
		decodeBoth(t, p)
	})
}

// The JSON fields land where the bot reads them: PUBLISHJOBFINISH's
// PublishEventInfo and MASSSENDJOBFINISH's MsgID and ArticleUrlResult,
// which the SDK's struct misses in JSON.
func TestJSONPushFields(t *testing.T) {
	pub := pushFields{to: "gh_1", from: "oWeChat", msgType: "event", event: "PUBLISHJOBFINISH", createTime: 1714112445,
		publishID: 2247503051, eventKey: "ART_1", urls: []string{"https://mp.weixin.qq.com/s/1", "https://mp.weixin.qq.com/s/2"}, flags: 1 | 4}
	m, _ := decodeBoth(t, pub)
	info := m.PublishEventInfo
	if info.PublishID != 2247503051 || info.ArticleID != "ART_1" || info.ArticleDetail.Count != 2 ||
		len(info.ArticleDetail.Item) != 2 || info.ArticleDetail.Item[1].ArticleURL != "https://mp.weixin.qq.com/s/2" || info.ArticleDetail.Item[1].Index != 2 {
		t.Fatalf("PublishEventInfo %+v", info)
	}
	ev := (&Bot{}).publishFinished(m)
	if len(ev.effects) != 1 {
		t.Fatalf("plan %+v", ev)
	}
	mass := pushFields{to: "gh_1", from: "oWeChat", msgType: "event", event: "MASSSENDJOBFINISH", status: "send success", createTime: 1714112445,
		msgID: 1000001625, urls: []string{"https://mp.weixin.qq.com/s/m"}, flags: 2}
	m, _ = decodeBoth(t, mass)
	if massMsgID(m) != 1000001625 || m.Status != "send success" {
		t.Fatalf("MASSSENDJOBFINISH %+v", m)
	}
	if got := articleURLResult(mass.json()); len(got) != 1 || got[0] != "https://mp.weixin.qq.com/s/m" {
		t.Fatalf("ArticleUrlResult from JSON: %q", got)
	}
	// A wrong type still says nothing of the content.
	if _, err := parseMessage([]byte(`{"FromUserName":"o","CreateTime":"secret-text"}`)); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad CreateTime: %v", err)
	}
	if _, err := parseMessage([]byte(`{"PublishEventInfo":{"article_detail":{"item":{"item":{"idx":"x"}}}}}`)); err == nil {
		t.Fatal("a bad idx was accepted")
	}
}

// A JSON-format PUBLISHJOBFINISH and MASSSENDJOBFINISH over the real
// webhook reach the publisher with their ids and URLs.
func TestJSONJobEventsOverWebhook(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	now := time.Now().Unix()
	pub := pushFields{to: testAccount, from: "oWeChatSystem", msgType: "event", event: "PUBLISHJOBFINISH", createTime: now,
		publishID: 2247503051, eventKey: "ART_1", urls: []string{"https://mp.weixin.qq.com/s/1"}, flags: 1 | 4 | 8}
	mass := pushFields{to: testAccount, from: "oWeChatSystem", msgType: "event", event: "MASSSENDJOBFINISH", status: "send success", createTime: now,
		msgID: 1000001625, urls: []string{"https://mp.weixin.qq.com/s/m"}, flags: 2}
	for _, p := range []pushFields{pub, mass} {
		if r, err := h.send(p.json(), wechatsim.Safe); err != nil || r.Status != 200 {
			t.Fatalf("%s: %+v %v", p.event, r, err)
		}
	}
	waitUntil(t, func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return len(h.rec.publish) == 1 && len(h.rec.mass) == 1
	})
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if e := h.rec.publish[0]; e.PublishID != "2247503051" || e.ArticleID != "ART_1" || len(e.ArticleURLs) != 1 || e.ArticleURLs[0] != "https://mp.weixin.qq.com/s/1" {
		t.Fatalf("publish event %+v", e)
	}
	if e := h.rec.mass[0]; e.MsgID != 1000001625 || e.Status != "send success" || len(e.ArticleURLs) != 1 {
		t.Fatalf("mass event %+v", e)
	}
}
