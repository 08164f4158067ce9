package sandbox

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
)

// Data statistics (datacube/…): the sandbox answers the six endpoints
// wxbot reads with deterministic figures, so the numbers a test expects can
// be computed with ArticleFigures and FollowerFigures. Like WeChat it
// refuses a date it cannot read (61500) and a range that is reversed, longer
// than the endpoint's span or reaches today, Beijing time (61501).

// DatacubeSpans is each datacube endpoint's longest range per call, in days.
var DatacubeSpans = map[string]int{
	"datacube/getarticlesummary": 1,
	"datacube/getarticletotal":   1,
	"datacube/getuserread":       3,
	"datacube/getusershare":      7,
	"datacube/getusersummary":    7,
	"datacube/getusercumulate":   7,
}

// articleDays is how many days after its send an article has figures
// (getarticletotal's details: the send day and six more).
const articleDays = 7

func init() {
	for name := range DatacubeSpans {
		apiRoutes[name] = route{http.MethodPost, true, (*Server).handleDatacube}
	}
}

const dateLayout = "2006-01-02"

// ArticleDay is one article's figures on one day, as the sandbox answers.
type ArticleDay struct {
	ReadUser, ReadCount int // int_page_read_user/count
	OriUser, OriCount   int // ori_page_read_user/count
	ShareUser, Share    int // share_user/count
	FavUser, Fav        int // add_to_fav_user/count
}

// ArticleFigures is the sandbox's figures for article index (1-based) of
// the send with msgDataID, on day (0 = the send day) after the send that
// reached recipients. Reads fall day by day.
func ArticleFigures(msgDataID int64, index, day, recipients int) ArticleDay {
	if day < 0 || day >= articleDays || index < 1 {
		return ArticleDay{}
	}
	base := recipients/(2*index) + int((msgDataID*7+int64(index)*13)%17) + 5
	u := base / (day + 1)
	return ArticleDay{
		ReadUser: u, ReadCount: u + u/3,
		OriUser: u / 10, OriCount: u/10 + 1,
		ShareUser: u / 8, Share: u/8 + u/16,
		FavUser: u / 20, Fav: u / 20,
	}
}

// FollowerDay is the account's follower figures on one day.
type FollowerDay struct {
	NewSearch, NewQR int // new_user for user_source 0 and 30
	Cancel           int // cancel_user (counted under user_source 0)
	Cumulate         int // cumulate_user at the end of the day
}

var followerEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)

// FollowerFigures is the sandbox's follower figures for a Beijing date:
// cumulate is 1000 + 3n + n%5 for the n-th day since 2020-01-01, and the
// day's gains minus losses match the change.
func FollowerFigures(date string) FollowerDay {
	d, err := time.ParseInLocation(dateLayout, date, shanghai)
	if err != nil {
		return FollowerDay{}
	}
	n := int(math.Round(d.Sub(followerEpoch).Hours() / 24))
	if n < 1 {
		return FollowerDay{Cumulate: 1000}
	}
	cum := func(n int) int { return 1000 + 3*n + n%5 }
	net := cum(n) - cum(n-1)
	cancel := 1 + n%3
	gained := net + cancel
	return FollowerDay{NewSearch: gained - gained/2, NewQR: gained / 2, Cancel: cancel, Cumulate: cum(n)}
}

func (s *Server) handleDatacube(c *apiCall) answer {
	dates, bad := s.datacubeDates(c)
	if bad != nil {
		return *bad
	}
	return ok(map[string]any{"list": s.datacubeList(c, dates)})
}

