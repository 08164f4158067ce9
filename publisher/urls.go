package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/render"
	"github.com/lifang/wxbot/wechat"
)

// Article URLs of a mass send whose report carried none. WeChat puts them
// in MASSSENDJOBFINISH's ArticleUrlResult, which developers report
// arriving empty (WECHAT.md §5), and message/mass/get answers a status
// only. The published list (freepublish/batchget, official page 获取已发布的
// 消息列表) holds the articles with their permanent URLs: the broadcast is
// found there by its titles, in the draft's article order, and the URLs go
// into the record and the archive (the chat's cards link to them). The
// asks are bounded: at most maxURLAsks per issue, a few pages each, spaced
// like the outcome polls; when they run out the status says the URLs are
// "unknown — check the platform". A job report that brings them later
// still records them.

const (
	maxURLAsks  = 4
	maxURLPages = 2 // pages of wechat.MaxPublishedPage messages per ask: the newest 40
	// urlTimeWindow: how far from the send a published message may be
	// dated and still be taken for it when no titles are known.
	urlTimeWindow = 6 * time.Hour
)

// PublishedLister reads WeChat's published list. *wechat.Client
// implements it; an API without it leaves missing URLs unknown.
type PublishedLister interface {
	PublishedList(ctx context.Context, offset, count int) (wechat.PublishedPage, error)
}

var _ PublishedLister = (*wechat.Client)(nil)

// needsURLs: a mass send that went out, whose URLs no report gave, and
// whose lookups have not run out.
func (r *Record) needsURLs() bool {
	return r.State == StateFinished && r.hasMass() && len(r.URLs) == 0 && !r.URLsUnknown &&
		r.MassStatus != "" && massOK(r.MassStatus) && len(r.Retracted) == 0
}

// URLStatus says, for wxbot status, where the article URLs stand when
// there are none; "" when there are some or none are expected.
func (r *Record) URLStatus() string {
	switch {
	case len(r.URLs) > 0 || !r.hasMass() || r.State != StateFinished || !massOK(r.MassStatus):
		return ""
	case r.URLsUnknown:
		return fmt.Sprintf("unknown — check the platform (%s): WeChat's report carried none and %d %s in the published list (freepublish/batchget) found no match",
			adminRecord(r), r.URLAsks, plural(r.URLAsks, "look-up", "look-ups"))
	case r.URLAsks > 0:
		return fmt.Sprintf("not known yet: WeChat's report carried none; looked up %d of at most %d times in the published list", r.URLAsks, maxURLAsks)
	}
	return "not known yet: WeChat's report carried none; wxbot looks them up in the published list (freepublish/batchget)"
}

// urlDelay is the wait before the asks-th look-up (from 0): a tenth of
// OutcomeAfter, doubling.
func (p *Publisher) urlDelay(asks int) time.Duration {
	d := max(p.outcomeAfter/10, 10*time.Millisecond)
	for i := 0; i < asks && d < maxPollDelay; i++ {
		d *= 2
	}
	return min(d, maxPollDelay)
}

// wantURLs schedules the look-up of the article URLs of a finished mass
// send whose report carried none. Called after the outcome is recorded
// (job report, poll, send).
func (p *Publisher) wantURLs(ctx context.Context, rec *Record) {
	if rec == nil || !rec.needsURLs() {
		return
	}
	if _, ok := p.api.(PublishedLister); !ok || p.api == nil {
		return
	}
	at := p.now().Add(p.urlDelay(rec.URLAsks))
	err := p.rdb.ZAdd(context.WithoutCancel(ctx), p.keys.PublishSchedule(), redis.Z{Score: float64(at.UnixMilli()), Member: strconv.Itoa(rec.Number)}).Err()
	if err != nil {
		p.log.Warn("publisher: could not schedule the look-up of the article URLs", slog.Int("issue", rec.Number), slog.Any("error", err))
	}
}

