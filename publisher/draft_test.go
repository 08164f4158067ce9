package publisher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// An edit before the send updates the same draft in place (draft/update),
// previews it again, and changes the clientmsgid; re-running with the
// same content changes nothing in WeChat.
func TestEditBeforeSendUpdatesDraftAndPreviewsAgain(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.publish = func(p *config.PublishConfig) { p.PreviewTo = []string{"oReviewerA", "oReviewerB"} }
	})
	cli := e.publisher("cli")
	ctx := context.Background()
	orig := example(t, "newsletter-no54.md")
	path := e.write("no54.md", orig)
	first, err := cli.Publish(ctx, e.request(path, GoalDraft))
	if err != nil {
		t.Fatal(err)
	}
	r1 := first.Record
	if r1.State != StatePreviewed || r1.DraftMediaID == "" || len(r1.Previewed) != 2 {
		t.Fatalf("draft-only: %s %q %v", r1.State, r1.DraftMediaID, r1.Previewed)
	}
	if score, _ := cli.NextAction(ctx, 54); score != 0 {
		t.Fatal("--draft-only scheduled the issue")
	}

	// The same content again: nothing new in WeChat.
	before := len(e.sb.Calls())
	same, err := cli.Publish(ctx, e.request(path, GoalDraft))
	if err != nil || same.Record.DraftMediaID != r1.DraftMediaID {
		t.Fatalf("re-run: %v %+v", err, same.Record)
	}
	for _, c := range e.sb.Calls()[before:] {
		if c.Endpoint != "stable_token" {
			t.Fatalf("re-run with the same content called %s", c.Endpoint)
		}
	}

	edited := bytes.Replace(orig, []byte("2021年5月"), []byte("2021年6月"), 1)
	if bytes.Equal(edited, orig) {
		t.Fatal("fixture: nothing edited")
	}
	path = e.write("no54.md", edited)
	second, err := cli.Publish(ctx, e.request(path, GoalSchedule))
	if err != nil {
		t.Fatal(err)
	}
	r2 := second.Record
	if r2.DraftMediaID != r1.DraftMediaID || r2.DraftHash == r1.DraftHash {
		t.Fatalf("draft %s→%s hash %s→%s: want the same draft, new content", r1.DraftMediaID, r2.DraftMediaID, short(r1.DraftHash), short(r2.DraftHash))
	}
	if r2.ClientMsgID == r1.ClientMsgID || r2.ContentHash == r1.ContentHash {
		t.Fatal("clientmsgid or content hash unchanged after an edit")
	}
	if r2.State != StateScheduled || r2.PreviewedHash != r2.DraftHash {
		t.Fatalf("after the edit: %s, previewed %s of draft %s", r2.State, short(r2.PreviewedHash), short(r2.DraftHash))
	}
	snap := e.sb.Snapshot()
	if snap.Materials != 1 || e.calls("material/add_material") != 1 {
		t.Fatalf("the cover was uploaded again after the edit (%d materials)", snap.Materials)
	}
	if len(snap.Drafts) != 1 || e.calls("draft/update") == 0 || e.calls("draft/add") != 1 {
		t.Fatalf("drafts %d, draft/add %d, draft/update %d", len(snap.Drafts), e.calls("draft/add"), e.calls("draft/update"))
	}
	if !strings.Contains(snap.Drafts[0].Articles[0].Content, "2021年6月") {
		t.Fatal("the draft does not hold the edit")
	}
	if len(snap.Previews) != 4 {
		t.Fatalf("%d previews, want 2 + 2 after the edit", len(snap.Previews))
	}
	if !slices.ContainsFunc(second.Steps, func(s Step) bool { return s.Kind == StepDrafted && s.Detail == DraftUpdated }) {
		t.Fatalf("steps %+v", second.Steps)
	}

	// A draft deleted on the admin page is replaced by a new one.
	if err := e.api.DeleteDraft(ctx, r2.DraftMediaID); err != nil {
		t.Fatal(err)
	}
	path = e.write("no54.md", bytes.Replace(edited, []byte("2021年6月"), []byte("2021年7月"), 1))
	third, err := cli.Publish(ctx, e.request(path, GoalSchedule))
	if err != nil {
		t.Fatal(err)
	}
	if third.Record.DraftMediaID == r2.DraftMediaID || third.Record.State != StateScheduled {
		t.Fatalf("after the draft vanished: %+v", third.Record)
	}
}

