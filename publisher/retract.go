package publisher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lifang/wxbot/notify"
)

// Retraction is what Retract did.
type Retraction struct {
	Record *Record
	// Mass and Publication say which of WeChat's copies were withdrawn:
	// the mass send (message/mass/delete) and the publication
	// (freepublish/delete).
	Mass, Publication bool
	// Whole is true when the whole issue is now withdrawn (state
	// retracted): the chat no longer shows it.
	Whole bool
}

// Retract withdraws a sent issue from WeChat: the mass send with
// message/mass/delete (msg_id, article_idx) and the publication with
// freepublish/delete (article_id, index). article is 1-based; 0 withdraws
// every article. by names who asked, for the record. An issue withdrawn
// whole is in state retracted: it is never sent again and the chat stops
// showing it. An issue not sent is refused (cancel it instead).
func (p *Publisher) Retract(ctx context.Context, n, article int, by string) (*Retraction, error) {
	if p.api == nil {
		return nil, errors.New("publisher: retract needs the WeChat API")
	}
	lk, lctx, err := p.lockIssue(ctx, n, p.lockWait)
	if err != nil {
		return nil, err
	}
	defer lk.release()
	rec, err := p.load(lctx, n)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, p.refusal(NotInPipeline, n, nil)
	}
	count := max(rec.DraftCount, rec.Articles)
	massSent := rec.hasMass() && rec.MsgID != 0 && rec.Broadcast == BroadcastYes
	published := rec.hasPublish() && rec.PublishID != "" && rec.PublishStep == PublishDone
	if err := p.retractRefusal(n, rec, article, count, massSent, published); err != nil {
		return nil, err
	}
	res, pubErr, err := p.withdraw(lctx, n, rec, article, massSent, published)
	if err != nil {
		return nil, err
	}

	what := "the whole issue"
	if article > 0 {
		what = fmt.Sprintf("article %d", article)
	}
	var parts []string
	if res.Mass {
		parts = append(parts, fmt.Sprintf("mass send %d", rec.MsgID))
	}
	if res.Publication {
		parts = append(parts, "publication "+rec.PublishID)
	}
	res.Record, err = p.update(lctx, guard{lockToken: lk.token}, n, func(x *Record) (string, []op, error) {
		note := fmt.Sprintf("withdrew %s (%s)", what, strings.Join(parts, ", "))
		if pubErr != nil {
			// Recorded as not withdrawn, so running retract again finishes it.
			return note + "; the publication was NOT withdrawn: " + pubErr.Error(), nil, nil
		}
		if !slices.Contains(x.Retracted, article) {
			x.Retracted = append(x.Retracted, article)
		}
		x.RetractedAt, x.RetractedBy = p.now(), by
		x.act = audit{Action: ActionRetracted, By: by}
		res.Whole = article == 0 || (count > 0 && len(x.Retracted) >= count)
		if res.Whole {
			x.State = StateRetracted
		}
		return note, []op{opZRem()}, nil
	})
	if err != nil {
		return nil, err
	}
	p.notify(ctx, Notice{Kind: notify.Retracted, Number: n, What: what, By: by, Reason: strings.Join(parts, ", ")})
	return res, pubErr
}

// retractRefusal refuses retracting article of issue n (rec) (of count articles) when
// it is already withdrawn, was not sent, or does not exist.
func (p *Publisher) retractRefusal(n int, rec *Record, article, count int, massSent, published bool) error {
	retracted := func(article int) *Refusal {
		rf := p.at(p.refusal(AlreadyRetracted, n, rec), rec.RetractedAt)
		rf.By, rf.Article, rf.Articles = rec.RetractedBy, article, count
		return rf
	}
	switch {
	case rec.State == StateRetracted || slices.Contains(rec.Retracted, 0):
		return retracted(0)
	case !massSent && !published:
		if rec.Broadcast == BroadcastMaybe {
			return p.refusal(OutcomeUnknown, n, rec)
		}
		return p.refusal(NotSent, n, rec)
	case article < 0 || (count > 0 && article > count):
		rf := p.refusal(NoSuchArticle, n, rec)
		rf.Article, rf.Articles = article, count
		return rf
	case article > 0 && slices.Contains(rec.Retracted, article):
		return retracted(article)
	}
	return nil
}

// withdraw asks WeChat to delete article of issue n (rec): the mass send
// and the publication, whichever went out. pubErr is the publication's failure after
// the mass send was withdrawn: recorded, and returned with what was done.
func (p *Publisher) withdraw(ctx context.Context, n int, rec *Record, article int, massSent, published bool) (res *Retraction, pubErr, err error) {
	res = &Retraction{}
	if massSent {
		if err := p.api.DeleteMass(ctx, rec.MsgID, article); err != nil {
			return nil, nil, fmt.Errorf("publisher: No.%d: withdraw the mass send: %w", n, err)
		}
		res.Mass = true
	}
	if published {
		pub, err := p.api.GetPublish(ctx, rec.PublishID)
		if err == nil && pub.ArticleID == "" {
			err = errors.New("WeChat gave no article_id for the publication")
		}
		if err == nil {
			err = p.api.DeletePublication(ctx, pub.ArticleID, article)
		}
		switch {
		case err == nil:
			res.Publication = true
		case res.Mass:
			// What was withdrawn is recorded by Retract; the error says what was not.
			pubErr = fmt.Errorf("publisher: No.%d: the mass send was withdrawn but not the publication: %w", n, err)
		default:
			return nil, nil, fmt.Errorf("publisher: No.%d: withdraw the publication: %w", n, err)
		}
	}
	return res, pubErr, nil
}
