package wechat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// Data statistics (datacube). Every endpoint takes a begin_date and an
// end_date (YYYY-MM-DD, Beijing time), answers only up to yesterday and
// refuses a range longer than its span (61501) or a date it cannot read
// (61500). The methods here split a range into calls within the span and
// clamp it to yesterday, so a caller never triggers 61501 (WECHAT.md §6).
// Field names follow WeChat's (and silenceper's officialaccount/datacube).

// DateLayout is datacube's date format.
const DateLayout = "2006-01-02"

// Beijing is China Standard Time, fixed (no tzdata needed).
var Beijing = time.FixedZone("CST", 8*3600)

// Datacube endpoints and their span in days per call (WECHAT.md §6).
var (
	epArticleSummary = endpoint{"datacube/getarticlesummary", idempotent}
	epArticleTotal   = endpoint{"datacube/getarticletotal", idempotent}
	epUserRead       = endpoint{"datacube/getuserread", idempotent}
	epUserShare      = endpoint{"datacube/getusershare", idempotent}
	epUserSummary    = endpoint{"datacube/getusersummary", idempotent}
	epUserCumulate   = endpoint{"datacube/getusercumulate", idempotent}
)

// DatacubeSpans is each datacube endpoint's longest range per call, in days.
var DatacubeSpans = map[string]int{
	epArticleSummary.name: 1,
	epArticleTotal.name:   1,
	epUserRead.name:       3,
	epUserShare.name:      7,
	epUserSummary.name:    7,
	epUserCumulate.name:   7,
}

// maxDatacubeDays bounds one request's range (a year): the loops splitting
// it stay bounded whatever the caller passes.
const maxDatacubeDays = 366

// BeijingDate is t's date in Beijing.
func BeijingDate(t time.Time) string { return t.In(Beijing).Format(DateLayout) }

// DatacubeYesterday is the last day datacube has figures for at now.
func DatacubeYesterday(now time.Time) string {
	return now.In(Beijing).AddDate(0, 0, -1).Format(DateLayout)
}

// ParseDate reads a YYYY-MM-DD date (as a Beijing midnight).
func ParseDate(s string) (time.Time, error) {
	t, err := time.ParseInLocation(DateLayout, s, Beijing)
	if err != nil {
		return time.Time{}, fmt.Errorf("wechat: date %q is not YYYY-MM-DD", s)
	}
	return t, nil
}

// DateRange is one datacube call's range, both ends included.
type DateRange struct{ Begin, End string }

// SplitRange splits from..to (inclusive) into ranges of at most span days,
// after clamping to to yesterday (at now). An empty result means nothing is
// available yet. More than a year is refused.
func SplitRange(from, to string, span int, now time.Time) ([]DateRange, error) {
	if span < 1 {
		return nil, errors.New("wechat: datacube span must be at least 1 day")
	}
	f, err := ParseDate(from)
	if err != nil {
		return nil, err
	}
	t, err := ParseDate(to)
	if err != nil {
		return nil, err
	}
	if y, _ := ParseDate(DatacubeYesterday(now)); t.After(y) {
		t = y
	}
	if t.Before(f) {
		return nil, nil
	}
	if days := int(math.Round(t.Sub(f).Hours()/24)) + 1; days > maxDatacubeDays {
		return nil, fmt.Errorf("wechat: datacube range %s..%s is longer than %d days", from, to, maxDatacubeDays)
	}
	var out []DateRange
	for d := f; !d.After(t); d = d.AddDate(0, 0, span) {
		e := d.AddDate(0, 0, span-1)
		if e.After(t) {
			e = t
		}
		out = append(out, DateRange{d.Format(DateLayout), e.Format(DateLayout)})
	}
	return out, nil
}

// ArticleDay is one article's figures on one day (getarticlesummary).
type ArticleDay struct {
	RefDate          string `json:"ref_date"`
	MsgID            string `json:"msgid"` // <msg_data_id>_<article index>
	Title            string `json:"title"`
	IntPageReadUser  int    `json:"int_page_read_user"`
	IntPageReadCount int    `json:"int_page_read_count"`
	OriPageReadUser  int    `json:"ori_page_read_user"`
	OriPageReadCount int    `json:"ori_page_read_count"`
	ShareUser        int    `json:"share_user"`
	ShareCount       int    `json:"share_count"`
	AddToFavUser     int    `json:"add_to_fav_user"`
	AddToFavCount    int    `json:"add_to_fav_count"`
}

// ArticleTotal is an article sent on RefDate with its cumulative figures
// per day since (getarticletotal).
type ArticleTotal struct {
	RefDate string               `json:"ref_date"`
	MsgID   string               `json:"msgid"`
	Title   string               `json:"title"`
	Details []ArticleTotalDetail `json:"details"`
}

