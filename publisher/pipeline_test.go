package publisher

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// The whole pipeline on one issue with a local and a remote image, a
// reviewer, and --now: every state in order, WeChat's report in the
// record, the issue and its URLs in the archive, the editors told.
func TestPipelineSendsOnceWithImagesCoverPreviewAndReport(t *testing.T) {
	e := newEnv(t)
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(testPNG(t, 30, 30, color.RGBA{0, 90, 200, 255}))
	}))
	defer remote.Close()
	data := bytes.Replace(example(t, "newsletter-no55.md"),
		[]byte("本批通报中"), []byte("![图表]("+remote.URL+"/chart.png)\n\n本批通报中"), 1)
	path := e.write("no55.md", data)

	p := e.publisher("cli", func(o *Options) { o.imageAllowAddrs = []string{strings.TrimPrefix(remote.URL, "http://")} })
	req := e.request(path, GoalNow)
	req.PreviewTo = []string{"oReviewer1"}
	res, err := p.Publish(context.Background(), req)
	if err != nil {
		t.Fatalf("publish: %v\nlogs:\n%s", err, e.logs.String())
	}
	rec := res.Record
	if rec.State != StateSent {
		t.Fatalf("state %s after --now, want sent (%s)", rec.State, rec.Explanation)
	}
	if got, want := states(rec), "parsed rendered uploaded drafted previewed scheduled sending sent"; got != want {
		t.Fatalf("history %q, want %q", got, want)
	}
	sends := e.sb.MassSends()
	if len(sends) != 1 {
		t.Fatalf("%d mass sends, want 1", len(sends))
	}
	s := sends[0]
	if s.ClientMsgID != rec.ClientMsgID || !strings.HasPrefix(s.ClientMsgID, "wxbot55-") || len(s.ClientMsgID) > wechat.MaxClientMsgID {
		t.Fatalf("clientmsgid %q (record %q)", s.ClientMsgID, rec.ClientMsgID)
	}
	if s.MsgID != rec.MsgID || !s.ToAll {
		t.Fatalf("send %+v, record msg_id %d", s, rec.MsgID)
	}
	snap := e.sb.Snapshot()
	if snap.Images != 2 {
		t.Fatalf("%d images uploaded with media/uploadimg, want 2 (local and remote)", snap.Images)
	}
	if snap.Materials != 1 || rec.CoverMediaID == "" {
		t.Fatalf("%d materials, cover %q: want the generated cover", snap.Materials, rec.CoverMediaID)
	}
	if len(snap.Drafts) != 1 || snap.Drafts[0].Articles[0].ThumbMediaID != rec.CoverMediaID {
		t.Fatalf("drafts %+v", snap.Drafts)
	}
	content := snap.Drafts[0].Articles[0].Content
	for src, url := range rec.Images {
		if strings.Contains(content, src) || !strings.Contains(content, url) {
			t.Errorf("image %s not replaced by its uploaded URL %s", src, url)
		}
	}
	if len(snap.Previews) != 1 || snap.Previews[0].ToUser != "oReviewer1" || snap.Previews[0].MediaID != rec.DraftMediaID {
		t.Fatalf("previews %+v", snap.Previews)
	}

	// WeChat's report arrives over the webhook: counts, URLs, finished.
	waitFor(t, 5*time.Second, "MASSSENDJOBFINISH to finish the issue", func() bool {
		return e.record(p, 55).State == StateFinished
	})
	rec = e.record(p, 55)
	if rec.TotalCount != 100 || rec.SentCount != 100 || rec.ErrorCount != 0 || rec.MassStatus != "send success" {
		t.Fatalf("counts %d/%d/%d %q", rec.SentCount, rec.TotalCount, rec.ErrorCount, rec.MassStatus)
	}
	if !slices.Equal(rec.URLs, s.ArticleURLs) || len(rec.URLs) == 0 {
		t.Fatalf("urls %v, sandbox %v", rec.URLs, s.ArticleURLs)
	}
	// The archive's URLs are written just after the record's.
	waitFor(t, 3*time.Second, "the URLs in the archive", func() bool {
		if err := e.arch.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		return slices.Equal(e.arch.URLs(55), s.ArticleURLs)
	})
	if iss, ok := e.arch.Get(55); !ok || iss.Number != 55 {
		t.Fatal("the broadcast issue is not in the archive")
	}
	// The notice follows the record's write.
	waitFor(t, 3*time.Second, "the notice", func() bool { return len(e.notices()) > 0 })
	time.Sleep(100 * time.Millisecond)
	notes := e.notices()
	if len(notes) != 1 || !strings.Contains(notes[0], "No.55 broadcast finished") || !strings.Contains(notes[0], "100 of 100") {
		t.Fatalf("notices %q", notes)
	}
	if n := testutil.ToFloat64(e.m.PipelineTransitions.WithLabelValues("sent")); n != 1 {
		t.Fatalf("transitions to sent: %v", n)
	}
	if n := testutil.CollectAndCount(e.m.ScheduleLag); n != 1 {
		t.Fatalf("schedule lag samples: %d", n)
	}

	// URLs the archive lost (Redis failed between the two writes) come
	// back from the record at the next sweep.
	if err := e.arch.SetURLs(context.Background(), 55, nil); err != nil {
		t.Fatal(err)
	}
	if len(e.arch.URLs(55)) != 0 {
		t.Fatal("archive urls not cleared")
	}
	p.Resume(context.Background())
	if !slices.Equal(e.arch.URLs(55), s.ArticleURLs) {
		t.Fatalf("after the sweep the archive urls are %v, want %v", e.arch.URLs(55), s.ArticleURLs)
	}
}

