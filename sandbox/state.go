package sandbox

import (
	"encoding/json"
	"slices"
	"sort"
	"time"
)

// state is everything the fake account holds. Guarded by Server.mu.
type state struct {
	tokens     map[string]*accessToken
	normal     string // current cgi-bin/token token
	stable     string // current stable_token token
	forceTimes []time.Time

	media     map[string][]byte    // uploaded bytes, served at /sandbox/media/{id}
	images    map[string]bool      // URLs issued by media/uploadimg
	materials map[string]*material // permanent materials by media_id

	drafts       map[string]*Draft
	publications map[string]*publication
	publishOrder []string

	sends        []*massSend
	sendByID     map[int64]*massSend
	clientMsgIDs map[string]*clientMsg
	sendTimes    []time.Time    // every sendall request, for the 60-a-minute limit
	dailyCalls   map[string]int // endpoint + " " + Beijing date → calls, for daily limits
	previews     []Message
	customs      []Message
	// wrote is when each user last wrote to the account and sinceWrote how
	// many customer-service messages they got since (CustomWindow).
	wrote      map[string]time.Time
	sinceWrote map[string]int

	qrcodes      map[string]*QRCode // by ticket
	qrOrder      []string
	permanentQRs int

	tags     map[int]*tag
	tagOrder []int
	nextTag  int
	userTags map[string]map[int]bool

	menu   json.RawMessage
	menuID int64

	followers       map[string]bool
	strictFollowers bool

	pushes []Push
	nextID int64
}

func newState(opts Options) *state {
	st := &state{
		tokens:       map[string]*accessToken{},
		dailyCalls:   map[string]int{},
		media:        map[string][]byte{},
		images:       map[string]bool{},
		materials:    map[string]*material{},
		drafts:       map[string]*Draft{},
		publications: map[string]*publication{},
		sendByID:     map[int64]*massSend{},
		clientMsgIDs: map[string]*clientMsg{},
		qrcodes:      map[string]*QRCode{},
		tags:         map[int]*tag{},
		nextTag:      100, // 0, 1 and 2 are WeChat's reserved tags
		userTags:     map[string]map[int]bool{},
		followers:    map[string]bool{},
		wrote:        map[string]time.Time{},
		sinceWrote:   map[string]int{},
		nextID:       1000000001,
	}
	for _, o := range opts.Followers {
		if o != "" {
			st.followers[o] = true
			st.strictFollowers = true
		}
	}
	return st
}

func (st *state) id() int64 {
	st.nextID++
	return st.nextID
}

// isFollower reports whether openid follows the account. Without a
// follower list every openid does.
func (st *state) isFollower(openid string) bool {
	return !st.strictFollowers || st.followers[openid]
}

type accessToken struct {
	Value   string
	Stable  bool
	Issued  time.Time
	Expires time.Time
	Revoked bool
}

type material struct {
	Type string
	URL  string
	Size int
}

// Draft is a draft as the sandbox keeps it.
type Draft struct {
	MediaID  string    `json:"media_id"`
	Articles []Article `json:"articles"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	// Used is set when the draft was mass sent or published: WeChat then
	// removes it from the drafts box.
	Used string `json:"used,omitempty"`
}

// Article is an article as the sandbox keeps it.
type Article struct {
	Title              string `json:"title"`
	Author             string `json:"author"`
	Digest             string `json:"digest"`
	Content            string `json:"content"`
	ContentSourceURL   string `json:"content_source_url"`
	ThumbMediaID       string `json:"thumb_media_id"`
	NeedOpenComment    int    `json:"need_open_comment"`
	OnlyFansCanComment int    `json:"only_fans_can_comment"`
	PicCrop2351        string `json:"pic_crop_235_1,omitempty"`
	PicCrop11          string `json:"pic_crop_1_1,omitempty"`
}

type publication struct {
	ID          string
	MediaID     string
	Submitted   time.Time
	Done        time.Time
	ArticleID   string
	ArticleURLs []string
	Status      int   // publish_status once Done: 0, or a failure 2–6
	FailIdx     []int // the articles that failed (1-based)
	Deleted     []int // withdrawn with freepublish/delete: 1-based indexes, 0 for all
}

// MassSend is an accepted mass send.
type MassSend struct {
	MsgID       int64     `json:"msg_id"`
	MsgDataID   int64     `json:"msg_data_id"`
	MediaID     string    `json:"media_id"`
	ClientMsgID string    `json:"clientmsgid,omitempty"`
	ToAll       bool      `json:"is_to_all"`
	TagID       int       `json:"tag_id,omitempty"`
	Titles      []string  `json:"titles"`
	ArticleURLs []string  `json:"article_urls"`
	Recipients  int       `json:"recipients"`
	Time        time.Time `json:"time"`
	Done        time.Time `json:"done"`
	// Deleted lists what message/mass/delete withdrew: 1-based article
	// indexes, 0 for the whole send.
	Deleted []int `json:"deleted,omitempty"`
}

type massSend = MassSend

type clientMsg struct {
	MsgID     int64
	MsgDataID int64
	Sent      time.Time
	Failed    time.Time
}

// Message is a preview or customer-service message the sandbox delivered.
type Message struct {
	ToUser  string    `json:"touser"`
	MsgType string    `json:"msgtype"`
	Text    string    `json:"text,omitempty"`     // text content
	MediaID string    `json:"media_id,omitempty"` // previewed draft
	Title   string    `json:"title,omitempty"`    // news card title
	URL     string    `json:"url,omitempty"`      // news card link
	MsgID   int64     `json:"msg_id,omitempty"`
	Time    time.Time `json:"time"`
}

// QRCode is a QR code the sandbox issued.
type QRCode struct {
	Ticket    string    `json:"ticket"`
	Scene     string    `json:"scene"`
	Permanent bool      `json:"permanent"`
	URL       string    `json:"url"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires,omitzero"`
}

