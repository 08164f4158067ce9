package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// shanghai is the zone of WeChat's daily quotas.
var shanghai = time.FixedZone("CST", 8*3600)

const (
	maxClientMsgID    = 32
	clientMsgIDWindow = 24 * time.Hour
	clientMsgIDFast   = time.Minute
	massPerMinute     = 60
	serviceDailyMass  = 100
	maxTextBytes      = 2048
)

// sendAllRequest is message/mass/sendall's body.
type sendAllRequest struct {
	Filter *struct {
		IsToAll bool `json:"is_to_all"`
		TagID   *int `json:"tag_id"`
	} `json:"filter"`
	MsgType string `json:"msgtype"`
	MPNews  *struct {
		MediaID string `json:"media_id"`
	} `json:"mpnews"`
	SendIgnoreReprint int    `json:"send_ignore_reprint"`
	ClientMsgID       string `json:"clientmsgid"`
}

func (s *Server) handleSendAll(c *apiCall) answer {
	var req sendAllRequest
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	st := s.st
	// At most 60 mass-send requests a minute, counted before anything else.
	if a := s.countSend(c); a != nil {
		return *a
	}
	if a := s.checkClientMsgID(c, req.ClientMsgID); a != nil {
		return *a
	}
	if req.MsgType != "mpnews" || req.MPNews == nil {
		return fail(40008, fmt.Sprintf("invalid message type %q: the sandbox mass-sends mpnews only", req.MsgType))
	}
	d, bad := s.liveDraft(req.MPNews.MediaID)
	if bad != nil {
		return *bad
	}
	if req.Filter == nil {
		return fail(40035, "invalid args: filter is required")
	}
	recipients, tagID, bad := s.recipients(req.Filter.IsToAll, req.Filter.TagID)
	if bad != nil {
		return *bad
	}
	if s.quotaUsed(c.now) {
		if req.ClientMsgID != "" {
			st.clientMsgIDs[req.ClientMsgID] = &clientMsg{Failed: c.now}
		}
		if s.opts.AccountType == "service" {
			return fail(45028, "has no masssend quota: a service account makes at most 100 mass-send requests a day in the sandbox")
		}
		return fail(45028, "has no masssend quota: a subscription account makes 1 successful mass send a day")
	}

	d.Used = "mass sent"
	m := &massSend{
		MsgID:       st.id(),
		MsgDataID:   st.id(),
		MediaID:     d.MediaID,
		ClientMsgID: req.ClientMsgID,
		ToAll:       req.Filter.IsToAll,
		TagID:       tagID,
		Recipients:  recipients,
		Time:        c.now,
		Done:        c.now.Add(s.opts.PushDelay),
	}
	for _, a := range d.Articles {
		m.Titles = append(m.Titles, a.Title)
	}
	m.ArticleURLs = s.articleURLs(m.MsgID, len(d.Articles))
	st.sends = append(st.sends, m)
	st.sendByID[m.MsgID] = m
	if req.ClientMsgID != "" {
		st.clientMsgIDs[req.ClientMsgID] = &clientMsg{MsgID: m.MsgID, MsgDataID: m.MsgDataID, Sent: c.now}
	}
	a := ok(map[string]any{"errmsg": "send job submission success", "msg_id": m.MsgID, "msg_data_id": m.MsgDataID})
	sent := *m
	a.after = func() { s.schedulePush(massEventXML(s.opts, sent)) }
	return a
}

