package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The published list (freepublish/batchget, freepublish/getarticle):
// every publication that succeeded and, unless Options.MassSendsUnlisted,
// every mass send that did — the articles with their titles and permanent
// URLs, newest first. With Options.EmptyArticleURLResult the
// MASSSENDJOBFINISH pushes carry an empty ArticleUrlResult, as developers
// report of the real platform, so this list is the only way to the URLs.

func init() {
	apiRoutes["freepublish/batchget"] = route{http.MethodPost, true, (*Server).handlePublishedList}
	apiRoutes["freepublish/getarticle"] = route{http.MethodPost, true, (*Server).handlePublishedArticle}
}

// maxPublishedPage is batchget's largest count (official: 1 to 20).
const maxPublishedPage = 20

type publishedArticle struct {
	Title   string `json:"title"`
	URL     string `json:"url"`
	Deleted bool   `json:"is_deleted"`
}

type publishedItem struct {
	ArticleID string
	Updated   time.Time
	Articles  []publishedArticle
}

// massArticleID is the article_id the sandbox gives a mass send in the
// published list.
func massArticleID(m *massSend) string { return "M" + strconv.FormatInt(m.MsgID, 36) + "_mass" }

// published lists what was published by now, newest first.
func (s *Server) published(now time.Time) []publishedItem {
	var out []publishedItem
	deleted := func(del []int, i int) bool { return slices.Contains(del, 0) || slices.Contains(del, i+1) }
	for _, id := range s.st.publishOrder {
		p := s.st.publications[id]
		if p == nil || p.Status != 0 || now.Before(p.Done) {
			continue
		}
		var titles []string
		if d := s.st.drafts[p.MediaID]; d != nil {
			for _, a := range d.Articles {
				titles = append(titles, a.Title)
			}
		}
		it := publishedItem{ArticleID: p.ArticleID, Updated: p.Done}
		for i, u := range p.ArticleURLs {
			t := ""
			if i < len(titles) {
				t = titles[i]
			}
			it.Articles = append(it.Articles, publishedArticle{Title: t, URL: u, Deleted: deleted(p.Deleted, i)})
		}
		out = append(out, it)
	}
	if !s.opts.MassSendsUnlisted && s.opts.massSucceeds() {
		for _, m := range s.st.sends {
			if now.Before(m.Done) {
				continue
			}
			it := publishedItem{ArticleID: massArticleID(m), Updated: m.Done}
			for i, u := range m.ArticleURLs {
				t := ""
				if i < len(m.Titles) {
					t = m.Titles[i]
				}
				it.Articles = append(it.Articles, publishedArticle{Title: t, URL: u, Deleted: deleted(m.Deleted, i)})
			}
			out = append(out, it)
		}
	}
	slices.SortStableFunc(out, func(a, b publishedItem) int { return b.Updated.Compare(a.Updated) })
	return out
}

func (s *Server) handlePublishedList(c *apiCall) answer {
	if s.opts.Unverified {
		return fail(48001, "api unauthorized: unverified accounts cannot use freepublish")
	}
	var req struct {
		Offset    *int `json:"offset"`
		Count     *int `json:"count"`
		NoContent int  `json:"no_content"` // a number: a boolean is a data format error
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	if req.Offset == nil || req.Count == nil {
		return fail(40035, "invalid args: offset and count are required")
	}
	if *req.Count < 1 || *req.Count > maxPublishedPage || *req.Offset < 0 {
		return fail(40035, fmt.Sprintf("invalid args: count %d must be 1 to %d, offset %d not negative", *req.Count, maxPublishedPage, *req.Offset))
	}
	all := s.published(c.now)
	from := min(*req.Offset, len(all))
	page := all[from:min(from+*req.Count, len(all))]
	items := make([]map[string]any, 0, len(page))
	for _, it := range page {
		news := make([]map[string]any, 0, len(it.Articles))
		for _, a := range it.Articles {
			n := map[string]any{"title": a.Title, "url": a.URL, "is_deleted": a.Deleted, "author": "", "digest": "",
				"content_source_url": "", "thumb_media_id": "", "thumb_url": "", "need_open_comment": 0, "only_fans_can_comment": 0}
			if req.NoContent != 1 {
				n["content"] = "<p>…</p>"
			}
			news = append(news, n)
		}
		items = append(items, map[string]any{
			"article_id": it.ArticleID, "update_time": it.Updated.Unix(),
			"content": map[string]any{"news_item": news, "create_time": it.Updated.Unix(), "update_time": it.Updated.Unix()},
		})
	}
	return answer{json: map[string]any{"total_count": len(all), "item_count": len(items), "item": items}}
}

func (s *Server) handlePublishedArticle(c *apiCall) answer {
	if s.opts.Unverified {
		return fail(48001, "api unauthorized: unverified accounts cannot use freepublish")
	}
	var req struct {
		ArticleID string `json:"article_id"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	for _, it := range s.published(c.now) {
		if it.ArticleID == req.ArticleID && req.ArticleID != "" {
			return answer{json: map[string]any{"news_item": it.Articles}}
		}
	}
	return fail(40007, fmt.Sprintf("invalid article_id %q", req.ArticleID))
}
