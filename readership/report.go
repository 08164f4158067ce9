package readership

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lifang/wxbot/subscribers"
	"github.com/lifang/wxbot/wechat"
)

// ArticleFigures is one article of an issue with WeChat's figures.
type ArticleFigures struct {
	Index int    `json:"index"` // 1-based, as in the msgid
	MsgID string `json:"msgid"` // <msg_data_id>_<index>
	Title string `json:"title,omitempty"`
	// Reads is int_page_read_user (readers of the article page), cumulative
	// per day since the send (index 0 = the send day), as WeChat gives it.
	Reads  []int `json:"reads_by_day,omitempty"`
	Total  int   `json:"reads"`
	Counts int   `json:"read_count"` // int_page_read_count
	Shares int   `json:"shares"`     // share_count
	Favs   int   `json:"favourites"` // add_to_fav_count
	Target int   `json:"target_user,omitempty"`
}

// IssueFigures is an issue's readership: its articles' figures summed.
type IssueFigures struct {
	Number    int       `json:"number"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	SentDate  string    `json:"sent_date,omitempty"` // Beijing
	MsgDataID int64     `json:"msg_data_id"`
	// SentCount is the followers reached: WeChat's SentCount from the job
	// report, or without one getarticletotal's target_user.
	SentCount int `json:"sent_count"`
	// Day1, Day3, Day7: readers by the end of the send day, the third and
	// the seventh day (0 while WeChat has no figures for that day yet).
	Day1  int `json:"reads_day1"`
	Day3  int `json:"reads_day3"`
	Day7  int `json:"reads_day7"`
	Total int `json:"reads"`
	// ReadsByDay is the issue's readers, cumulative, per day since the send.
	ReadsByDay []int `json:"reads_by_day,omitempty"`
	Shares     int   `json:"shares"`
	Favs       int   `json:"favourites"`
	// PerFollower is Total / SentCount (0 when SentCount is unknown).
	PerFollower float64          `json:"reads_per_follower"`
	Articles    []ArticleFigures `json:"articles"`
	// HasFigures is false until WeChat reported on the issue.
	HasFigures bool `json:"has_figures"`
}

// FollowerDay is the account's followers on one day.
type FollowerDay struct {
	Date     string         `json:"date"`
	Total    int            `json:"followers"` // cumulate_user
	New      int            `json:"new"`
	Lost     int            `json:"lost"`
	BySource map[string]int `json:"new_by_source,omitempty"`
	Reads    int            `json:"reads"`  // getuserread int_page_read_user
	Shares   int            `json:"shares"` // getusershare share_count
}

// Report is what `wxbot stats` and /admin show.
type Report struct {
	Yesterday string                   `json:"figures_until"` // last day WeChat has figures for
	Issues    []IssueFigures           `json:"issues"`
	Followers []FollowerDay            `json:"followers"`
	Scenes    []subscribers.SceneStats `json:"scenes,omitempty"`
	// Topics are the followers subscribed to each section's topic, as
	// WeChat counted its tags at TopicsAt (the last collection).
	Topics   []TopicCount `json:"topics,omitempty"`
	TopicsAt *time.Time   `json:"topics_counted_at,omitempty"`
	// Missing lists the days of the window not collected yet.
	Missing []string `json:"missing_days,omitempty"`
}

// UserSources names datacube's user_source values.
var UserSources = map[int]string{
	0: "search", 1: "other_account", 17: "card_share", 30: "qr_code", 35: "menu",
	39: "article_menu", 43: "article", 51: "payment", 57: "article_top", 75: "public_account_card",
	78: "live", 149: "mini_program", 161: "ads", 176: "article_end",
}

func sourceName(n int) string {
	if s, ok := UserSources[n]; ok {
		return s
	}
	return "source_" + strconv.Itoa(n)
}

// Report joins the stored figures with the last issues (at most n, newest
// first; 0 for all) and the last days of follower figures.
func (c *Collector) Report(ctx context.Context, n, days int) (*Report, error) {
	now := c.Now()
	window := c.window(now, days)
	rep := &Report{Yesterday: wechat.DatacubeYesterday(now), Issues: []IssueFigures{}, Followers: []FollowerDay{}}
	have, err := c.store.Collected(ctx, window)
	if err != nil {
		return nil, err
	}
	for _, d := range window {
		if !have[d] {
			rep.Missing = append(rep.Missing, d)
		}
	}
	if c.records != nil {
		recs, err := c.records.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("readership: %w", err)
		}
		for _, r := range recs {
			if r.MsgDataID == 0 {
				continue
			}
			if n > 0 && len(rep.Issues) >= n {
				break
			}
			articles := r.DraftCount
			if articles == 0 {
				articles = r.Articles
			}
			fig, err := c.issue(ctx, r.Number, r.MsgDataID, articles, r.SentCount, r.SentAt)
			if err != nil {
				return nil, err
			}
			rep.Issues = append(rep.Issues, fig)
		}
	}
	dayFigs, err := c.store.Days(ctx, window)
	if err != nil {
		return nil, err
	}
	for _, d := range dayFigs {
		f := FollowerDay{Date: d.Date, BySource: map[string]int{}}
		for _, cu := range d.Cumulate {
			f.Total = cu.CumulateUser
		}
		for _, s := range d.Summary {
			f.New += s.NewUser
			f.Lost += s.CancelUser
			if s.NewUser > 0 {
				f.BySource[sourceName(s.UserSource)] += s.NewUser
			}
		}
		for _, r := range d.Read {
			f.Reads += r.IntPageReadUser
		}
		for _, s := range d.Share {
			f.Shares += s.ShareCount
		}
		rep.Followers = append(rep.Followers, f)
	}
	if c.scenes != nil {
		if st, err := c.scenes.Stats(ctx); err == nil {
			rep.Scenes = st
		} else {
			c.log.WarnContext(ctx, "readership: QR scene stats", "error", err)
		}
	}
	if t, err := c.storedTopics(ctx); err != nil {
		c.log.WarnContext(ctx, "readership: topic counts", "error", err)
	} else if t != nil {
		rep.Topics, rep.TopicsAt = t.Topics, &t.At
	}
	return rep, nil
}

// Issue is issue number's figures joined as in Report, and the last day
// WeChat has figures for; nil when the issue was not broadcast (no
// msg_data_id) or there is no publisher's list.
func (c *Collector) Issue(ctx context.Context, number int) (*IssueFigures, string, error) {
	yesterday := wechat.DatacubeYesterday(c.Now())
	if c.records == nil {
		return nil, yesterday, nil
	}
	recs, err := c.records.List(ctx)
	if err != nil {
		return nil, yesterday, fmt.Errorf("readership: %w", err)
	}
	for _, r := range recs {
		if r.Number != number || r.MsgDataID == 0 {
			continue
		}
		articles := r.DraftCount
		if articles == 0 {
			articles = r.Articles
		}
		fig, err := c.issue(ctx, r.Number, r.MsgDataID, articles, r.SentCount, r.SentAt)
		if err != nil {
			return nil, yesterday, err
		}
		return &fig, yesterday, nil
	}
	return nil, yesterday, nil
}

// maxArticles bounds the msgids asked for one issue (WeChat sends ≤ 8).
const maxArticles = 8

// issue joins one issue's msgids with the stored totals.
func (c *Collector) issue(ctx context.Context, number int, msgDataID int64, articles, sentCount int, sentAt time.Time) (IssueFigures, error) {
	fig := IssueFigures{Number: number, MsgDataID: msgDataID, SentCount: sentCount, SentAt: sentAt, Articles: []ArticleFigures{}}
	if !sentAt.IsZero() {
		fig.SentDate = wechat.BeijingDate(sentAt)
	}
	if articles < 1 || articles > maxArticles {
		articles = maxArticles // unknown: ask for every index WeChat could use
	}
	ids := make([]string, articles)
	for i := range ids {
		ids[i] = MsgID(msgDataID, i+1)
	}
	totals, err := c.store.Totals(ctx, ids)
	if err != nil {
		return fig, err
	}
	for i, id := range ids {
		t, ok := totals[id]
		if !ok {
			continue
		}
		a := ArticleFigures{Index: i + 1, MsgID: id, Title: t.Title}
		details := append([]wechat.ArticleTotalDetail(nil), t.Details...)
		sort.Slice(details, func(x, y int) bool { return details[x].StatDate < details[y].StatDate })
		for _, d := range details {
			a.Reads = append(a.Reads, d.IntPageReadUser)
		}
		if len(details) > 0 {
			last := details[len(details)-1]
			a.Total, a.Counts, a.Shares, a.Favs, a.Target = last.IntPageReadUser, last.IntPageReadCount, last.ShareCount, last.AddToFavCount, last.TargetUser
		}
		fig.Articles = append(fig.Articles, a)
		fig.HasFigures = true
		if t.RefDate != "" {
			fig.SentDate = t.RefDate // WeChat's day of the send
		}
		if fig.SentCount == 0 && a.Target > fig.SentCount {
			fig.SentCount = a.Target // no job report: WeChat's target_user
		}
		fig.Total += a.Total
		fig.Shares += a.Shares
		fig.Favs += a.Favs
		for d, r := range a.Reads {
			for len(fig.ReadsByDay) <= d {
				fig.ReadsByDay = append(fig.ReadsByDay, 0)
			}
			fig.ReadsByDay[d] += r
		}
	}
	at := func(day int) int {
		if day <= len(fig.ReadsByDay) {
			return fig.ReadsByDay[day-1]
		}
		return 0
	}
	fig.Day1, fig.Day3, fig.Day7 = at(1), at(3), at(7)
	if fig.SentCount > 0 {
		fig.PerFollower = float64(fig.Total) / float64(fig.SentCount)
	}
	return fig, nil
}

// MsgID is datacube's msgid for article index (1-based) of a mass send.
func MsgID(msgDataID int64, index int) string {
	return strconv.FormatInt(msgDataID, 10) + "_" + strconv.Itoa(index)
}

// ParseMsgID splits a datacube msgid into msg_data_id and article index.
func ParseMsgID(s string) (int64, int, bool) {
	a, b, ok := strings.Cut(s, "_")
	if !ok {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(a, 10, 64)
	idx, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || id <= 0 || idx < 1 {
		return 0, 0, false
	}
	return id, idx, true
}

// Latest returns the latest sent issue's readers and the followers at the
// end of the last day WeChat reported within the last week; ok is false
// for a figure not collected yet.
func (c *Collector) Latest(ctx context.Context) (reads int, readsOK bool, followers int, followersOK bool, err error) {
	rep, err := c.Report(ctx, 1, articleDays)
	if err != nil {
		return 0, false, 0, false, err
	}
	if len(rep.Issues) > 0 && rep.Issues[0].HasFigures {
		reads, readsOK = rep.Issues[0].Total, true
	}
	for i := len(rep.Followers) - 1; i >= 0; i-- {
		if rep.Followers[i].Total > 0 {
			return reads, readsOK, rep.Followers[i].Total, true, nil
		}
	}
	return reads, readsOK, 0, false, nil
}