// The independent scenario: the first draft/add fails with -1,
// the token is revoked mid-way, the first sendall answer is lost. Exactly
// one broadcast is accepted, with a clientmsgid and valid articles with a
// cover; a second publish of the same file sends nothing; an edited file
// after the send is refused; status shows WeChat's counts after the report.
func TestIndependentScenarioExactlyOnce(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.sandbox.Faults = []sandbox.Fault{
			{Kind: sandbox.FaultFail, Endpoint: "draft/add", Code: -1},
			{Kind: sandbox.FaultLose, Endpoint: "message/mass/sendall"},
			{Kind: sandbox.FaultRevoke, Endpoint: "message/mass/sendall", After: 1},
		}
	})
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	p := e.publisher("cli")
	ctx := context.Background()

	res, err := p.Publish(ctx, e.request(path, GoalNow))
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, e.logs.String())
	}
	if res.Record.State != StateSent {
		t.Fatalf("state %s: %s", res.Record.State, res.Record.Explanation)
	}
	sends := e.sb.MassSends()
	if len(sends) != 1 || sends[0].ClientMsgID == "" {
		t.Fatalf("mass sends %+v, want exactly one with a clientmsgid", sends)
	}
	// WeChat answered the retry with 45065 and the original msg_id.
	if !res.Record.Duplicate || res.Record.MsgID != sends[0].MsgID {
		t.Fatalf("record msg_id %d duplicate %v, send %d", res.Record.MsgID, res.Record.Duplicate, sends[0].MsgID)
	}
	var sendall, lost, refusedToken int
	for _, c := range e.sb.Calls() {
		if c.Endpoint == "message/mass/sendall" {
			sendall++
			if c.Lost {
				lost++
			}
			if c.ErrCode == 40001 {
				refusedToken++
			}
		}
	}
	if lost != 1 || refusedToken != 1 || sendall != 3 {
		t.Fatalf("sendall calls %d (lost %d, 40001 %d): want revoked, lost, then 45065", sendall, lost, refusedToken)
	}
	snap := e.sb.Snapshot()
	if len(snap.Drafts) != 1 || snap.Drafts[0].Articles[0].ThumbMediaID == "" || snap.Materials != 1 {
		t.Fatalf("draft with cover: %+v materials %d", snap.Drafts, snap.Materials)
	}

	again, err := p.Publish(ctx, e.request(path, GoalNow))
	if err != nil || !again.AlreadySent || again.Outcome != OutcomeAlreadySent {
		t.Fatalf("second publish: %+v %v", again, err)
	}
	if n := e.calls("message/mass/sendall"); n != sendall {
		t.Fatalf("second publish called sendall (%d calls, was %d)", n, sendall)
	}

	edited := bytes.Replace(example(t, "newsletter-no54.md"), []byte("2021"), []byte("2022"), 1)
	path2 := e.write("no54.md", edited)
	_, err = p.Publish(ctx, e.request(path2, GoalNow))
	var rf *Refusal
	if !errors.As(err, &rf) || rf.Reason != EditAfterSend || rf.Detail == "" || rf.When.IsZero() {
		t.Fatalf("edited after send: %v", err)
	}
	if len(e.sb.MassSends()) != 1 || len(e.sb.Snapshot().Drafts) != 1 {
		t.Fatal("the refused edit reached WeChat")
	}

	waitFor(t, 5*time.Second, "the report", func() bool { return e.record(p, 54).SentCount == 100 })
	rec := e.record(p, 54)
	if rec.State != StateFinished || rec.TotalCount != 100 || rec.RefusedHash == "" {
		t.Fatalf("after report: %+v", rec)
	}
}

// When no answer comes at all, the send stays "sending" and the scheduler
// asks again with the same clientmsgid: WeChat answers 45065, nothing is
// sent twice.
func TestLostAnswerResumedByScheduler(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.maxRetries = 0
		o.sandbox.Faults = []sandbox.Fault{{Kind: sandbox.FaultLose, Endpoint: "message/mass/sendall"}}
	})
	path := e.write("no54.md", example(t, "newsletter-no54.md"))
	cli := e.publisher("cli")
	res, err := cli.Publish(context.Background(), e.request(path, GoalNow))
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.State != StateSending || !res.Pending || !res.Record.Unanswered {
		t.Fatalf("after a lost answer: state %s pending %v", res.Record.State, res.Pending)
	}
	if len(e.sb.MassSends()) != 1 {
		t.Fatal("the lost send did not happen in the sandbox")
	}
	e.serve(e.publisher("serve"))
	waitFor(t, 5*time.Second, "the scheduler to confirm the send", func() bool {
		return e.record(cli, 54).State.rank() >= StateSent.rank()
	})
	rec := e.record(cli, 54)
	if !rec.Duplicate || rec.MsgID != e.sb.MassSends()[0].MsgID || len(e.sb.MassSends()) != 1 {
		t.Fatalf("resumed send: %+v; sends %d", rec, len(e.sb.MassSends()))
	}
}