// publish.mode publish submits the draft with freepublish: URLs from
// PUBLISHJOBFINISH reach the archive. mode both sends and publishes a copy.
func TestPublishModes(t *testing.T) {
	for _, mode := range []string{"publish", "both"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, func(o *envOpts) { o.publish = func(p *config.PublishConfig) { p.Mode = mode } })
			cli := e.publisher("cli")
			res, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow))
			if err != nil {
				t.Fatal(err)
			}
			if res.Record.State != StateSent || res.Record.PublishID == "" {
				t.Fatalf("%s: %s %+v", mode, res.Record.State, res.Record)
			}
			wantSends := map[string]int{"publish": 0, "both": 1}[mode]
			if n := len(e.sb.MassSends()); n != wantSends {
				t.Fatalf("%d mass sends", n)
			}
			if pubs := e.sb.Snapshot().Publications; len(pubs) != 1 {
				t.Fatalf("publications %+v", pubs)
			}
			waitFor(t, 5*time.Second, "the reports", func() bool { return e.record(cli, 54).State == StateFinished })
			rec := e.record(cli, 54)
			pubURLs := e.sb.Snapshot().Publications[0].ArticleURLs
			if rec.PublishStep != PublishDone || len(rec.URLs) == 0 {
				t.Fatalf("publish step %s urls %v", rec.PublishStep, rec.URLs)
			}
			if mode == "publish" && strings.Join(rec.URLs, " ") != strings.Join(pubURLs, " ") {
				t.Fatalf("urls %v, published %v", rec.URLs, pubURLs)
			}
			if err := e.arch.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(e.arch.URLs(54)) == 0 {
				t.Fatal("no URLs in the archive")
			}
		})
	}
}

