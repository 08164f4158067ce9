package publisher

import (
	"context"
	"errors"
	"fmt"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/wechat"
)

// draftArticles is the draft/add body of a rendered issue: what WeChat
// holds, and what the draft hash is taken over.
func draftArticles(d *render.Draft, thumb string) []wechat.Article {
	out := make([]wechat.Article, len(d.Articles))
	for i, a := range d.Articles {
		out[i] = wechat.Article{
			Title: a.Title, Author: a.Author, Digest: a.Digest, Content: a.Content,
			ContentSourceURL: a.ContentSourceURL, ThumbMediaID: thumb,
			NeedOpenComment: a.NeedOpenComment, OnlyFansCanComment: a.OnlyFansCanComment,
		}
	}
	return out
}

// ErrRenderChanged: the render settings changed since the draft was made,
// so rendering the kept source now would not give what WeChat holds.
var ErrRenderChanged = errors.New("publisher: the draft in WeChat was rendered with other render settings than this process's")

// Drafted re-renders the drafted issue n from the source the pipeline kept,
// with the image URLs it uploaded, exactly as the pipeline did before
// draft/add, and checks the result against the hash recorded with the
// draft (ErrRenderChanged when it differs), so a page showing it never
// shows something other than what WeChat holds. It returns nils when n is
// unknown or has no draft yet.
func (p *Publisher) Drafted(ctx context.Context, n int) (*newsletter.Issue, *render.Draft, error) {
	rec, err := p.Get(ctx, n)
	if errors.Is(err, ErrUnknownIssue) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if rec.DraftMediaID == "" || len(rec.Source) == 0 {
		return nil, nil, nil
	}
	iss, _, err := newsletter.Parse(rec.File, rec.Source)
	if err != nil {
		return nil, nil, fmt.Errorf("publisher: parse the drafted source of No.%d: %w", n, err)
	}
	d, _, err := render.Render(iss, p.renderOptions(rec.Images))
	if err != nil {
		return nil, nil, fmt.Errorf("publisher: render the drafted No.%d: %w", n, err)
	}
	if rec.DraftHash != "" && draftHash(draftArticles(d, rec.CoverMediaID)) != rec.DraftHash {
		return nil, nil, fmt.Errorf("No.%d: %w", n, ErrRenderChanged)
	}
	return iss, d, nil
}