// countSend counts a mass-send request and refuses the 61st in a minute.
func (s *Server) countSend(c *apiCall) *answer {
	st := s.st
	recent := st.sendTimes[:0]
	for _, t := range st.sendTimes {
		if c.now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	st.sendTimes = append(recent, c.now)
	if len(st.sendTimes) > massPerMinute {
		a := fail(45009, "reach max api minute quota: at most 60 mass-send requests a minute")
		return &a
	}
	return nil
}

// checkClientMsgID refuses a clientmsgid too long, used by a send within
// 24 hours (with that send's ids), or retried within a minute of a failure.
func (s *Server) checkClientMsgID(c *apiCall, id string) *answer {
	if limit := s.opts.MaxClientMsgID; len(id) > limit {
		a := fail(45067, fmt.Sprintf("clientmsgid size out of limit: %d bytes, at most %d", len(id), limit))
		return &a
	}
	if id == "" {
		return nil
	}
	prior := s.st.clientMsgIDs[id]
	if prior != nil && !prior.Sent.IsZero() && c.now.Sub(prior.Sent) < clientMsgIDWindow {
		a := fail(45065, "clientmsgid exist: a mass send with this clientmsgid was made within 24 hours")
		a.json["msg_id"] = prior.MsgID
		a.json["msg_data_id"] = prior.MsgDataID
		return &a
	}
	if prior != nil && !prior.Failed.IsZero() && c.now.Sub(prior.Failed) < clientMsgIDFast {
		a := fail(45066, "same clientmsgid retry too fast: wait a minute after a failed send")
		return &a
	}
	return nil
}

// recipients counts who a send to everyone or to one tag reaches.
func (s *Server) recipients(toAll bool, tag *int) (n, tagID int, bad *answer) {
	st := s.st
	n = len(st.followers)
	if !st.strictFollowers {
		n = 100 // an account of a hundred followers when none are listed
	}
	if toAll {
		return n, 0, nil
	}
	if tag == nil {
		a := fail(40035, "invalid args: filter.tag_id is required when is_to_all is false")
		return 0, 0, &a
	}
	t := st.tags[*tag]
	if t == nil {
		a := fail(45159, fmt.Sprintf("invalid tag_id %d", *tag))
		return 0, 0, &a
	}
	return len(t.Members), *tag, nil
}

// quotaUsed reports whether today's mass-send quota is used up: one
// successful send a day (Asia/Shanghai) for a subscription account.
func (s *Server) quotaUsed(now time.Time) bool {
	day := now.In(shanghai).Format(time.DateOnly)
	n := 0
	for _, m := range s.st.sends {
		if m.Time.In(shanghai).Format(time.DateOnly) == day {
			n++
		}
	}
	if s.opts.AccountType == "service" {
		return n >= serviceDailyMass
	}
	return n >= 1
}

func (s *Server) handlePreview(c *apiCall) answer {
	var req struct {
		ToUser   string `json:"touser"`
		ToWxName string `json:"towxname"`
		MsgType  string `json:"msgtype"`
		MPNews   *struct {
			MediaID string `json:"media_id"`
		} `json:"mpnews"`
		Text *struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	to := req.ToUser
	if to == "" {
		to = req.ToWxName
	}
	if to == "" {
		return fail(40003, "invalid openid: touser (or towxname) is required")
	}
	if req.ToUser != "" && !s.st.isFollower(req.ToUser) {
		return fail(43004, "require subscribe: "+req.ToUser+" does not follow the account")
	}
	msg := Message{ToUser: to, MsgType: req.MsgType, Time: c.now}
	switch {
	case req.MsgType == "mpnews" && req.MPNews != nil:
		if _, bad := s.liveDraft(req.MPNews.MediaID); bad != nil {
			return *bad
		}
		msg.MediaID = req.MPNews.MediaID
	case req.MsgType == "text" && req.Text != nil:
		if req.Text.Content == "" {
			return fail(44004, "empty content")
		}
		msg.Text = req.Text.Content
	default:
		return fail(40008, fmt.Sprintf("invalid message type %q: the sandbox previews mpnews and text", req.MsgType))
	}
	msg.MsgID = s.st.id()
	s.st.previews = append(s.st.previews, msg)
	return ok(map[string]any{"errmsg": "preview success", "msg_id": msg.MsgID})
}

// sendOf is the mass send a request's msg_id names.
func (s *Server) sendOf(msgID flexID) (*massSend, *answer) {
	var id int64
	if _, err := fmt.Sscan(string(msgID), &id); err != nil {
		a := fail(40035, "invalid args: msg_id")
		return nil, &a
	}
	m := s.st.sendByID[id]
	if m == nil {
		a := fail(40007, fmt.Sprintf("invalid msg_id %d", id))
		return nil, &a
	}
	return m, nil
}

func (s *Server) handleMassGet(c *apiCall) answer {
	var req struct {
		MsgID flexID `json:"msg_id"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	m, bad := s.sendOf(req.MsgID)
	if bad != nil {
		return *bad
	}
	status := "SEND_SUCCESS"
	switch {
	case slices.Contains(m.Deleted, 0):
		status = "DELETE"
	case c.now.Before(m.Done):
		status = "SENDING"
	case !s.opts.massSucceeds():
		status = "SEND_FAIL"
	}
	return answer{json: map[string]any{"msg_id": m.MsgID, "msg_status": status}}
}

func (s *Server) handleCustomSend(c *apiCall) answer {
	var req struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
		News *struct {
			Articles []struct {
				Title       string `json:"title"`
				Description string `json:"description"`
				URL         string `json:"url"`
				PicURL      string `json:"picurl"`
			} `json:"articles"`
		} `json:"news"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	if req.ToUser == "" {
		return fail(40003, "invalid openid: touser is required")
	}
	if !s.st.isFollower(req.ToUser) {
		return fail(43004, "require subscribe: "+req.ToUser+" does not follow the account")
	}
	if s.opts.CustomWindow {
		at, wrote := s.st.wrote[req.ToUser]
		if !wrote || c.now.Sub(at) > CustomWindowLength {
			return fail(45015, "response out of time limit or subscription is canceled")
		}
		if s.st.sinceWrote[req.ToUser] >= CustomQuota {
			return fail(45047, "out of response count limit")
		}
	}
	msg := Message{ToUser: req.ToUser, MsgType: req.MsgType, Time: c.now}
	switch req.MsgType {
	case "text":
		if req.Text == nil || req.Text.Content == "" {
			return fail(44004, "empty content")
		}
		if len(req.Text.Content) > maxTextBytes {
			return fail(45002, fmt.Sprintf("content size out of limit: %d bytes, at most %d", len(req.Text.Content), maxTextBytes))
		}
		msg.Text = req.Text.Content
	case "news":
		if req.News == nil || len(req.News.Articles) == 0 {
			return fail(44003, "empty news data")
		}
		if len(req.News.Articles) > 1 {
			return fail(45008, "article size out of limit: a customer-service news message holds 1 article")
		}
		art := req.News.Articles[0]
		if art.Title == "" || art.URL == "" {
			return fail(44003, "empty news data: title and url are required")
		}
		msg.Title, msg.URL = art.Title, art.URL
	default:
		return fail(40008, fmt.Sprintf("invalid message type %q: the sandbox sends text and news", req.MsgType))
	}
	s.st.customs = append(s.st.customs, msg)
	if s.opts.CustomWindow {
		s.st.sinceWrote[req.ToUser]++
	}
	return ok(nil)
}

// CustomWindowLength is how long after a user's message the account may
// send them customer-service messages; CustomQuota is how many it may send
// before the user writes again (Options.CustomWindow).
const (
	CustomWindowLength = 48 * time.Hour
	CustomQuota        = 5
)

// UserWrote records that openid sent a message to the account at the
// sandbox's current time: its customer-service window opens (or reopens)
// and the message quota starts again.
func (s *Server) UserWrote(openid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.wrote[openid] = time.Now().Add(s.offset)
	s.st.sinceWrote[openid] = 0
}

// serveWrote is POST /sandbox/wrote {"openid": "…", "ago_seconds": N}:
// openid wrote to the account N seconds ago (default now).
func (s *Server) serveWrote(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OpenID     string `json:"openid"`
		AgoSeconds int64  `json:"ago_seconds"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.OpenID == "" || req.AgoSeconds < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": 40003, "errmsg": "want {\"openid\": \"…\", \"ago_seconds\": N ≥ 0}"})
		return
	}
	s.mu.Lock()
	s.st.wrote[req.OpenID] = time.Now().Add(s.offset).Add(-time.Duration(req.AgoSeconds) * time.Second)
	s.st.sinceWrote[req.OpenID] = 0
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok"})
}