// ArticleTotalDetail is the figures up to StatDate.
type ArticleTotalDetail struct {
	StatDate         string `json:"stat_date"`
	TargetUser       int    `json:"target_user"`
	IntPageReadUser  int    `json:"int_page_read_user"`
	IntPageReadCount int    `json:"int_page_read_count"`
	OriPageReadUser  int    `json:"ori_page_read_user"`
	OriPageReadCount int    `json:"ori_page_read_count"`
	ShareUser        int    `json:"share_user"`
	ShareCount       int    `json:"share_count"`
	AddToFavUser     int    `json:"add_to_fav_user"`
	AddToFavCount    int    `json:"add_to_fav_count"`
}

// UserReadDay is the account's reads on one day (getuserread).
type UserReadDay struct {
	RefDate          string `json:"ref_date"`
	UserSource       int    `json:"user_source"`
	IntPageReadUser  int    `json:"int_page_read_user"`
	IntPageReadCount int    `json:"int_page_read_count"`
	OriPageReadUser  int    `json:"ori_page_read_user"`
	OriPageReadCount int    `json:"ori_page_read_count"`
	ShareUser        int    `json:"share_user"`
	ShareCount       int    `json:"share_count"`
	AddToFavUser     int    `json:"add_to_fav_user"`
	AddToFavCount    int    `json:"add_to_fav_count"`
}

// UserShareDay is the account's shares on one day by scene (getusershare).
type UserShareDay struct {
	RefDate    string `json:"ref_date"`
	ShareScene int    `json:"share_scene"`
	ShareCount int    `json:"share_count"`
	ShareUser  int    `json:"share_user"`
}

// UserSummaryDay is new and cancelled followers on one day by source
// (getusersummary; user_source 0 search, 30 QR code, 17 card share, …).
type UserSummaryDay struct {
	RefDate    string `json:"ref_date"`
	UserSource int    `json:"user_source"`
	NewUser    int    `json:"new_user"`
	CancelUser int    `json:"cancel_user"`
}

// UserCumulateDay is the account's followers at the end of a day.
type UserCumulateDay struct {
	RefDate      string `json:"ref_date"`
	CumulateUser int    `json:"cumulate_user"`
}

// ArticleSummary returns every article's figures per day, from..to.
func (c *Client) ArticleSummary(ctx context.Context, from, to string) ([]ArticleDay, error) {
	return datacubeList[ArticleDay](ctx, c, epArticleSummary, from, to)
}

// ArticleTotal returns the articles sent from..to with their figures per
// day since each was sent.
func (c *Client) ArticleTotal(ctx context.Context, from, to string) ([]ArticleTotal, error) {
	return datacubeList[ArticleTotal](ctx, c, epArticleTotal, from, to)
}

// UserRead returns the account's daily reads, from..to.
func (c *Client) UserRead(ctx context.Context, from, to string) ([]UserReadDay, error) {
	return datacubeList[UserReadDay](ctx, c, epUserRead, from, to)
}

// UserShare returns the account's daily shares, from..to.
func (c *Client) UserShare(ctx context.Context, from, to string) ([]UserShareDay, error) {
	return datacubeList[UserShareDay](ctx, c, epUserShare, from, to)
}

// UserSummary returns new and cancelled followers per day and source.
func (c *Client) UserSummary(ctx context.Context, from, to string) ([]UserSummaryDay, error) {
	return datacubeList[UserSummaryDay](ctx, c, epUserSummary, from, to)
}

// UserCumulate returns the followers at the end of each day, from..to.
func (c *Client) UserCumulate(ctx context.Context, from, to string) ([]UserCumulateDay, error) {
	return datacubeList[UserCumulateDay](ctx, c, epUserCumulate, from, to)
}

// datacubeNow is the clock the ranges are clamped to yesterday with.
var datacubeNow = time.Now

func datacubeList[T any](ctx context.Context, c *Client, ep endpoint, from, to string) ([]T, error) {
	ranges, err := SplitRange(from, to, DatacubeSpans[ep.name], datacubeNow())
	if err != nil {
		return nil, err
	}
	var out []T
	for _, r := range ranges {
		var ans struct {
			List []T `json:"list"`
		}
		body := map[string]string{"begin_date": r.Begin, "end_date": r.End}
		err := c.invoke(ctx, ep, true, func(ctx context.Context, token string) error {
			u := c.base + "/" + ep.name + "?access_token=" + url.QueryEscape(token)
			raw, err := util.PostJSONContext(ctx, u, body)
			if err != nil {
				return classify(ep.name, err)
			}
			return decode(ep.name, raw, &ans)
		})
		if err != nil {
			return out, fmt.Errorf("wechat: %s %s..%s: %w", ep.name, r.Begin, r.End, err)
		}
		out = append(out, ans.List...)
	}
	return out, nil
}