// Job reports: a repeat changes nothing and tells no one twice; one for
// an unknown msg_id is kept and applied when its send is recorded.
func TestJobEventsDuplicateAndEarly(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.noWebhook = true })
	cli := e.publisher("cli")
	ctx := context.Background()
	ev := wechat.MassSendJobEvent{MsgID: 1000000042, Status: "send success", TotalCount: 7, FilterCount: 7, SentCount: 6, ErrorCount: 1}
	if err := cli.MassSendJobFinished(ctx, ev); err != nil {
		t.Fatalf("unknown msg_id: %v", err)
	}
	if err := cli.PublishJobFinished(ctx, wechat.PublishJobEvent{PublishID: "nope", Status: 0}); err != nil {
		t.Fatalf("unknown publish_id: %v", err)
	}
	res, err := cli.Publish(ctx, e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow))
	if err != nil {
		t.Fatal(err)
	}
	msgID := res.Record.MsgID
	// WeChat reports it (the webhook is off here: deliver it by hand), twice.
	ev.MsgID = msgID
	for i := 0; i < 2; i++ {
		if err := cli.MassSendJobFinished(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	rec := e.record(cli, 54)
	if rec.State != StateFinished || rec.SentCount != 6 || rec.ErrorCount != 1 {
		t.Fatalf("%s %d %d", rec.State, rec.SentCount, rec.ErrorCount)
	}
	if n := len(e.notices()); n != 1 {
		t.Fatalf("%d notices for a report sent twice", n)
	}

	// A report that overtakes the recording of its send.
	early := wechat.MassSendJobEvent{MsgID: msgID + 1000, Status: "send success", TotalCount: 3, SentCount: 3}
	if err := cli.MassSendJobFinished(ctx, early); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.st.HExists(ctx, e.st.Keys.PublishEarly(), "msg:"+itoa(int(early.MsgID))).Result(); !ok {
		t.Fatal("the early report was not kept")
	}
}

// The generated cover is a 900×383 JPEG in the brand colour, small enough
// for a thumb, with the issue's number, whatever the title's script.
func TestCover(t *testing.T) {
	for _, iss := range []*newsletter.Issue{
		{Number: 53, NewsletterNumber: 233, Month: "2021-04", TitleEN: "Weekly Cybersecurity and Data Protection Review"},
		{Number: 1234, TitleEN: "网络安全周报"},
		{Number: 7, TitleEN: strings.Repeat("Very Long Title Words ", 20)},
	} {
		b, err := drawCover(iss, "#8a0b4f")
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if sz := img.Bounds().Size(); sz.X != 900 || sz.Y != 383 {
			t.Fatalf("cover %v", sz)
		}
		if len(b) > 64<<10 {
			t.Fatalf("cover is %d bytes, over the 64 KB thumb limit", len(b))
		}
		r, g, bl, _ := img.At(10, 200).RGBA()
		if r>>8 < 0x70 || g>>8 > 0x30 || bl>>8 < 0x30 {
			t.Fatalf("background %x %x %x is not the brand colour", r>>8, g>>8, bl>>8)
		}
	}
	// A configured cover file is used as it is.
	e := newEnv(t, func(o *envOpts) {})
	coverPath := filepath.Join(t.TempDir(), "cover.png")
	if err := os.WriteFile(coverPath, testPNG(t, 900, 383, color.RGBA{10, 120, 60, 255}), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cfg.Publish.Cover = coverPath
	cli := e.publisher("cli")
	res, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalDraft))
	if err != nil {
		t.Fatal(err)
	}
	if calls := e.sb.Calls(); !strings.Contains(findCall(calls, "material/add_material"), "cover.png") {
		t.Fatalf("cover upload: %s", findCall(calls, "material/add_material"))
	}
	if res.Record.CoverMediaID == "" {
		t.Fatal("no cover")
	}
}

func findCall(calls []sandbox.Call, endpoint string) string {
	for _, c := range calls {
		if c.Endpoint == endpoint {
			return c.Body
		}
	}
	return ""
}

// Without job reports (a webhook WeChat cannot reach), the scheduler asks
// WeChat for the outcome: message/mass/get, freepublish/get.
func TestOutcomePolledWithoutReports(t *testing.T) {
	for _, mode := range []string{"mass", "publish"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, func(o *envOpts) {
				o.noWebhook = true
				o.publish = func(p *config.PublishConfig) { p.Mode = mode }
			})
			fast := func(o *Options) { o.OutcomeAfter = 300 * time.Millisecond }
			cli := e.publisher("cli", fast)
			if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
				t.Fatal(err)
			}
			e.serve(e.publisher("serve", fast))
			waitFor(t, 5*time.Second, "the outcome", func() bool { return e.record(cli, 54).State == StateFinished })
			rec := e.record(cli, 54)
			switch mode {
			case "mass":
				if rec.MassStatus != "SEND_SUCCESS" || e.calls("message/mass/get") == 0 {
					t.Fatalf("mass status %q", rec.MassStatus)
				}
			case "publish":
				if rec.PublishStep != PublishDone || len(rec.URLs) == 0 || e.calls("freepublish/get") == 0 {
					t.Fatalf("publish %s %v", rec.PublishStep, rec.URLs)
				}
			}
			waitFor(t, 3*time.Second, "the notice", func() bool {
				return strings.Contains(strings.Join(e.notices(), "\n"), "No.54 broadcast finished")
			})
		})
	}
}