// datacubeDates is the request's range of days, refused outside what
// WeChat answers: at most the endpoint's span, up to yesterday.
func (s *Server) datacubeDates(c *apiCall) ([]string, *answer) {
	refuse := func(code int, msg string) ([]string, *answer) {
		a := fail(code, msg)
		return nil, &a
	}
	var req struct {
		Begin string `json:"begin_date"`
		End   string `json:"end_date"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return refuse(47001, "data format error: "+err.Error())
	}
	b, err1 := time.ParseInLocation(dateLayout, req.Begin, shanghai)
	e, err2 := time.ParseInLocation(dateLayout, req.End, shanghai)
	if err1 != nil || err2 != nil {
		return refuse(61500, "date format error")
	}
	today := c.now.In(shanghai).Format(dateLayout)
	span := DatacubeSpans[c.endpoint]
	days := int(math.Round(e.Sub(b).Hours()/24)) + 1
	switch {
	case days < 1:
		return refuse(61501, "date range error: end_date is before begin_date")
	case days > span:
		return refuse(61501, fmt.Sprintf("date range error: %s takes at most %d days", c.endpoint, span))
	case req.End >= today:
		return refuse(61501, "date range error: figures are available up to yesterday")
	}
	var dates []string
	for d := b; !d.After(e); d = d.AddDate(0, 0, 1) {
		dates = append(dates, d.Format(dateLayout))
	}
	return dates, nil
}

// datacubeList is the endpoint's rows for dates.
func (s *Server) datacubeList(c *apiCall, dates []string) []map[string]any {
	list := []map[string]any{}
	switch c.endpoint {
	case "datacube/getarticlesummary":
		for _, date := range dates {
			s.eachArticle(func(m *massSend, idx int, sent string) {
				day := daysBetween(sent, date)
				if day < 0 || day >= articleDays {
					return
				}
				f := ArticleFigures(m.MsgDataID, idx, day, m.Recipients)
				row := figureFields(f)
				row["ref_date"], row["msgid"], row["title"] = date, msgID(m, idx), m.Titles[idx-1]
				list = append(list, row)
			})
		}
	case "datacube/getarticletotal":
		yesterday := c.now.In(shanghai).AddDate(0, 0, -1).Format(dateLayout)
		for _, date := range dates {
			list = append(list, s.articleTotals(date, yesterday)...)
		}
	case "datacube/getuserread", "datacube/getusershare":
		for _, date := range dates {
			var sum ArticleDay
			s.eachArticle(func(m *massSend, idx int, sent string) {
				sum = addDay(sum, ArticleFigures(m.MsgDataID, idx, daysBetween(sent, date), m.Recipients))
			})
			if c.endpoint == "datacube/getuserread" {
				row := figureFields(sum)
				row["ref_date"], row["user_source"] = date, 0
				list = append(list, row)
			} else if sum.Share > 0 {
				list = append(list, map[string]any{"ref_date": date, "share_scene": 1, "share_count": sum.Share, "share_user": sum.ShareUser})
			}
		}
	case "datacube/getusersummary":
		for _, date := range dates {
			f := FollowerFigures(date)
			list = append(list,
				map[string]any{"ref_date": date, "user_source": 0, "new_user": f.NewSearch, "cancel_user": f.Cancel},
				map[string]any{"ref_date": date, "user_source": 30, "new_user": f.NewQR, "cancel_user": 0})
		}
	case "datacube/getusercumulate":
		for _, date := range dates {
			list = append(list, map[string]any{"ref_date": date, "cumulate_user": FollowerFigures(date).Cumulate})
		}
	}
	return list
}

// articleTotals is getarticletotal's rows for the articles sent on date:
// each with its figures accumulated day by day up to yesterday.
func (s *Server) articleTotals(date, yesterday string) []map[string]any {
	var list []map[string]any
	s.eachArticle(func(m *massSend, idx int, sent string) {
		if sent != date {
			return
		}
		details := []map[string]any{}
		var acc ArticleDay
		for day := 0; day < articleDays; day++ {
			stat := shift(sent, day)
			if stat > yesterday {
				break
			}
			acc = addDay(acc, ArticleFigures(m.MsgDataID, idx, day, m.Recipients))
			row := figureFields(acc)
			row["stat_date"], row["target_user"] = stat, m.Recipients
			details = append(details, row)
		}
		list = append(list, map[string]any{"ref_date": date, "msgid": msgID(m, idx), "title": m.Titles[idx-1], "details": details})
	})
	return list
}

// eachArticle calls fn for every article of every mass send not withdrawn
// whole, with its 1-based index and its send's Beijing date.
func (s *Server) eachArticle(fn func(m *massSend, idx int, sent string)) {
	for _, m := range s.st.sends {
		whole := false
		for _, d := range m.Deleted {
			whole = whole || d == 0
		}
		if whole {
			continue
		}
		sent := m.Time.In(shanghai).Format(dateLayout)
		for i := range m.Titles {
			fn(m, i+1, sent)
		}
	}
}

func msgID(m *massSend, idx int) string { return fmt.Sprintf("%d_%d", m.MsgDataID, idx) }

func daysBetween(from, to string) int {
	f, err1 := time.ParseInLocation(dateLayout, from, shanghai)
	t, err2 := time.ParseInLocation(dateLayout, to, shanghai)
	if err1 != nil || err2 != nil {
		return -1
	}
	return int(math.Round(t.Sub(f).Hours() / 24))
}

func shift(date string, days int) string {
	d, err := time.ParseInLocation(dateLayout, date, shanghai)
	if err != nil {
		return date
	}
	return d.AddDate(0, 0, days).Format(dateLayout)
}

func addDay(a, b ArticleDay) ArticleDay {
	return ArticleDay{a.ReadUser + b.ReadUser, a.ReadCount + b.ReadCount, a.OriUser + b.OriUser, a.OriCount + b.OriCount,
		a.ShareUser + b.ShareUser, a.Share + b.Share, a.FavUser + b.FavUser, a.Fav + b.Fav}
}

func figureFields(f ArticleDay) map[string]any {
	return map[string]any{
		"int_page_read_user": f.ReadUser, "int_page_read_count": f.ReadCount,
		"ori_page_read_user": f.OriUser, "ori_page_read_count": f.OriCount,
		"share_user": f.ShareUser, "share_count": f.Share,
		"add_to_fav_user": f.FavUser, "add_to_fav_count": f.Fav,
	}
}
