package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/bot"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/publisher"
)

// The publisher takes the bot's job reports.
var _ bot.JobEvents = (*publisher.Publisher)(nil)

func newPublishCmd() *cobra.Command {
	var o publishFlags
	cmd := &cobra.Command{
		Use:   "publish FILE [--now | --at TIME] [--draft-only] [--preview-to OPENID,…] [--to-tag NAME | --to-all]",
		Short: "Draft, preview and schedule an issue (or send it now) — exactly once",
		Long: `publish takes an issue file (Markdown, or a Word .docx whose pictures are
uploaded from inside it) through the pipeline: parsed → rendered →
images uploaded (the cover from publish.cover or drawn for the issue, and
the Markdown images) → drafted (a WeChat draft) → previewed to reviewers
(publish.preview_to or --preview-to) → scheduled → sending → sent →
finished. Each step is recorded in Redis before and after its WeChat call,
so a run that is interrupted resumes where it stopped when run again.

By default the issue is scheduled for the next publish.schedule slot (in
publish.timezone) and a running 'wxbot serve' sends it then; --at TIME picks
the time (RFC 3339, or "2026-11-30 09:00" in publish.timezone); --now sends
it at once from this command; --draft-only stops after the preview.

Exactly once: the mass send carries a clientmsgid made from the issue number
and its content, which WeChat never sends twice within 24 hours, so a lost
answer or a crash is resolved by asking again. Running publish again for an
issue already sent sends nothing and says so; an edited file before the send
updates the draft and previews it again; after the send it is refused —
corrections go out as a new issue.

Needs the Redis that 'wxbot serve' uses (redis.addr) and the account's
credentials (wechat.app_id, wechat.app_secret). Exit status: 0 done, 1
refused or failed (also a --now that WeChat refused for now and that was
rescheduled), 2 usage, 3 not sent yet: sent but not confirmed (it is asked
again with the same clientmsgid), or a --now deferred to the next slot by
publish.max_per_day.`,
		Example: `  wxbot publish issues/no53.md                      # next slot, e.g. Monday 09:00 Asia/Shanghai
  wxbot publish issues/no53.md --at "2026-11-30 09:00"
  wxbot publish issues/no53.md --draft-only --preview-to oAbc123,oDef456
  wxbot publish issues/no53.md --now --to-tag 订阅者-英文
  # against the sandbox: wxbot sandbox, then
  WXBOT_WECHAT_API_BASE=http://127.0.0.1:8090 WXBOT_WECHAT_APP_ID=wxsandbox00000001 \
    WXBOT_WECHAT_APP_SECRET=sandboxsecret00000000000000000001 WXBOT_REDIS_ADDR=127.0.0.1:6379 \
    wxbot publish examples/newsletter-no54.md --now`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPublish(cmd, args[0], &o) },
	}
	cmd.Flags().BoolVar(&o.now, "now", false, "send at once from this command")
	cmd.Flags().StringVar(&o.at, "at", "", `send at this time: RFC 3339, "2026-11-30 09:00" in publish.timezone, a delay like +90s, or Unix seconds`)
	cmd.Flags().BoolVar(&o.draftOnly, "draft-only", false, "draft and preview only; do not schedule")
	cmd.Flags().StringSliceVar(&o.previewTo, "preview-to", nil, "reviewers' openids for the preview (default publish.preview_to)")
	cmd.Flags().StringVar(&o.toTag, "to-tag", "", "broadcast to the followers with this WeChat tag (default publish.to_tag)")
	cmd.Flags().BoolVar(&o.toAll, "to-all", false, "broadcast to every follower")
	cmd.Flags().BoolVar(&o.force, "force", false, "send again an issue whose earlier send has an unknown outcome, after checking WeChat's admin page that it did not go out")
	return cmd
}

// publishFlags are wxbot publish's flags.
type publishFlags struct {
	now, draftOnly, toAll, force bool
	at, toTag                    string
	previewTo                    []string
}

// runPublish is wxbot publish FILE: the flags checked, the file parsed, the
// pipeline run and its steps, warnings and outcome printed.
func runPublish(cmd *cobra.Command, file string, o *publishFlags) error {
	const name = "wxbot publish"
	if err := o.check(name); err != nil {
		return err
	}
	data, err := readIssueFile(file)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("%s:1: %s", file, err)}
	}
	// A file that does not parse is reported before anything is opened.
	iss, _, err := newsletter.Parse(file, data)
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	env, err := openPublisher(cmd, name, true)
	if err != nil {
		return err
	}
	defer env.close()
	req, err := o.request(cmd, name, file, data, env.pub.Location())
	if err != nil {
		return err
	}
	stderr, out := cmd.ErrOrStderr(), cmd.OutOrStdout()
	fmt.Fprintf(out, "No.%d · %s (%s)\n", iss.Number, joinTitle(iss), file)
	res, err := env.pub.Publish(cmd.Context(), req)
	if res != nil {
		for _, s := range res.Steps {
			fmt.Fprintln(out, "  "+stepText(env.pub.Location(), res.Record, s))
		}
		for _, w := range res.Warnings {
			if !strings.HasPrefix(w, file+":") {
				w = file + ": note: " + w
			}
			fmt.Fprintln(stderr, w)
		}
	}
	if err != nil {
		return publishError(name, err)
	}
	fmt.Fprintln(out, outcomeText(env.pub.Location(), res))
	if res.Pending {
		return &exitError{code: 3}
	}
	if req.Goal == publisher.GoalNow {
		return notSentNow(name, res)
	}
	return nil
}