// --to-tag sends to the followers with a WeChat tag, found by name; a tag
// that does not exist fails the issue before anything is sent.
func TestTargetTag(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tag, err := e.api.CreateTag(ctx, "lang:en")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.api.TagUsers(ctx, tag.ID, []string{"oA", "oB"}); err != nil {
		t.Fatal(err)
	}
	cli := e.publisher("cli")
	req := e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)
	req.Tag = "nosuch"
	_, err = cli.Publish(ctx, req)
	var rf *Refusal
	if !errors.As(err, &rf) || rf.Reason != TagUnknown || rf.Detail != "nosuch" || !slices.Contains(rf.Tags, "lang:en") {
		t.Fatalf("missing tag: %v", err)
	}
	if rec := e.record(cli, 54); rec.State != StateFailed || rec.Broadcast != BroadcastNone || len(e.sb.MassSends()) != 0 {
		t.Fatalf("after a missing tag: %s %s", rec.State, rec.Broadcast)
	}
	req.Tag = "lang:en"
	res, err := cli.Publish(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sends := e.sb.MassSends()
	if len(sends) != 1 || sends[0].ToAll || sends[0].TagID != tag.ID || sends[0].Recipients != 2 || res.Record.TagID != tag.ID {
		t.Fatalf("sends %+v", sends)
	}
}

// WeChat forgot everything (materials, drafts, tokens — here a sandbox
// reset): an edit before the send recovers: a new cover, a new draft.
func TestRecoversWhenCoverAndDraftAreGone(t *testing.T) {
	e := newEnv(t)
	cli := e.publisher("cli")
	ctx := context.Background()
	orig := example(t, "newsletter-no54.md")
	first, err := cli.Publish(ctx, e.request(e.write("no54.md", orig), GoalDraft))
	if err != nil {
		t.Fatal(err)
	}
	e.sb.Reset()
	res, err := cli.Publish(ctx, e.request(e.write("no54.md", bytes.Replace(orig, []byte("2021年5月"), []byte("2021年6月"), 1)), GoalNow))
	if err != nil {
		t.Fatalf("%v\n%s", err, e.logs.String())
	}
	rec := res.Record
	if rec.CoverMediaID == first.Record.CoverMediaID || rec.DraftMediaID == first.Record.DraftMediaID || rec.State != StateSent {
		t.Fatalf("cover %s→%s draft %s→%s state %s", first.Record.CoverMediaID, rec.CoverMediaID,
			first.Record.DraftMediaID, rec.DraftMediaID, rec.State)
	}
	if !strings.Contains(states(rec)+fmt.Sprint(rec.History), "cover material is gone") {
		t.Fatalf("history %v", rec.History)
	}
	if n := len(e.sb.MassSends()); n != 1 {
		t.Fatalf("%d sends", n)
	}
}