// lookupURLs is the scheduler's action on a finished issue: one look-up of
// its article URLs in the published list.
func (r *run) lookupURLs() error {
	p := r.p
	unschedule := func() error { return p.rdb.ZRem(r.ctx, p.keys.PublishSchedule(), strconv.Itoa(r.rec.Number)).Err() }
	lister, ok := p.api.(PublishedLister)
	if !r.rec.needsURLs() || !ok || p.api == nil {
		return unschedule()
	}
	titles := r.titles()
	urls, err := findURLs(r.ctx, lister, titles, r.rec.DraftCount, r.rec.SentAt)
	if err != nil {
		p.log.Warn("publisher: look up the article URLs in the published list", slog.Int("issue", r.rec.Number), slog.Any("error", err))
	}
	found, unknown := false, false
	err = r.set(func(x *Record) (string, []op, error) {
		found, unknown = false, false
		if !x.needsURLs() {
			return "", nil, errNoChange
		}
		x.URLAsks++
		if len(urls) > 0 {
			x.URLs, found = urls, true
			return fmt.Sprintf("article URLs found in the published list (freepublish/batchget): %d", len(urls)), []op{opZRem()}, nil
		}
		if x.URLAsks >= maxURLAsks {
			x.URLsUnknown, unknown = true, true
			return "article URLs unknown — check the platform: " + fmt.Sprint(x.URLAsks) + " look-ups in the published list found no match", []op{opZRem()}, nil
		}
		return fmt.Sprintf("article URLs not in the published list yet (look-up %d of %d)", x.URLAsks, maxURLAsks),
			[]op{opZAdd(p.now().Add(p.urlDelay(x.URLAsks)))}, nil
	})
	if err != nil {
		return err
	}
	switch {
	case found:
		p.setURLs(r.ctx, r.rec.Number, r.rec.URLs)
	case unknown:
		p.notify(r.ctx, Notice{Kind: notify.URLsUnknown, Number: r.rec.Number, Reason: adminRecord(r.rec)})
	}
	return nil
}

// titles are the titles of the broadcast's articles in their order, as
// rendered from the stored source; nil when it no longer renders.
func (r *run) titles() []string {
	iss, err := r.issue()
	if err != nil {
		return nil
	}
	d, _, err := render.Render(iss, r.p.renderOptions(r.rec.Images))
	if err != nil {
		return nil
	}
	out := make([]string, len(d.Articles))
	for i, a := range d.Articles {
		out[i] = a.Title
	}
	return out
}

// findURLs looks for the broadcast in the newest published messages: the
// one whose article titles are titles, in order (the one dated nearest the
// send when several are); without titles, the only one of count articles
// dated within urlTimeWindow of the send. nil when none matches.
func findURLs(ctx context.Context, api PublishedLister, titles []string, count int, sent time.Time) ([]string, error) {
	if len(titles) > 0 {
		count = len(titles)
	}
	if count < 1 {
		return nil, nil
	}
	var best []string
	var bestGap time.Duration
	candidates := 0
	var lastErr error
	for page := 0; page < maxURLPages; page++ {
		pg, err := api.PublishedList(ctx, page*wechat.MaxPublishedPage, wechat.MaxPublishedPage)
		if err != nil {
			lastErr = err
			break
		}
		for _, it := range pg.Items {
			if len(it.Articles) != count {
				continue
			}
			if len(titles) > 0 && !sameTitles(it.Articles, titles) {
				continue
			}
			gap := it.Updated.Sub(sent).Abs()
			if it.Updated.IsZero() || sent.IsZero() {
				gap = urlTimeWindow
			}
			if len(titles) == 0 && gap >= urlTimeWindow {
				continue
			}
			urls := make([]string, len(it.Articles))
			for i, a := range it.Articles {
				urls[i] = a.URL
			}
			urls, ok := wechatURLs(urls)
			if !ok || len(urls) != count {
				continue
			}
			candidates++
			if best == nil || gap < bestGap {
				best, bestGap = urls, gap
			}
		}
		if (page+1)*wechat.MaxPublishedPage >= pg.Total || len(pg.Items) < wechat.MaxPublishedPage {
			break
		}
	}
	if len(titles) == 0 && candidates != 1 {
		return nil, lastErr // by date alone only an unambiguous match will do
	}
	return best, lastErr
}

func sameTitles(arts []wechat.PublishedArticle, titles []string) bool {
	for i, a := range arts {
		if strings.TrimSpace(a.Title) != strings.TrimSpace(titles[i]) {
			return false
		}
	}
	return true
}
