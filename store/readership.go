package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// ReadershipDay is one day's datacube figures as JSON, ready to keep.
type ReadershipDay struct {
	Date     string            // YYYY-MM-DD, Beijing
	Articles map[string][]byte // msgid → that day's article figures: replaces the day's
	Users    map[string][]byte // read|share|summary|cumulate → the account's figures
	Totals   map[string][]byte // msgid → the article's figures per day since its send
}

// SaveReadershipDay replaces d's day of article figures, writes the
// account's figures and the articles' totals, and marks the day collected,
// in one MULTI (every key shares the {readership} hash tag).
func SaveReadershipDay(ctx context.Context, rdb redis.Cmdable, k Keys, d ReadershipDay) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		ak := k.ReadershipArticles(d.Date)
		p.Del(ctx, ak)
		for msgID, b := range d.Articles {
			p.HSet(ctx, ak, msgID, b)
		}
		uk := k.ReadershipUsers(d.Date)
		for field, b := range d.Users {
			p.HSet(ctx, uk, field, b)
		}
		for msgID, b := range d.Totals {
			p.HSet(ctx, k.ReadershipTotals(), msgID, b)
		}
		p.SAdd(ctx, k.ReadershipDays(), d.Date)
		return nil
	})
	return err
}