// A publication WeChat reports failed (here: rejected in review) fails a
// publish-mode issue with WeChat's reason, whether the report arrives as
// PUBLISHJOBFINISH or is polled with freepublish/get; in mode both the
// mass send stands and the failed publication is recorded beside it. The
// editors are told either way, and nothing is submitted again.
func TestPublicationFailureReported(t *testing.T) {
	for _, c := range []struct {
		mode    string
		webhook bool
	}{{"publish", true}, {"publish", false}, {"both", true}} {
		t.Run(fmt.Sprintf("%s/webhook=%v", c.mode, c.webhook), func(t *testing.T) {
			e := newEnv(t, func(o *envOpts) {
				o.noWebhook = !c.webhook
				o.sandbox.PublishStatus = 4
				o.publish = func(p *config.PublishConfig) { p.Mode = c.mode }
			})
			fast := func(o *Options) { o.OutcomeAfter = 300 * time.Millisecond }
			cli := e.publisher("cli", fast)
			if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
				t.Fatal(err)
			}
			if !c.webhook {
				e.serve(e.publisher("serve", fast))
			}
			waitFor(t, 5*time.Second, "the failure", func() bool { return e.record(cli, 54).PublishStep == PublishFailed })
			rec := e.record(cli, 54)
			if !strings.Contains(rec.PublishError, "rejected in WeChat's review (publish_status 4)") || !strings.Contains(rec.PublishError, "[1]") {
				t.Fatalf("publish error %q", rec.PublishError)
			}
			switch c.mode {
			case "publish":
				if rec.State != StateFailed || rec.Explanation != rec.PublishError {
					t.Fatalf("state %s, explanation %q", rec.State, rec.Explanation)
				}
			case "both":
				if rec.MsgID == 0 || len(e.sb.MassSends()) != 1 || rec.State == StateFailed {
					t.Fatalf("mode both: state %s msg_id %d, %d sends", rec.State, rec.MsgID, len(e.sb.MassSends()))
				}
			}
			waitFor(t, 3*time.Second, "the notice", func() bool {
				return strings.Contains(strings.Join(e.notices(), "\n"), "No.54 publication failed: rejected in WeChat's review")
			})
			if n := len(e.sb.Snapshot().Publications); n != 1 {
				t.Fatalf("%d publications, want 1 (no resubmission)", n)
			}
			// Links come only from what went out: none in mode publish, the
			// mass send's in mode both.
			if c.mode == "publish" && (len(rec.URLs) != 0 || len(e.arch.URLs(54)) != 0) {
				t.Fatalf("urls %v / archive %v for a failed publication", rec.URLs, e.arch.URLs(54))
			}
		})
	}
}

// A mass send WeChat accepted and then reports failed (here: suspected
// advertising) fails the issue with WeChat's reason in plain words, whether
// reported by MASSSENDJOBFINISH or found with message/mass/get; the
// editors are told once and nothing is sent again.
func TestMassSendFailureReported(t *testing.T) {
	for _, webhook := range []bool{true, false} {
		t.Run(fmt.Sprintf("webhook=%v", webhook), func(t *testing.T) {
			e := newEnv(t, func(o *envOpts) {
				o.noWebhook = !webhook
				o.sandbox.MassStatus = "err(10001)"
			})
			fast := func(o *Options) { o.OutcomeAfter = 300 * time.Millisecond }
			cli := e.publisher("cli", fast)
			if _, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)); err != nil {
				t.Fatal(err)
			}
			if !webhook {
				e.serve(e.publisher("serve", fast))
			}
			waitFor(t, 5*time.Second, "the failure", func() bool { return e.record(cli, 54).State == StateFailed })
			rec := e.record(cli, 54)
			wantStatus := map[bool]string{true: "err(10001)", false: "SEND_FAIL"}[webhook]
			if rec.MassStatus != wantStatus || !strings.Contains(rec.Explanation, "Nothing reached the followers") ||
				(webhook && !strings.Contains(rec.Explanation, "suspected advertising")) {
				t.Fatalf("status %q, explanation %q", rec.MassStatus, rec.Explanation)
			}
			waitFor(t, 3*time.Second, "the notice", func() bool {
				return strings.Contains(strings.Join(e.notices(), "\n"), "No.54: WeChat accepted the mass send and then reported it failed")
			})
			time.Sleep(500 * time.Millisecond) // a second notice or send would show by now
			if n := len(e.notices()); n != 1 {
				t.Fatalf("%d notices: %q", n, e.notices())
			}
			if n := len(e.sb.MassSends()); n != 1 {
				t.Fatalf("%d mass sends, want 1", n)
			}
			if !webhook {
				// WeChat's report arriving after the poll gives the reason,
				// without telling the editors a second time.
				ev := wechat.MassSendJobEvent{MsgID: rec.MsgID, Status: "err(10001)", TotalCount: 100}
				if err := cli.MassSendJobFinished(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
				rec = e.record(cli, 54)
				if rec.State != StateFailed || rec.MassStatus != "err(10001)" || !strings.Contains(rec.Explanation, "suspected advertising") {
					t.Fatalf("after the late report: %s %q %q", rec.State, rec.MassStatus, rec.Explanation)
				}
				time.Sleep(300 * time.Millisecond)
				if n := len(e.notices()); n != 1 {
					t.Fatalf("%d notices after the late report: %q", n, e.notices())
				}
			}
		})
	}
}

