// Package wechat is wxbot's adapter to the WeChat Official Account API: one
// client, built once at start-up and shared by bot/ and publisher/, on top of
// silenceper/wechat's officialaccount packages, with the access token shared
// between replicas through Redis and every WeChat errcode kept in a typed error.
package wechat

// MassSendJobEvent is WeChat's MASSSENDJOBFINISH push: the outcome of a mass send.
type MassSendJobEvent struct {
	MsgID       int64  `json:"msg_id"`
	Status      string `json:"status"` // "send success", "send fail", "err(num)"
	TotalCount  int    `json:"total_count"`
	FilterCount int    `json:"filter_count"`
	SentCount   int    `json:"sent_count"`
	ErrorCount  int    `json:"error_count"`
	// ArticleURLs are the article URLs WeChat reports (ArticleUrlResult), if any.
	ArticleURLs []string `json:"article_urls,omitempty"`
}

// PublishJobEvent is WeChat's PUBLISHJOBFINISH push: the outcome of a freepublish.
type PublishJobEvent struct {
	PublishID string `json:"publish_id"`
	// Status: 0 success, 1 publishing, 2 originality check failed, 3 failed,
	// 4 rejected in review, 5 deleted by user, 6 banned.
	Status      int      `json:"publish_status"`
	ArticleID   string   `json:"article_id"`
	ArticleURLs []string `json:"article_urls"` // by idx order
	FailIdx     []int    `json:"fail_idx,omitempty"`
}

// NewsArticle is one card of a news message (passive reply or customer-service).
type NewsArticle struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	PicURL      string `json:"picurl"`
}