type tag struct {
	ID      int             `json:"id"`
	Name    string          `json:"name"`
	Members map[string]bool `json:"-"`
}

// Push is a webhook delivery of an event.
type Push struct {
	Event    string    `json:"event"`
	Time     time.Time `json:"time"`
	Status   int       `json:"status"` // HTTP status of the last attempt, 0 if none answered
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	Body     string    `json:"body"` // the event XML before encryption
}

// Snapshot is what GET /sandbox/state shows.
type Snapshot struct {
	Drafts       []Draft           `json:"drafts"`
	MassSends    []MassSend        `json:"mass_sends"`
	Publications []PublicationInfo `json:"publications"`
	Previews     []Message         `json:"previews"`
	Customs      []Message         `json:"customer_messages"`
	QRCodes      []QRCode          `json:"qrcodes"`
	Tags         []TagInfo         `json:"tags"`
	Menu         json.RawMessage   `json:"menu,omitempty"`
	Materials    int               `json:"materials"`
	Images       int               `json:"images"`
	Pushes       []Push            `json:"pushes"`
	Followers    []string          `json:"followers,omitempty"`
	Tokens       int               `json:"tokens_issued"`
	Faults       []Fault           `json:"faults"`
}

// PublicationInfo is a freepublish job as the snapshot shows it.
type PublicationInfo struct {
	PublishID   string   `json:"publish_id"`
	MediaID     string   `json:"media_id"`
	Done        bool     `json:"done"`
	ArticleURLs []string `json:"article_urls,omitempty"`
	ArticleID   string   `json:"article_id,omitempty"`
	// Deleted lists what freepublish/delete withdrew: 1-based indexes, 0 for all.
	Deleted []int `json:"deleted,omitempty"`
}

// TagInfo is a tag with its members.
type TagInfo struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// Snapshot copies the account's state.
func (s *Server) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	now := time.Now().Add(s.offset)
	var snap Snapshot
	for _, id := range sortedKeys(st.drafts) {
		d := *st.drafts[id]
		d.Articles = append([]Article(nil), d.Articles...)
		snap.Drafts = append(snap.Drafts, d)
	}
	for _, m := range st.sends {
		c := *m
		c.Deleted = slices.Clone(m.Deleted)
		snap.MassSends = append(snap.MassSends, c)
	}
	for _, id := range st.publishOrder {
		p := st.publications[id]
		snap.Publications = append(snap.Publications, PublicationInfo{
			PublishID: p.ID, MediaID: p.MediaID, Done: !now.Before(p.Done), ArticleURLs: p.ArticleURLs,
			ArticleID: p.ArticleID, Deleted: slices.Clone(p.Deleted),
		})
	}
	snap.Previews = append(snap.Previews, st.previews...)
	snap.Customs = append(snap.Customs, st.customs...)
	for _, t := range st.qrOrder {
		snap.QRCodes = append(snap.QRCodes, *st.qrcodes[t])
	}
	for _, id := range st.tagOrder {
		t := st.tags[id]
		snap.Tags = append(snap.Tags, TagInfo{ID: t.ID, Name: t.Name, Members: sortedKeys(t.Members)})
	}
	snap.Menu = append(json.RawMessage(nil), st.menu...)
	snap.Materials = len(st.materials)
	snap.Images = len(st.images)
	snap.Pushes = append(snap.Pushes, st.pushes...)
	if st.strictFollowers {
		snap.Followers = sortedKeys(st.followers)
	}
	snap.Tokens = len(st.tokens)
	for _, f := range s.faults {
		snap.Faults = append(snap.Faults, *f)
	}
	return snap
}

// MassSends returns the accepted mass sends, oldest first.
func (s *Server) MassSends() []MassSend { return s.Snapshot().MassSends }

// Tag returns a tag by name with its members, and whether it exists.
func (s *Server) Tag(name string) (TagInfo, bool) {
	for _, t := range s.Snapshot().Tags {
		if t.Name == name {
			return t, true
		}
	}
	return TagInfo{}, false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
