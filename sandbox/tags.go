package sandbox

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
)

// WeChat's tag and menu limits (WECHAT.md §6, the menu API's errcodes).
const (
	maxTags        = 100
	maxTagName     = 30 // bytes
	maxTagsPerUser = 20
	maxBatch       = 50
	maxTopButtons  = 3
	maxSubButtons  = 5
	maxTopName     = 16 // bytes
	maxSubName     = 60
	maxKey         = 128
	maxMenuURL     = 1024
)

func (s *Server) handleTagCreate(c *apiCall) answer {
	var req struct {
		Tag struct {
			Name string `json:"name"`
		} `json:"tag"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	name := req.Tag.Name
	if name == "" || len(name) > maxTagName {
		return fail(45158, fmt.Sprintf("tag name too long: %d bytes, 1 to %d", len(name), maxTagName))
	}
	for _, t := range s.st.tags {
		if t.Name == name {
			return fail(45157, fmt.Sprintf("invalid tag name: %q already exists", name))
		}
	}
	if len(s.st.tags) >= maxTags {
		return fail(45056, fmt.Sprintf("too many tags: at most %d", maxTags))
	}
	t := &tag{ID: s.st.nextTag, Name: name, Members: map[string]bool{}}
	s.st.nextTag++
	s.st.tags[t.ID] = t
	s.st.tagOrder = append(s.st.tagOrder, t.ID)
	return answer{json: map[string]any{"tag": map[string]any{"id": t.ID, "name": t.Name}}}
}

func (s *Server) handleTagGet(*apiCall) answer {
	tags := make([]map[string]any, 0, len(s.st.tags))
	for _, id := range s.st.tagOrder {
		t := s.st.tags[id]
		tags = append(tags, map[string]any{"id": t.ID, "name": t.Name, "count": len(t.Members)})
	}
	return answer{json: map[string]any{"tags": tags}}
}

func (s *Server) handleBatchTagging(c *apiCall) answer   { return s.batchTag(c, true) }
func (s *Server) handleBatchUntagging(c *apiCall) answer { return s.batchTag(c, false) }

func (s *Server) batchTag(c *apiCall, add bool) answer {
	var req struct {
		OpenIDs []string `json:"openid_list"`
		TagID   int      `json:"tagid"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	if len(req.OpenIDs) == 0 || len(req.OpenIDs) > maxBatch {
		return fail(40032, fmt.Sprintf("invalid openid list size: %d, 1 to %d per call", len(req.OpenIDs), maxBatch))
	}
	t := s.st.tags[req.TagID]
	if t == nil {
		return fail(45159, fmt.Sprintf("invalid tag id %d", req.TagID))
	}
	for _, o := range req.OpenIDs {
		if o == "" || !s.st.isFollower(o) {
			return fail(40003, fmt.Sprintf("invalid openid %q", o))
		}
		if add && !t.Members[o] && len(s.st.userTags[o]) >= maxTagsPerUser {
			return fail(45059, fmt.Sprintf("tag count of user %s out of limit: at most %d", o, maxTagsPerUser))
		}
	}
	for _, o := range req.OpenIDs {
		if s.st.userTags[o] == nil {
			s.st.userTags[o] = map[int]bool{}
		}
		if add {
			t.Members[o] = true
			s.st.userTags[o][t.ID] = true
		} else {
			delete(t.Members, o)
			delete(s.st.userTags[o], t.ID)
		}
	}
	return ok(nil)
}

// menuButton is a button as menu/create receives it.
type menuButton struct {
	Type      string       `json:"type,omitempty"`
	Name      string       `json:"name"`
	Key       string       `json:"key,omitempty"`
	URL       string       `json:"url,omitempty"`
	MediaID   string       `json:"media_id,omitempty"`
	AppID     string       `json:"appid,omitempty"`
	PagePath  string       `json:"pagepath,omitempty"`
	ArticleID string       `json:"article_id,omitempty"`
	SubButton []menuButton `json:"sub_button,omitempty"`
}

var keyTypes = map[string]bool{
	"click": true, "scancode_push": true, "scancode_waitmsg": true, "pic_sysphoto": true,
	"pic_photo_or_album": true, "pic_weixin": true, "location_select": true,
}

func (s *Server) handleMenuCreate(c *apiCall) answer {
	var req struct {
		Button []menuButton `json:"button"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	if n := len(req.Button); n < 1 || n > maxTopButtons {
		return fail(40016, fmt.Sprintf("invalid button size: %d top-level buttons, 1 to %d", n, maxTopButtons))
	}
	for i, b := range req.Button {
		if len(b.Name) == 0 || len(b.Name) > maxTopName {
			return fail(40018, fmt.Sprintf("invalid button name size: button %d name has %d bytes, 1 to %d", i, len(b.Name), maxTopName))
		}
		if len(b.SubButton) > 0 {
			if len(b.SubButton) > maxSubButtons {
				return fail(40023, fmt.Sprintf("invalid sub button size: button %d has %d, at most %d", i, len(b.SubButton), maxSubButtons))
			}
			for j, sb := range b.SubButton {
				if len(sb.SubButton) > 0 {
					return fail(40022, "invalid sub menu level: sub-buttons cannot have sub-buttons")
				}
				if len(sb.Name) == 0 || len(sb.Name) > maxSubName {
					return fail(40025, fmt.Sprintf("invalid sub button name size: button %d.%d name has %d bytes, 1 to %d", i, j, len(sb.Name), maxSubName))
				}
				if a := checkLeaf(sb, true); a != nil {
					return *a
				}
			}
			continue
		}
		if a := checkLeaf(b, false); a != nil {
			return *a
		}
	}
	raw, _ := json.Marshal(req.Button)
	s.st.menu = raw
	s.st.menuID = s.st.id()
	return ok(nil)
}

func checkLeaf(b menuButton, sub bool) *answer {
	code := func(top, subCode int) int {
		if sub {
			return subCode
		}
		return top
	}
	bad := func(c int, format string, args ...any) *answer {
		a := fail(c, fmt.Sprintf(format, args...))
		return &a
	}
	switch {
	case keyTypes[b.Type]:
		if len(b.Key) == 0 || len(b.Key) > maxKey {
			return bad(code(40019, 40026), "invalid button key size: %q key has %d bytes, 1 to %d", b.Name, len(b.Key), maxKey)
		}
	case b.Type == "view":
		if len(b.URL) == 0 || len(b.URL) > maxMenuURL {
			return bad(code(40020, 40027), "invalid button url size: %q url has %d bytes, 1 to %d", b.Name, len(b.URL), maxMenuURL)
		}
		if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(code(40055, 40054), "invalid button url domain: %q", b.URL)
		}
	case b.Type == "media_id" || b.Type == "view_limited":
		if b.MediaID == "" {
			return bad(40007, "invalid media_id: %q needs media_id", b.Name)
		}
	case b.Type == "article_id" || b.Type == "article_view_limited":
		if b.ArticleID == "" {
			return bad(40035, "invalid args: %q needs article_id", b.Name)
		}
	case b.Type == "miniprogram":
		if b.AppID == "" || b.PagePath == "" || b.URL == "" {
			return bad(40035, "invalid args: %q needs appid, pagepath and url", b.Name)
		}
	default:
		return bad(code(40017, 40024), "invalid button type %q for %q", b.Type, b.Name)
	}
	return nil
}

func (s *Server) handleMenuGet(*apiCall) answer {
	if s.st.menu == nil {
		return fail(46003, "menu no exist")
	}
	return answer{json: map[string]any{"menu": map[string]any{"button": json.RawMessage(s.st.menu), "menuid": s.st.menuID}}}
}

func (s *Server) handleUserInfo(c *apiCall) answer {
	openid := c.r.URL.Query().Get("openid")
	if openid == "" {
		return fail(40003, "invalid openid \"\"")
	}
	if !s.st.isFollower(openid) {
		// WeChat answers a well-formed openid of someone who does not
		// follow (any more) with errcode 0 and subscribe 0, nothing else.
		return answer{json: map[string]any{"subscribe": 0, "openid": openid}}
	}
	ids := make([]int, 0, len(s.st.userTags[openid]))
	for id := range s.st.userTags[openid] {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return answer{json: map[string]any{
		"subscribe": 1, "openid": openid, "language": "zh_CN",
		"subscribe_time": c.now.Unix(), "remark": "", "groupid": 0,
		"tagid_list": ids, "subscribe_scene": "ADD_SCENE_OTHERS", "qr_scene": 0, "qr_scene_str": "",
	}}
}
