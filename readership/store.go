package readership

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// Store keeps WeChat's datacube figures in Redis as WeChat gave them: per
// day (every article's figures, the account's figures) and per article
// (its figures per day since the send). Every key shares the {readership}
// hash tag, so one MULTI writes a day's figures on Redis Cluster too.
type Store struct {
	rdb  redis.UniversalClient
	keys store.Keys
}

// NewStore keeps the figures in st.
func NewStore(st *store.Store) *Store { return &Store{rdb: st.UniversalClient, keys: st.Keys} }

// DayFigures is the account's figures on one day.
type DayFigures struct {
	Date     string                   `json:"date"`
	Read     []wechat.UserReadDay     `json:"read,omitempty"`
	Share    []wechat.UserShareDay    `json:"share,omitempty"`
	Summary  []wechat.UserSummaryDay  `json:"summary,omitempty"`
	Cumulate []wechat.UserCumulateDay `json:"cumulate,omitempty"`
}

// saveDay writes one day's figures and marks it collected.
func (s *Store) saveDay(ctx context.Context, date string, articles []wechat.ArticleDay, day DayFigures, totals []wechat.ArticleTotal) error {
	d := store.ReadershipDay{Date: date, Articles: map[string][]byte{}, Users: map[string][]byte{}, Totals: map[string][]byte{}}
	for _, a := range articles {
		d.Articles[a.MsgID], _ = json.Marshal(a)
	}
	for field, v := range map[string]any{"read": day.Read, "share": day.Share, "summary": day.Summary, "cumulate": day.Cumulate} {
		d.Users[field], _ = json.Marshal(v)
	}
	for _, t := range totals {
		d.Totals[t.MsgID], _ = json.Marshal(t)
	}
	if err := store.SaveReadershipDay(ctx, s.rdb, s.keys, d); err != nil {
		return fmt.Errorf("readership: store %s: %w", date, err)
	}
	return nil
}

// saveTotals writes articles' figures since their send.
func (s *Store) saveTotals(ctx context.Context, totals []wechat.ArticleTotal) error {
	if len(totals) == 0 {
		return nil
	}
	vals := make([]any, 0, 2*len(totals))
	for _, t := range totals {
		b, _ := json.Marshal(t)
		vals = append(vals, t.MsgID, b)
	}
	return s.rdb.HSet(ctx, s.keys.ReadershipTotals(), vals...).Err()
}

// Collected reports which of dates are collected in full.
func (s *Store) Collected(ctx context.Context, dates []string) (map[string]bool, error) {
	if len(dates) == 0 {
		return map[string]bool{}, nil
	}
	members := make([]any, len(dates))
	for i, d := range dates {
		members[i] = d
	}
	got, err := s.rdb.SMIsMember(ctx, s.keys.ReadershipDays(), members...).Result()
	if err != nil {
		return nil, fmt.Errorf("readership: collected days: %w", err)
	}
	out := make(map[string]bool, len(dates))
	for i, d := range dates {
		out[d] = got[i]
	}
	return out, nil
}

// Totals returns the stored getarticletotal answers of msgids (missing ones left out).
func (s *Store) Totals(ctx context.Context, msgids []string) (map[string]wechat.ArticleTotal, error) {
	out := map[string]wechat.ArticleTotal{}
	if len(msgids) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.keys.ReadershipTotals(), msgids...).Result()
	if err != nil {
		return nil, fmt.Errorf("readership: article totals: %w", err)
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var t wechat.ArticleTotal
		if json.Unmarshal([]byte(str), &t) == nil {
			out[msgids[i]] = t
		}
	}
	return out, nil
}

// Articles returns every article's figures on date, by msgid.
func (s *Store) Articles(ctx context.Context, date string) (map[string]wechat.ArticleDay, error) {
	vals, err := s.rdb.HGetAll(ctx, s.keys.ReadershipArticles(date)).Result()
	if err != nil {
		return nil, fmt.Errorf("readership: articles of %s: %w", date, err)
	}
	out := make(map[string]wechat.ArticleDay, len(vals))
	for k, v := range vals {
		var a wechat.ArticleDay
		if json.Unmarshal([]byte(v), &a) == nil {
			out[k] = a
		}
	}
	return out, nil
}

// Days returns the account's figures on each of dates that has any, in order.
func (s *Store) Days(ctx context.Context, dates []string) ([]DayFigures, error) {
	sort.Strings(dates)
	cmds := make([]*redis.MapStringStringCmd, len(dates))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range dates {
			cmds[i] = p.HGetAll(ctx, s.keys.ReadershipUsers(d))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("readership: account figures: %w", err)
	}
	var out []DayFigures
	for i, c := range cmds {
		f := c.Val()
		if len(f) == 0 {
			continue
		}
		d := DayFigures{Date: dates[i]}
		_ = json.Unmarshal([]byte(f["read"]), &d.Read)
		_ = json.Unmarshal([]byte(f["share"]), &d.Share)
		_ = json.Unmarshal([]byte(f["summary"]), &d.Summary)
		_ = json.Unmarshal([]byte(f["cumulate"]), &d.Cumulate)
		out = append(out, d)
	}
	return out, nil
}
