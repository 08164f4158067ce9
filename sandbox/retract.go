package sandbox

import (
	"fmt"
	"slices"
)

// handleMassDelete withdraws a mass send (message/mass/delete): msg_id and
// an optional 1-based article_idx (0 or absent: the whole send). A send
// withdrawn whole reports DELETE from message/mass/get.
func (s *Server) handleMassDelete(c *apiCall) answer {
	var req struct {
		MsgID      flexID `json:"msg_id"`
		ArticleIdx int    `json:"article_idx"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	m, bad := s.sendOf(req.MsgID)
	if bad != nil {
		return *bad
	}
	if req.ArticleIdx < 0 || req.ArticleIdx > len(m.Titles) {
		return fail(40035, fmt.Sprintf("invalid args: article_idx %d of a send with %d articles", req.ArticleIdx, len(m.Titles)))
	}
	if !slices.Contains(m.Deleted, req.ArticleIdx) {
		m.Deleted = append(m.Deleted, req.ArticleIdx)
	}
	return ok(nil)
}

// handlePublishDelete withdraws a publication (freepublish/delete):
// article_id and an optional 1-based index (0 or absent: every article).
// An unknown article_id is 53600, as on the platform.
func (s *Server) handlePublishDelete(c *apiCall) answer {
	var req struct {
		ArticleID string `json:"article_id"`
		Index     int    `json:"index"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	for _, id := range s.st.publishOrder {
		p := s.st.publications[id]
		if p.ArticleID == "" || p.ArticleID != req.ArticleID {
			continue
		}
		if req.Index < 0 || req.Index > len(p.ArticleURLs) {
			return fail(40035, fmt.Sprintf("invalid args: index %d of a publication with %d articles", req.Index, len(p.ArticleURLs)))
		}
		if !slices.Contains(p.Deleted, req.Index) {
			p.Deleted = append(p.Deleted, req.Index)
		}
		return ok(nil)
	}
	return fail(53600, "Article ID invalid")
}
