package notify_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// robot is a WeCom group robot on loopback: it keeps the JSON bodies and
// answers 500 to the first fail requests.
type robot struct {
	mu     sync.Mutex
	bodies []map[string]any
	fail   int
	URL    string
}

func newRobot(t *testing.T, fail int) *robot {
	r := &robot{fail: fail}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.Method != http.MethodPost || req.URL.Query().Get("key") != "robotkey" || req.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			_, _ = w.Write([]byte(`{"errcode":40008,"errmsg":"invalid json"}`))
			return
		}
		r.bodies = append(r.bodies, body)
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(ts.Close)
	r.URL = ts.URL + "/cgi-bin/webhook/send?key=robotkey"
	return r
}

func (r *robot) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

func content(b map[string]any) string {
	for _, k := range []string{"markdown", "text"} {
		if m, ok := b[k].(map[string]any); ok {
			s, _ := m["content"].(string)
			return s
		}
	}
	return ""
}

func openStore(t *testing.T, addr string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), config.RedisConfig{Addr: addr, Prefix: "wxtest:"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var shanghai = time.FixedZone("CST", 8*3600)

func TestTextKeepsTheWords(t *testing.T) {
	due := time.Date(2026, 12, 7, 9, 0, 0, 0, shanghai)
	for _, c := range []struct {
		n    notify.Notice
		want string
	}{
		{notify.Notice{Kind: notify.AwaitingApproval, Number: 55, When: due},
			`No.55 waits for approval; due Mon 2026-12-07 09:00:00 CST. Approvers reply "批准 55" (or "驳回 55 理由") to the preview; operators run wxbot approve 55.`},
		{notify.Notice{Kind: notify.Scheduled, Number: 55, When: due, Reason: "to all followers"}, "No.55 is scheduled for Mon 2026-12-07 09:00:00 CST, to all followers."},
		{notify.Notice{Kind: notify.Failed, Number: 55, Step: "broadcast", Reason: "WeChat refused", Status: true}, "No.55 broadcast failed — WeChat refused (wxbot status 55)"},
		{notify.Notice{Kind: notify.Failed, Number: 55, Step: "upload", Reason: "too big", Status: true}, "No.55: upload failed — too big (wxbot status 55)"},
		{notify.Notice{Kind: notify.Finished, Number: 55, Counts: notify.Counts{Mass: true, Sent: 100, Total: 100, Filtered: 100, MassStatus: "send success"}},
			`No.55 broadcast finished: WeChat sent it to 100 of 100 followers (0 errors, 100 left after filtering), status "send success".`},
		{notify.Notice{Kind: notify.InboxUnparsable, Reason: "no57.md:3: no title", File: "no57.md"}, "Inbox file cannot be published, nothing was sent: no57.md:3: no title"},
		{notify.Notice{Kind: notify.Approved, Number: 55, By: "partner"}, "No.55 was approved by partner (ahead of its schedule)."},
	} {
		if got := notify.Text(c.n, shanghai); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.n.Kind, got, c.want)
		}
	}
	a := notify.Notice{Kind: notify.Sent, Number: 55, Reason: "mass send msg_id 1"}
	b := a
	b.Reason = "mass send msg_id 2"
	if a.ID() == b.ID() || a.ID() != a.ID() || !strings.HasPrefix(a.ID(), "sent:55:") {
		t.Fatalf("ids %q %q", a.ID(), b.ID())
	}
}

