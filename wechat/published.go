package wechat

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The published list: where the article URLs of a broadcast can be found
// when its job report carried none (ArticleUrlResult of MASSSENDJOBFINISH
// has been reported empty, WECHAT.md §5). Both calls only read.
var (
	epPublishBatchGet   = endpoint{"freepublish/batchget", idempotent}
	epPublishGetArticle = endpoint{"freepublish/getarticle", idempotent}
)

// MaxPublishedPage is the most items freepublish/batchget returns a call
// (count 1 to 20, official page 获取已发布的消息列表).
const MaxPublishedPage = 20

// PublishedArticle is one article of a published message.
type PublishedArticle struct {
	Title   string `json:"title"`
	URL     string `json:"url"`
	Deleted bool   `json:"is_deleted"`
}

// PublishedItem is one published message: its articles in their order.
type PublishedItem struct {
	ArticleID string
	Updated   time.Time
	Articles  []PublishedArticle
}

// PublishedPage is one page of freepublish/batchget.
type PublishedPage struct {
	Total int // every published message
	Items []PublishedItem
}

// PublishedList reads count (1 to 20) published messages from offset
// (freepublish/batchget with no_content 1: titles and URLs, no bodies).
func (c *Client) PublishedList(ctx context.Context, offset, count int) (PublishedPage, error) {
	if count < 1 || count > MaxPublishedPage || offset < 0 {
		return PublishedPage{}, fmt.Errorf("wechat: published list: count %d must be 1 to %d, offset %d not negative", count, MaxPublishedPage, offset)
	}
	var ans struct {
		TotalCount int `json:"total_count"`
		ItemCount  int `json:"item_count"`
		Item       []struct {
			ArticleID string `json:"article_id"`
			Content   struct {
				NewsItem []PublishedArticle `json:"news_item"`
			} `json:"content"`
			UpdateTime int64 `json:"update_time"`
		} `json:"item"`
	}
	// no_content is a number (1: leave the content out), not a boolean.
	body := map[string]int{"offset": offset, "count": count, "no_content": 1}
	if err := c.postJSON(ctx, epPublishBatchGet, body, &ans); err != nil {
		return PublishedPage{}, fmt.Errorf("wechat: published list from %d: %w", offset, err)
	}
	page := PublishedPage{Total: ans.TotalCount}
	for _, it := range ans.Item {
		item := PublishedItem{ArticleID: it.ArticleID, Articles: it.Content.NewsItem}
		if it.UpdateTime > 0 {
			item.Updated = time.Unix(it.UpdateTime, 0)
		}
		page.Items = append(page.Items, item)
	}
	return page, nil
}

// PublishedArticles returns the articles of the published message
// article_id (freepublish/getarticle), in their order.
func (c *Client) PublishedArticles(ctx context.Context, articleID string) ([]PublishedArticle, error) {
	if articleID == "" {
		return nil, errors.New("wechat: published article: no article_id")
	}
	var ans struct {
		NewsItem []PublishedArticle `json:"news_item"`
	}
	if err := c.postJSON(ctx, epPublishGetArticle, map[string]string{"article_id": articleID}, &ans); err != nil {
		return nil, fmt.Errorf("wechat: published article %s: %w", articleID, err)
	}
	return ans.NewsItem, nil
}
