package wechat

import (
	"context"
	"errors"
	"fmt"
)

// Tag is a WeChat user tag.
type Tag struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// MaxBatchTagging is how many openids batchtagging/batchuntagging take per call.
const MaxBatchTagging = 50

// CreateTag creates a tag (names ≤ 30 bytes, ≤ 100 tags per account). A tag
// that already exists (45157, e.g. a retry after a lost answer) is looked
// up and returned instead.
func (c *Client) CreateTag(ctx context.Context, name string) (Tag, error) {
	var tag Tag
	err := c.sdkCall(ctx, epTagCreate, func() error {
		t, err := c.users.CreateTag(name)
		if err == nil && t != nil {
			tag = Tag{ID: int(t.ID), Name: t.Name, Count: int(t.Count)}
		}
		return err
	})
	if IsCode(err, CodeTagExists) {
		tags, lerr := c.Tags(ctx)
		if lerr != nil {
			return Tag{}, fmt.Errorf("wechat: create tag %q: exists, and listing tags failed: %w", name, lerr)
		}
		for _, t := range tags {
			if t.Name == name {
				return t, nil
			}
		}
		return Tag{}, fmt.Errorf("wechat: create tag %q: %w", name, err)
	}
	if err != nil {
		return Tag{}, fmt.Errorf("wechat: create tag %q: %w", name, err)
	}
	if tag.ID == 0 {
		return Tag{}, fmt.Errorf("wechat: create tag %q: %w", name, &TransportError{Endpoint: epTagCreate.name, msg: "answer carries no tag id"})
	}
	return tag, nil
}

// Tags lists the account's tags. Not through the SDK: its GetTag ignores
// the errcode and would report a refused token as "no tags".
func (c *Client) Tags(ctx context.Context) ([]Tag, error) {
	var ans struct {
		Tags []Tag `json:"tags"`
	}
	err := c.invoke(ctx, epTagGet, true, func(ctx context.Context, token string) error {
		raw, err := httpGet(ctx, c.url(epTagGet.name, token))
		if err != nil {
			return classify(epTagGet.name, err)
		}
		return decode(epTagGet.name, raw, &ans)
	})
	if err != nil {
		return nil, fmt.Errorf("wechat: list tags: %w", err)
	}
	return ans.Tags, nil
}

// TagUsers adds tag tagID to openids, at most 50 per call (more are sent in
// several calls; a failure stops there). Idempotent, so retried.
func (c *Client) TagUsers(ctx context.Context, tagID int, openids []string) error {
	return c.batchTag(ctx, epTagging, tagID, openids)
}

// UntagUsers removes tag tagID from openids, at most 50 per call.
func (c *Client) UntagUsers(ctx context.Context, tagID int, openids []string) error {
	return c.batchTag(ctx, epUntagging, tagID, openids)
}

func (c *Client) batchTag(ctx context.Context, ep endpoint, tagID int, openids []string) error {
	if tagID <= 0 {
		return errors.New("wechat: " + ep.name + ": invalid tag id")
	}
	for start := 0; start < len(openids); start += MaxBatchTagging {
		chunk := openids[start:min(start+MaxBatchTagging, len(openids))]
		err := c.sdkCall(ctx, ep, func() error {
			if ep == epTagging {
				return c.users.BatchTag(chunk, int32(tagID))
			}
			return c.users.BatchUntag(chunk, int32(tagID))
		})
		if err != nil {
			return fmt.Errorf("wechat: %s tag %d (%d openids from #%d): %w", ep.name, tagID, len(chunk), start, err)
		}
	}
	return nil
}
