package bot

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/logtest"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

const (
	testToken    = "wxbotTestToken42"
	testAppID    = "wx1234567890abcdef"
	testAESKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	prevAESKey   = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	testAccount  = "gh_0123456789ab"
	testOpenID   = "oUser0000000000000000000001"
	foreignAppID = "wxffffffffffffffff"
)

// testConfig is the default configuration with the test account's secrets.
func testConfig(t testing.TB, env map[string]string) *config.Config {
	t.Helper()
	base := map[string]string{
		"WXBOT_WECHAT_TOKEN":                     testToken,
		"WXBOT_WECHAT_APP_ID":                    testAppID,
		"WXBOT_WECHAT_APP_SECRET":                "secret",
		"WXBOT_WECHAT_ENCODING_AES_KEY":          testAESKey,
		"WXBOT_WECHAT_PREVIOUS_ENCODING_AES_KEY": prevAESKey,
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.Load(config.Options{Env: func(k string) (string, bool) { v, ok := base[k]; return v, ok }})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// recorder stands in for subscribers, the publisher and the WeChat
// customer-service API, and remembers every call.
type recorder struct {
	mu       sync.Mutex
	calls    []string
	texts    []string
	news     [][]wechat.NewsArticle
	mass     []wechat.MassSendJobEvent
	publish  []wechat.PublishJobEvent
	block    time.Duration // delays Followed, to overrun the deadline
	panicOn  string        // Followed panics for this scene
	sentLate chan struct{}
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) Followed(ctx context.Context, openid, scene string) error {
	if r.panicOn != "" && scene == r.panicOn {
		panic("recorder: asked to panic")
	}
	if r.block > 0 {
		time.Sleep(r.block)
	}
	r.add("followed " + openid + " " + scene)
	return nil
}
func (r *recorder) Scanned(ctx context.Context, openid, scene string) error {
	r.add("scanned " + openid + " " + scene)
	return nil
}
func (r *recorder) Unfollowed(ctx context.Context, openid string) error {
	r.add("unfollowed " + openid)
	return nil
}
func (r *recorder) LanguageChanged(ctx context.Context, openid, lang string) error {
	r.add("lang " + openid + " " + lang)
	return nil
}
func (r *recorder) TopicChanged(ctx context.Context, openid, section string, on bool) error {
	if on {
		r.add("topic+ " + openid + " " + section)
	} else {
		r.add("topic- " + openid + " " + section)
	}
	return nil
}
func (r *recorder) SendText(ctx context.Context, openid, text string) error {
	r.mu.Lock()
	r.texts = append(r.texts, text)
	r.mu.Unlock()
	if r.sentLate != nil {
		r.sentLate <- struct{}{}
	}
	return nil
}
func (r *recorder) SendNews(ctx context.Context, openid string, a []wechat.NewsArticle) error {
	r.mu.Lock()
	r.news = append(r.news, a)
	r.mu.Unlock()
	if r.sentLate != nil {
		r.sentLate <- struct{}{}
	}
	return nil
}
func (r *recorder) MassSendJobFinished(ctx context.Context, ev wechat.MassSendJobEvent) error {
	r.mu.Lock()
	r.mass = append(r.mass, ev)
	r.mu.Unlock()
	return nil
}
func (r *recorder) PublishJobFinished(ctx context.Context, ev wechat.PublishJobEvent) error {
	r.mu.Lock()
	r.publish = append(r.publish, ev)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

var (
	_ Audience  = (*recorder)(nil)
	_ Messenger = (*recorder)(nil)
	_ JobEvents = (*recorder)(nil)
)

// harness is one webhook replica on a real HTTP server and a real Redis.
type harness struct {
	t    testing.TB
	bot  *Bot
	srv  *testServer
	acct wechatsim.Account
	rdb  redis.UniversalClient
	keys store.Keys
	arch *archive.Archive
	rec  *recorder
	m    *metrics.Metrics
	logs *logtest.Buffer
	now  time.Time
}

type harnessOpt struct {
	env      map[string]string
	rdb      redis.UniversalClient
	rec      *recorder
	issues   []*newsletter.Issue
	noDeps   bool // Audience, Messenger, JobEvents nil
	cfg      func(*config.Config)
	redisTO  time.Duration
	lateTO   time.Duration
	syncLogs *logtest.Buffer
	contacts Contacts
	// approvals, when set, makes the Bot's approvers those it names.
	approvals Approvals
	// archive, when set, is what the Bot reads the archive through.
	archive func(*archive.Archive) Archive
}

func newHarness(t testing.TB, o harnessOpt) *harness {
	t.Helper()
	cfg := testConfig(t, o.env)
	if o.cfg != nil {
		o.cfg(cfg)
	}
	rdb := o.rdb
	if rdb == nil {
		rdb = redistest.Start(t).Client()
	}
	keys := store.Keys{Prefix: cfg.Redis.Prefix}
	arch := archive.New(archive.Options{Redis: rdb, Keys: keys})
	issues := o.issues
	if issues == nil {
		issues = testIssues()
	}
	if _, err := arch.Replace(context.Background(), issues); err != nil {
		t.Fatalf("archive: %v", err)
	}
	rec := o.rec
	if rec == nil {
		rec = &recorder{}
	}
	logs := o.syncLogs
	if logs == nil {
		logs = &logtest.Buffer{}
	}
	m := metrics.Discard()
	opts := Options{
		Config: cfg, Redis: rdb, Keys: keys, Archive: Archive(arch),
		Metrics: m, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RedisTimeout: o.redisTO, LateTimeout: o.lateTO, Contacts: o.contacts, Approvals: o.approvals,
	}
	if !o.noDeps {
		opts.Audience, opts.Messenger, opts.JobEvents = rec, rec, rec
	}
	if o.archive != nil {
		opts.Archive = o.archive(arch)
	}
	b, err := New(opts)
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	srv := startTestServer(t, b, cfg.HTTP.WebhookPath)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return &harness{t: t, bot: b, srv: srv, rdb: rdb, keys: keys, arch: arch, rec: rec, m: m, logs: logs,
		acct: wechatsim.Account{Token: testToken, AppID: testAppID, AESKey: testAESKey, UserName: testAccount}}
}

func (h *harness) url() string { return h.srv.URL + "/wechat" }

func (h *harness) logsString() string { return h.logs.String() }

// send seals msg in mode and posts it; it fails the test on a transport error.
func (h *harness) send(msg []byte, mode wechatsim.Mode) (*wechatsim.Reply, error) {
	h.t.Helper()
	p, err := h.acct.Seal(msg, mode, time.Now())
	if err != nil {
		h.t.Fatalf("seal: %v", err)
	}
	return h.acct.Send(http.DefaultClient, h.url(), p)
}

// ask sends a text message from openid and returns the reply's text.
func (h *harness) ask(openid, text string, mode wechatsim.Mode) *wechatsim.Reply {
	h.t.Helper()
	r, err := h.send(wechatsim.Text(openid, testAccount, text, nextMsgID(), time.Now().Unix()), mode)
	if err != nil {
		h.t.Fatalf("ask %q: %v", text, err)
	}
	return r
}

var (
	msgIDMu sync.Mutex
	msgID   int64 = 24000000000000000
)

func nextMsgID() int64 {
	msgIDMu.Lock()
	defer msgIDMu.Unlock()
	msgID++
	return msgID
}

// post sends a raw request and returns the status and body.
func (h *harness) post(query string, body []byte) (int, string) {
	h.t.Helper()
	resp, err := http.Post(h.url()+"?"+query, "text/xml", bytes.NewReader(body))
	if err != nil {
		h.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// dbsize counts keys: "nothing processed" means no dedupe claim was taken.
func (h *harness) userKeys() []string {
	h.t.Helper()
	keys, err := h.rdb.Keys(context.Background(), h.keys.Prefix+"{u:*").Result()
	if err != nil {
		h.t.Fatalf("keys: %v", err)
	}
	return keys
}

// testIssues are three issues built in Go, newest No.54.
func testIssues() []*newsletter.Issue {
	item := func(zh, en, bodyZH, bodyEN string) newsletter.Item {
		return newsletter.Item{TitleZH: zh, TitleEN: en, BodyZH: []string{bodyZH}, BodyEN: []string{bodyEN}}
	}
	return []*newsletter.Issue{
		{
			Number: 52, NewsletterNumber: 232, Month: "2021-04",
			TitleZH: "立方网络安全与数据合规周报", TitleEN: "Weekly Cybersecurity and Data Protection Review",
			Sections: []newsletter.Section{
				{TitleZH: "国内要闻", TitleEN: "Domestic News", Items: []newsletter.Item{
					item("网信办发布数据出境安全评估办法", "CAC Issues Measures on Security Assessment of Data Export",
						"网信办发布办法，涉及人脸识别数据的出境评估。", "The CAC issued measures on data export, including facial recognition data."),
				}},
				{TitleZH: "海外动态", TitleEN: "Overseas News", Items: []newsletter.Item{
					item("爱尔兰监管机构就GDPR处以罚款", "Irish DPC Fines a Company under the GDPR",
						"爱尔兰数据保护委员会依据GDPR处以罚款。", "The Irish DPC imposed a fine under the GDPR."),
				}},
			},
		},
		{
			Number: 53, NewsletterNumber: 233, Month: "2021-04",
			TitleZH: "立方网络安全与数据合规周报", TitleEN: "Weekly Cybersecurity and Data Protection Review",
			Sections: []newsletter.Section{
				{TitleZH: "国内要闻", TitleEN: "Domestic News", Items: []newsletter.Item{
					item("工信部就《移动互联网应用程序个人信息保护管理暂行规定》征求意见",
						"MIIT Seeks Advice on the Interim Regulations on the Management of Personal Information Protection for Mobile Internet Applications",
						"2021年4月26日，工信部发布征求意见稿，处理个人生物特征等敏感个人信息的，应对用户进行单独告知。",
						"On April 26, 2021, MIIT issued the exposure draft on personal information."),
					item("三家房企因使用人脸识别系统被宁波市市监局共罚款75万",
						"Ningbo AMR Fines 3 Real Estate Companies CNY 750,000 for Improperly Using Facial Recognition System",
						"宁波市市场监管局对三家房企处以罚款。", "Ningbo AMR fined three real estate companies."),
				}},
				{TitleZH: "海外动态", TitleEN: "Overseas News", Items: []newsletter.Item{
					item("EDPB发布关于向社交媒体用户定向推广的指南", "EDPB Publishes Final Version of Guidelines on Targeting of Social Media Users",
						"欧洲数据保护委员会发布指南，涉及GDPR下的责任分配。", "The EDPB published guidelines on targeting under the GDPR."),
				}},
			},
		},
		{
			Number: 54, NewsletterNumber: 234, Month: "2021-05",
			TitleZH: "立方网络安全与数据合规周报", TitleEN: "Weekly Cybersecurity and Data Protection Review",
			Sections: []newsletter.Section{
				{TitleZH: "国内要闻", TitleEN: "Domestic News", Items: []newsletter.Item{
					item("个人信息保护法草案二审稿公布", "Second Draft of the Personal Information Protection Law Released",
						"草案二审稿完善了人脸识别等敏感个人信息的处理规则。", "The second draft refines rules on facial recognition and sensitive data."),
				}},
				{TitleZH: "海外动态", TitleEN: "Overseas News", Items: []newsletter.Item{
					item("欧盟委员会提出人工智能监管提案", "EU Commission Proposes a Regulation on Artificial Intelligence",
						"提案禁止在公共场所实时远程生物识别，GDPR仍然适用。", "The proposal restricts remote biometric identification; the GDPR still applies."),
				}},
			},
		},
	}
}

// oneItemIssue is a new issue No.n of the weekly with one overseas item,
// for tests in which the archive changes.
func oneItemIssue(n int, month, titleZH, titleEN, bodyZH, bodyEN string) *newsletter.Issue {
	return &newsletter.Issue{
		Number: n, NewsletterNumber: 180 + n, Month: month,
		TitleZH: "立方网络安全与数据合规周报", TitleEN: "Weekly Cybersecurity and Data Protection Review",
		Sections: []newsletter.Section{{TitleZH: "海外动态", TitleEN: "Overseas News", Items: []newsletter.Item{{
			TitleZH: titleZH, TitleEN: titleEN, BodyZH: []string{bodyZH}, BodyEN: []string{bodyEN},
		}}}},
	}
}

func contains(t testing.TB, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("reply does not contain %q:\n%s", want, got)
	}
}