// check refuses flags that contradict each other.
func (o *publishFlags) check(name string) error {
	switch {
	case o.now && o.at != "":
		return &exitError{code: 2, msg: name + ": give --now or --at TIME, not both"}
	case o.draftOnly && (o.now || o.at != ""):
		return &exitError{code: 2, msg: name + ": --draft-only stops before scheduling: it cannot be combined with --now or --at"}
	case o.toAll && o.toTag != "":
		return &exitError{code: 2, msg: name + ": give --to-tag NAME or --to-all, not both"}
	}
	return nil
}

// request is the pipeline request the flags ask for; --at is read in the
// publisher's time zone.
func (o *publishFlags) request(cmd *cobra.Command, name, file string, data []byte, loc *time.Location) (publisher.Request, error) {
	req := publisher.Request{File: file, Data: data, Goal: publisher.GoalSchedule, ToAll: o.toAll, Tag: o.toTag, Force: o.force, By: operator("")}
	switch {
	case o.draftOnly:
		req.Goal = publisher.GoalDraft
	case o.now:
		req.Goal = publisher.GoalNow
	case o.at != "":
		t, err := publisher.ParseAt(o.at, loc, time.Now(), time.Minute)
		if err != nil {
			return req, &exitError{code: 2, msg: name + ": " + err.Error()}
		}
		req.At = t
	}
	if cmd.Flags().Changed("preview-to") {
		req.PreviewTo = append([]string{}, o.previewTo...)
	}
	return req, nil
}

func joinTitle(iss *newsletter.Issue) string {
	switch {
	case iss.TitleZH != "" && iss.TitleEN != "":
		return iss.TitleZH + " / " + iss.TitleEN
	case iss.TitleZH != "":
		return iss.TitleZH
	}
	return iss.TitleEN
}

// notSentNow is the exit status of a --now that did not send: the issue is
// still scheduled because the day's quota (publish.max_per_day) was used,
// exit 3 with the time it goes out instead, or because WeChat refused the
// send for now (45028, no mass quota left), exit 1 with WeChat's reason.
func notSentNow(name string, res *publisher.Result) error {
	rec := res.Record
	if !res.AlreadySent && rec != nil && rec.State == publisher.StateAwaiting {
		return &exitError{code: 3, msg: fmt.Sprintf("%s: No.%d was NOT sent: it waits for approval (publish.approval: required); it goes out once approved (wxbot approve %d, or an approver replies 批准 %d)", name, rec.Number, rec.Number, rec.Number)}
	}
	if res.AlreadySent || rec == nil || rec.State != publisher.StateScheduled {
		return nil
	}
	if rec.ErrCode != 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%s: No.%d was NOT sent: WeChat refused it: %s", name, rec.Number, rec.Explanation)}
	}
	return &exitError{code: 3, msg: fmt.Sprintf("%s: No.%d was NOT sent now: %s", name, rec.Number, rec.Explanation)}
}

// publishError turns the pipeline's errors into messages for the editor.
func publishError(name string, err error) error {
	var rf *publisher.Refusal
	switch {
	case errors.As(err, &rf):
		return &exitError{code: 1, msg: name + ": " + refusalText(rf)}
	case errors.Is(err, publisher.ErrUnknownIssue):
		return &exitError{code: 1, msg: name + ": " + strings.TrimPrefix(err.Error(), "publisher: ")}
	case errors.Is(err, context.Canceled):
		return &exitError{code: 1, msg: name + ": interrupted; run it again to resume where it stopped"}
	case errors.Is(err, publisher.ErrBusy):
		return &exitError{code: 1, msg: name + ": " + strings.TrimPrefix(err.Error(), "publisher: ") + "; try again in a moment"}
	}
	return &exitError{code: 1, msg: name + ": " + explainAPIError(err).Error()}
}

// publishEnv is what the pipeline commands open.
type publishEnv struct {
	*wechatCmd
	pub   *publisher.Publisher
	notes *notify.Notifier
}

// close stops the notices' retries (what is still pending is recorded as
// failed, visible in wxbot status), then Redis and the client.
func (e *publishEnv) close() {
	if e.notes != nil {
		e.notes.Close()
	}
	e.wechatCmd.close()
}

// openPublisher opens Redis, and with needAPI the WeChat client, for a
// pipeline command. The pipeline lives in Redis, so the embedded store is
// refused: it would forget everything at exit and share nothing with serve.
func openPublisher(cmd *cobra.Command, name string, needAPI bool) (*publishEnv, error) {
	// The command prints its own account; the pipeline's info lines are
	// for serve's log. --log-level debug shows everything.
	w, err := openWeChatCmd(cmd, name, needs{redis: "the publishing pipeline is kept in Redis", api: needAPI, quiet: true})
	if err != nil {
		return nil, err
	}
	env := &publishEnv{wechatCmd: w}
	opts := publisher.Options{
		Publish: w.cfg.Publish, Render: w.cfg.Render, Store: w.st,
		Archive: archive.New(archive.Options{Redis: w.st.UniversalClient, Keys: w.st.Keys, Log: w.log}), Metrics: metrics.Discard(), Log: w.log, Role: "cli",
	}
	var texter notify.Texter
	if needAPI {
		opts.API = w.api
		texter = w.api
	}
	// The robot and e-mail need no WeChat credentials: approve, reject and
	// cancel tell the editors too.
	env.notes = notify.FromConfig(w.cfg, w.st, texter, nil, w.log)
	opts.Notifier = env.notes
	if env.pub, err = publisher.New(opts); err != nil {
		env.close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return env, nil
}