// An unverified account (48001 on freepublish) fails a publish-mode issue
// at once with a plain explanation; nothing is retried or sent.
func TestUnverifiedAccountRefused(t *testing.T) {
	e := newEnv(t, func(o *envOpts) {
		o.sandbox.Unverified = true
		o.publish = func(p *config.PublishConfig) { p.Mode = "publish" }
	})
	cli := e.publisher("cli")
	res, err := cli.Publish(context.Background(), e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow))
	rec := e.record(cli, 54)
	if err == nil && res.Record.State != StateFailed {
		t.Fatalf("publish on an unverified account: %+v", res.Record)
	}
	if rec.State != StateFailed || rec.ErrCode != 48001 || !strings.Contains(rec.Explanation, "unverified accounts lose the publishing APIs") {
		t.Fatalf("state %s errcode %d explanation %q (err %v)", rec.State, rec.ErrCode, rec.Explanation, err)
	}
	if n := e.calls("freepublish/submit"); n != 1 {
		t.Fatalf("freepublish/submit called %d times, want 1 (a refusal is not retried)", n)
	}
	if n := len(e.sb.Snapshot().Publications); n != 0 {
		t.Fatalf("%d publications", n)
	}
}

// A reviewer who does not follow the account (43004) does not stop the
// issue: the others get the preview, the failure is recorded and told in
// plain words, it is not retried, and the broadcast goes ahead.
func TestPreviewToNonFollower(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.sandbox.Followers = []string{"oReviewer1", "oAdmin"} })
	cli := e.publisher("cli")
	req := e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow)
	req.PreviewTo = []string{"oReviewer1", "oStranger"}
	res, err := cli.Publish(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	rec := res.Record
	if rec.State != StateSent || len(e.sb.MassSends()) != 1 {
		t.Fatalf("state %s, %d sends: a failed preview must not stop the broadcast", rec.State, len(e.sb.MassSends()))
	}
	if !slices.Equal(rec.Previewed, []string{"oReviewer1"}) || len(rec.PreviewErrors) != 1 ||
		!strings.Contains(rec.PreviewErrors[0], "oStranger: the user does not follow the account (43004)") {
		t.Fatalf("previewed %v, errors %q", rec.Previewed, rec.PreviewErrors)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "preview to oStranger failed") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	if n := len(e.sb.Snapshot().Previews); n != 1 {
		t.Fatalf("%d previews delivered, want 1", n)
	}
	if n := e.calls("message/mass/preview"); n != 2 {
		t.Fatalf("preview called %d times, want 2 (the refusal is not retried)", n)
	}
}

// WeChat's mass-send verdicts: MASSSENDJOBFINISH's Status and
// message/mass/get's msg_status. DELETE was sent, then deleted.
func TestMassStatusVerdicts(t *testing.T) {
	for status, ok := range map[string]bool{
		"send success": true, "sendsuccess": true, "SEND_SUCCESS": true, "DELETE": true,
		"send fail": false, "SEND_FAIL": false, "err(10001)": false, "err(99999)": false,
	} {
		x := &Record{State: StateSent}
		if failed := applyMassStatus(x, status, time.Unix(1, 0)); failed == ok || (x.State == StateFailed) == ok || x.MassStatus != status {
			t.Errorf("%q: failed %v, state %s", status, failed, x.State)
		}
	}
	if got := massFailureText("ERR(40002)"); !strings.Contains(got, "no administrator confirmed it within 30 minutes (ERR(40002))") {
		t.Errorf("err(40002): %q", got)
	}
	if got := massFailureText("err(99999)"); !strings.Contains(got, "WeChat gives no reason (err(99999))") {
		t.Errorf("unknown: %q", got)
	}
}
