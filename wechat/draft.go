package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Article is one article of a draft, in the JSON shape of draft/add (and of
// `wxbot render --json`), plus the cover crop fields the SDK lacks.
type Article struct {
	Title              string `json:"title"`
	Author             string `json:"author"`
	Digest             string `json:"digest"`
	Content            string `json:"content"`
	ContentSourceURL   string `json:"content_source_url"`
	ThumbMediaID       string `json:"thumb_media_id"`
	NeedOpenComment    int    `json:"need_open_comment"`     // 0 or 1
	OnlyFansCanComment int    `json:"only_fans_can_comment"` // 0 or 1
	// Cover crops as WeChat's "X1_Y1_X2_Y2" ratios (0–1); empty: WeChat's default.
	PicCrop2351 string `json:"pic_crop_235_1,omitempty"`
	PicCrop11   string `json:"pic_crop_1_1,omitempty"`
	// URL is the draft's preview URL, answered by draft/get only.
	URL string `json:"url,omitempty"`
}

// AddDraft saves articles (1 to 8) as a draft and returns its media_id.
// Retried on failure: a lost answer leaves an orphan draft in the drafts
// box, never a broadcast.
func (c *Client) AddDraft(ctx context.Context, articles []Article) (string, error) {
	if len(articles) == 0 {
		return "", errors.New("wechat: add draft: no articles")
	}
	for i := range articles {
		articles[i].URL = ""
	}
	var ans struct {
		MediaID string `json:"media_id"`
	}
	if err := c.postJSON(ctx, epDraftAdd, map[string]any{"articles": articles}, &ans); err != nil {
		return "", fmt.Errorf("wechat: add draft: %w", err)
	}
	if ans.MediaID == "" {
		return "", fmt.Errorf("wechat: add draft: %w", &TransportError{Endpoint: epDraftAdd.name, msg: "answer carries no media_id"})
	}
	return ans.MediaID, nil
}

// UpdateDraft replaces the article at index (0-based) of draft mediaID.
func (c *Client) UpdateDraft(ctx context.Context, mediaID string, index int, a Article) error {
	a.URL = ""
	body := map[string]any{"media_id": mediaID, "index": index, "articles": a}
	if err := c.postJSON(ctx, epDraftUpdate, body, nil); err != nil {
		return fmt.Errorf("wechat: update draft %s article %d: %w", mediaID, index, err)
	}
	return nil
}

// GetDraft returns the articles of draft mediaID.
func (c *Client) GetDraft(ctx context.Context, mediaID string) ([]Article, error) {
	var ans struct {
		NewsItem []Article `json:"news_item"`
	}
	if err := c.postJSON(ctx, epDraftGet, map[string]string{"media_id": mediaID}, &ans); err != nil {
		return nil, fmt.Errorf("wechat: get draft %s: %w", mediaID, err)
	}
	return ans.NewsItem, nil
}

// DeleteDraft deletes draft mediaID. A repeat after a lost answer gets
// errcode 40007 (no such draft), which callers may treat as done.
func (c *Client) DeleteDraft(ctx context.Context, mediaID string) error {
	err := c.sdkCall(ctx, epDraftDelete, func() error { return c.draft.DeleteDraft(mediaID) })
	if err != nil {
		return fmt.Errorf("wechat: delete draft %s: %w", mediaID, err)
	}
	return nil
}

// SubmitPublish submits draft mediaID for publication (freepublish) and
// returns the publish_id. errcode 0 means accepted, not done: the outcome
// comes as PUBLISHJOBFINISH or from GetPublish. Not retried after a lost
// answer: a second submit would publish the articles twice; the error is
// then a *TransportError and the outcome unknown.
func (c *Client) SubmitPublish(ctx context.Context, mediaID string) (string, error) {
	var ans struct {
		PublishID flexString `json:"publish_id"`
	}
	if err := c.postJSON(ctx, epPublishSubmit, map[string]string{"media_id": mediaID}, &ans); err != nil {
		return "", fmt.Errorf("wechat: submit draft %s for publication: %w", mediaID, err)
	}
	return string(ans.PublishID), nil
}

// GetPublish asks for the state of a publication (freepublish/get).
func (c *Client) GetPublish(ctx context.Context, publishID string) (PublishJobEvent, error) {
	var ans struct {
		PublishID     flexString `json:"publish_id"`
		PublishStatus int        `json:"publish_status"`
		ArticleID     string     `json:"article_id"`
		ArticleDetail struct {
			Count int `json:"count"`
			Item  []struct {
				Idx        int    `json:"idx"`
				ArticleURL string `json:"article_url"`
			} `json:"item"`
		} `json:"article_detail"`
		FailIdx []int `json:"fail_idx"`
	}
	if err := c.postJSON(ctx, epPublishGet, map[string]string{"publish_id": publishID}, &ans); err != nil {
		return PublishJobEvent{}, fmt.Errorf("wechat: get publication %s: %w", publishID, err)
	}
	ev := PublishJobEvent{
		PublishID: string(ans.PublishID),
		Status:    ans.PublishStatus,
		ArticleID: ans.ArticleID,
		FailIdx:   ans.FailIdx,
	}
	// idx is 1-based and may come in any order.
	items := ans.ArticleDetail.Item
	sort.SliceStable(items, func(i, j int) bool { return items[i].Idx < items[j].Idx })
	for _, it := range items {
		ev.ArticleURLs = append(ev.ArticleURLs, it.ArticleURL)
	}
	return ev, nil
}

// flexString accepts a JSON string or number: WeChat documents publish_id
// and msg_data_id as strings but has answered numbers.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*f = ""
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}