// The robot gets a markdown message with the title and the words; a text
// robot gets text; an errcode is a failure.
func TestWeComRobot(t *testing.T) {
	r := newRobot(t, 0)
	n := notify.New(notify.Options{Channels: []notify.Channel{&notify.WeCom{URL: r.URL}}, Location: shanghai})
	defer n.Close()
	nt := notify.Notice{Kind: notify.Sent, Number: 55, Reason: "mass send to all followers"}
	if err := n.Notify(context.Background(), nt); err != nil {
		t.Fatal(err)
	}
	got := r.got()
	if len(got) != 1 || got[0]["msgtype"] != "markdown" {
		t.Fatalf("robot got %v", got)
	}
	if c := content(got[0]); !strings.HasPrefix(c, "**wxbot: No.55 sent**\n") || !strings.Contains(c, "No.55 was sent: mass send to all followers") {
		t.Fatalf("markdown content %q", c)
	}
	txt := &notify.WeCom{URL: r.URL, MsgType: "text"}
	if err := txt.Send(context.Background(), "", nt, "hello"); err != nil {
		t.Fatal(err)
	}
	if got := r.got(); len(got) != 2 || got[1]["msgtype"] != "text" || content(got[1]) != "wxbot: No.55 sent\nhello" {
		t.Fatalf("text robot got %v", got)
	}
	bad := &notify.WeCom{URL: strings.Replace(r.URL, "robotkey", "wrong", 1)}
	if err := bad.Send(context.Background(), "", nt, "x"); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("a refused request: %v", err)
	}
	// A robot answering errcode 93000 (invalid webhook url).
	ec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"errcode":93000,"errmsg":"invalid webhook url"}`))
	}))
	defer ec.Close()
	err := (&notify.WeCom{URL: ec.URL + "/?key=secretkey"}).Send(context.Background(), "", nt, "x")
	if err == nil || !strings.Contains(err.Error(), "93000") {
		t.Fatalf("errcode answer: %v", err)
	}
	// Nobody listening: the error does not quote the URL's key.
	dead := &notify.WeCom{URL: "http://127.0.0.1:1/send?key=secretkey"}
	if err := dead.Send(context.Background(), "", nt, "x"); err == nil || strings.Contains(err.Error(), "secretkey") {
		t.Fatalf("unreachable robot: %v", err)
	}
}

// smtpServer speaks enough SMTP on loopback to take messages.
type smtpServer struct {
	Addr string
	mu   sync.Mutex
	msgs []smtpMsg
}

type smtpMsg struct {
	from string
	to   []string
	data string
}

func newSMTP(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{Addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(l string) { _, _ = io.WriteString(c, l+"\r\n") }
	say("220 localhost ESMTP test")
	var m smtpMsg
	for i := 0; i < 100; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-localhost")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m.from, _, _ = strings.Cut(strings.TrimPrefix(strings.TrimSpace(line)[10:], "<"), ">")
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.to = append(m.to, strings.Trim(strings.TrimSpace(line)[8:], "<>"))
			say("250 ok")
		case cmd == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for j := 0; j < 10000; j++ {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			m = smtpMsg{}
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func TestMail(t *testing.T) {
	srv := newSMTP(t)
	n := notify.New(notify.Options{Channels: []notify.Channel{&notify.Mail{Addr: srv.Addr, From: "wxbot@example.com", To: []string{"a@example.com", "b@example.com"}}}, Location: shanghai})
	defer n.Close()
	nt := notify.Notice{Kind: notify.Failed, Number: 55, Step: "broadcast", Reason: "WeChat refused the mass send (45028: 今日群发次数已用完)", Status: true}
	if err := n.Notify(context.Background(), nt); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.msgs) != 1 {
		t.Fatalf("%d messages", len(srv.msgs))
	}
	m := srv.msgs[0]
	if m.from != "wxbot@example.com" || strings.Join(m.to, ",") != "a@example.com,b@example.com" {
		t.Fatalf("envelope %q %q", m.from, m.to)
	}
	head, body, _ := strings.Cut(m.data, "\r\n\r\n")
	if !strings.Contains(head, "Subject: wxbot: No.55 failed\r\n") || !strings.Contains(head, "To: a@example.com, b@example.com") {
		t.Fatalf("headers %q", head)
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil || !strings.Contains(string(dec), "No.55 broadcast failed — WeChat refused the mass send (45028: 今日群发次数已用完) (wxbot status 55)") {
		t.Fatalf("body %q %v", dec, err)
	}
	// STARTTLS asked of a server that does not offer it: an error, no mail.
	tlsMail := &notify.Mail{Addr: srv.Addr, From: "wxbot@example.com", To: []string{"a@example.com"}, StartTLS: true}
	srv.mu.Unlock()
	err = tlsMail.Send(context.Background(), "", nt, "x")
	srv.mu.Lock()
	if err == nil || len(srv.msgs) != 1 {
		t.Fatalf("STARTTLS to a plain server: %v, %d messages", err, len(srv.msgs))
	}
}

// Admins outside WeChat's 48 h window: 45015 recorded, the admin skipped
// until they write, the robot still told.
func TestAdminsOutsideTheWindow(t *testing.T) {
	rs := redistest.Start(t)
	st := openStore(t, rs.Addr)
	sb := sandboxtest.Start(t, sandbox.Options{CustomWindow: true})
	api, err := wechat.New(wechat.Options{Config: sb.WeChatConfig(), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	r := newRobot(t, 0)
	m := metrics.Discard()
	admins := &notify.Admins{API: api, Store: st, OpenID: []string{"oAdmin1", "oAdmin2"}}
	n := notify.New(notify.Options{Store: st, Channels: []notify.Channel{&notify.WeCom{URL: r.URL}, admins}, Metrics: m, Location: shanghai})
	defer n.Close()
	sb.UserWrote("oAdmin2")

	ctx := context.Background()
	fin := notify.Notice{Kind: notify.Finished, Number: 55, Counts: notify.Counts{Mass: true, Sent: 3, Total: 3, MassStatus: "send success"}}
	if err := n.Notify(ctx, fin); err != nil {
		t.Fatalf("a closed window is not an error: %v", err)
	}
	if got := r.got(); len(got) != 1 || !strings.Contains(content(got[0]), "No.55 broadcast finished") {
		t.Fatalf("robot got %v", got)
	}
	customs := sb.Snapshot().Customs
	if len(customs) != 1 || customs[0].ToUser != "oAdmin2" {
		t.Fatalf("customer-service messages %+v", customs)
	}
	closed, err := notify.ClosedAdmins(ctx, st)
	if err != nil || len(closed) != 1 || closed["oAdmin1"].Code != 45015 || closed["oAdmin1"].At.IsZero() {
		t.Fatalf("closed %v %v", closed, err)
	}
	fails, err := notify.Failures(ctx, st)
	if err != nil || len(fails["wechat"]) != 1 || !strings.Contains(fails["wechat"][0].Error, "45015") || fails["wechat"][0].Number != 55 {
		t.Fatalf("failures %+v %v", fails, err)
	}
	if v := testutil.ToFloat64(m.Notices.WithLabelValues("wechat", "skipped")); v != 1 {
		t.Fatalf("skipped %v", v)
	}
	// Not tried again while closed: no new custom/send for oAdmin1.
	calls := sb.Count("message/custom/send")
	if err := n.Notify(ctx, notify.Notice{Kind: notify.Attention, Number: 56, Reason: "look"}); err != nil {
		t.Fatal(err)
	}
	if c := sb.Count("message/custom/send"); c != calls+1 {
		t.Fatalf("custom/send calls %d → %d, want one (oAdmin2 only)", calls, c)
	}
	// Scheduled and sent go to the robot only (the quota is 5 a message).
	if err := n.Notify(ctx, notify.Notice{Kind: notify.Sent, Number: 56}); err != nil {
		t.Fatal(err)
	}
	if c := sb.Count("message/custom/send"); c != calls+1 {
		t.Fatalf("a sent notice went to the admins")
	}
	// oAdmin1 writes: the window opens again.
	sb.UserWrote("oAdmin1")
	if err := admins.Wrote(ctx, "oAdmin1"); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, notify.Notice{Kind: notify.Attention, Number: 57, Reason: "look"}); err != nil {
		t.Fatal(err)
	}
	var to1 int
	for _, c := range sb.Snapshot().Customs {
		if c.ToUser == "oAdmin1" {
			to1++
		}
	}
	if to1 != 1 {
		t.Fatalf("oAdmin1 got %d messages after writing", to1)
	}
	// 45047 after 5 without a reply is recorded too.
	for i := 0; i < 5; i++ {
		_ = n.Notify(ctx, notify.Notice{Kind: notify.Attention, Number: 60 + i, Reason: "look"})
	}
	closed, _ = notify.ClosedAdmins(ctx, st)
	if closed["oAdmin2"].Code != 45047 {
		t.Fatalf("closed after the quota: %+v", closed)
	}
}

// Two replicas on one Redis report the same event: one delivery.
func TestDedupeAcrossReplicas(t *testing.T) {
	rs := redistest.Start(t)
	r := newRobot(t, 0)
	m := metrics.Discard()
	var ns []*notify.Notifier
	for i := 0; i < 2; i++ {
		n := notify.New(notify.Options{Store: openStore(t, rs.Addr), Channels: []notify.Channel{&notify.WeCom{URL: r.URL}}, Metrics: m})
		defer n.Close()
		ns = append(ns, n)
	}
	nt := notify.Notice{Kind: notify.InboxUnparsable, Reason: "no57.md:3: no title", File: "no57.md"}
	var wg sync.WaitGroup
	for _, n := range ns {
		wg.Add(1)
		go func() { defer wg.Done(); _ = n.Notify(context.Background(), nt) }()
	}
	wg.Wait()
	if got := r.got(); len(got) != 1 {
		t.Fatalf("robot got %d notices, want 1", len(got))
	}
	if v := testutil.ToFloat64(m.Notices.WithLabelValues("any", "duplicate")); v != 1 {
		t.Fatalf("duplicates counted %v", v)
	}
	// Another event is delivered.
	nt.Reason = "no57.md:4: no date"
	_ = ns[1].Notify(context.Background(), nt)
	if got := r.got(); len(got) != 2 {
		t.Fatalf("robot got %d notices, want 2", len(got))
	}
}

// A robot answering 500 is retried with backoff until it takes the notice;
// one that never does is given up after Tries and recorded.
func TestRetryAfterRobotFailure(t *testing.T) {
	rs := redistest.Start(t)
	st := openStore(t, rs.Addr)
	r := newRobot(t, 2)
	m := metrics.Discard()
	n := notify.New(notify.Options{Store: st, Channels: []notify.Channel{&notify.WeCom{URL: r.URL}}, Metrics: m, Backoff: 20 * time.Millisecond, Tries: 5})
	defer n.Close()
	err := n.Notify(context.Background(), notify.Notice{Kind: notify.Sent, Number: 55})
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("first attempt: %v", err)
	}
	waitFor(t, 5*time.Second, "the retried notice", func() bool { return len(r.got()) == 1 })
	time.Sleep(200 * time.Millisecond)
	if got := r.got(); len(got) != 1 {
		t.Fatalf("delivered %d times", len(got))
	}
	if s, re := testutil.ToFloat64(m.Notices.WithLabelValues("wecom", "sent")), testutil.ToFloat64(m.Notices.WithLabelValues("wecom", "retry")); s != 1 || re != 2 {
		t.Fatalf("sent %v retry %v", s, re)
	}

	// Never takes it: 3 tries, then a failure in status.
	dead := newRobot(t, 1000)
	n2 := notify.New(notify.Options{Store: st, Channels: []notify.Channel{&notify.WeCom{URL: dead.URL}}, Metrics: m, Backoff: 10 * time.Millisecond, Tries: 3})
	defer n2.Close()
	_ = n2.Notify(context.Background(), notify.Notice{Kind: notify.Sent, Number: 56})
	waitFor(t, 5*time.Second, "the failure recorded", func() bool {
		f, _ := notify.Failures(context.Background(), st)
		return len(f["wecom"]) == 1
	})
	f, _ := notify.Failures(context.Background(), st)
	if f["wecom"][0].Tries != 3 || f["wecom"][0].Number != 56 || !strings.Contains(f["wecom"][0].Error, "HTTP 500") {
		t.Fatalf("failure %+v", f["wecom"][0])
	}
	if v := testutil.ToFloat64(m.Notices.WithLabelValues("wecom", "failed")); v != 1 {
		t.Fatalf("failed %v", v)
	}

	// Close stops a pending retry promptly and records it.
	n3 := notify.New(notify.Options{Store: st, Channels: []notify.Channel{&notify.WeCom{URL: dead.URL}}, Backoff: time.Hour})
	_ = n3.Notify(context.Background(), notify.Notice{Kind: notify.Sent, Number: 57})
	start := time.Now()
	n3.Close()
	if time.Since(start) > 2*time.Second {
		t.Fatal("Close waited for the backoff")
	}
	f, _ = notify.Failures(context.Background(), st)
	if len(f["wecom"]) != 2 || !strings.Contains(f["wecom"][0].Error, "stopped") {
		t.Fatalf("failures after Close %+v", f["wecom"])
	}
}

// The notifier of the configuration: each channel only when configured.
func TestFromConfig(t *testing.T) {
	cfg, err := config.Load(config.Options{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if n := notify.FromConfig(cfg, nil, nil, nil, nil); len(n.Channels()) != 0 {
		t.Fatalf("defaults: channels %v", n.Channels())
	}
	r := newRobot(t, 0)
	cfg.Notify.WeComWebhook = r.URL
	cfg.Notify.SMTP = config.SMTPConfig{Addr: newSMTP(t).Addr, From: "w@example.com", To: []string{"a@example.com"}}
	cfg.Publish.Admins = []string{"oAdmin"}
	var api *wechat.Client // no credentials: the admins are skipped
	n := notify.FromConfig(cfg, nil, api, nil, nil)
	defer n.Close()
	if got := strings.Join(n.Channels(), ","); got != "wecom,smtp,wechat" {
		t.Fatalf("channels %s", got)
	}
	if err := n.Notify(context.Background(), notify.Notice{Kind: notify.Attention, Number: 1, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	if len(r.got()) != 1 {
		t.Fatal("the robot was not told")
	}
}
