package wechat

import (
	"context"
	"errors"
	"fmt"
)

// Withdrawal endpoints. A repeat finds the send already deleted, which
// WeChat answers as a success or with an error the caller treats as done.
var (
	epMassDelete    = endpoint{"message/mass/delete", idempotent}
	epPublishDelete = endpoint{"freepublish/delete", idempotent}
)

// DeleteMass withdraws a mass send (message/mass/delete): the articles are
// deleted from the followers' message lists and their pages show
// "deleted". article is 1-based; 0 withdraws every article of the send.
func (c *Client) DeleteMass(ctx context.Context, msgID int64, article int) error {
	if msgID == 0 {
		return errors.New("wechat: withdraw mass send: no msg_id")
	}
	body := map[string]any{"msg_id": msgID}
	if article > 0 {
		body["article_idx"] = article
	}
	if err := c.postJSON(ctx, epMassDelete, body, nil); err != nil {
		return fmt.Errorf("wechat: withdraw mass send %d: %w", msgID, err)
	}
	return nil
}

// DeletePublication withdraws a publication (freepublish/delete) by its
// article_id. index is 1-based; 0 withdraws every article.
func (c *Client) DeletePublication(ctx context.Context, articleID string, index int) error {
	if articleID == "" {
		return errors.New("wechat: withdraw publication: no article_id")
	}
	body := map[string]any{"article_id": articleID}
	if index > 0 {
		body["index"] = index
	}
	if err := c.postJSON(ctx, epPublishDelete, body, nil); err != nil {
		return fmt.Errorf("wechat: withdraw publication %s: %w", articleID, err)
	}
	return nil
}
