package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/publisher"
)

func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [NUMBER] [--json]",
		Short: "Show where issues stand in the publishing pipeline",
		Long: `status reads the pipeline from Redis (redis.addr, the one 'wxbot serve'
uses). Without NUMBER it lists every issue — state, mode, when it is due or
was sent, WeChat's msg_id and sent/total counts, the last error — and the
inbox files that cannot be published, with their FILE:LINE errors. With
NUMBER it shows that issue in full: file and content hash, clientmsgid,
draft and cover media_ids, reviewers, target, times, WeChat's report,
article URLs, the last error explained, and the history of its states with
who asked for each action (uploaded, approved, scheduled, cancelled, sent,
retracted, preview) and when; --json includes them (history[].by, .action).`,
		Example: `  wxbot status
  wxbot status 53
  wxbot status No.53 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			const name = "wxbot status"
			env, err := openPublisher(cmd, name, false)
			if err != nil {
				return err
			}
			defer env.close()
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(args) == 1 {
				n, err := issueNumber(args[0])
				if err != nil {
					return &exitError{code: 2, msg: name + ": " + err.Error()}
				}
				rec, err := env.pub.Get(ctx, n)
				if errors.Is(err, publisher.ErrUnknownIssue) {
					return &exitError{code: 1, msg: fmt.Sprintf("%s: No.%d is not in the pipeline (publish it with 'wxbot publish FILE')", name, n)}
				}
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				next, _ := env.pub.NextAction(ctx, n)
				if asJSON {
					return writeJSON(out, struct {
						*publisher.Record
						NextAction *time.Time `json:"next_action,omitempty"`
					}{rec, unixMilli(next)})
				}
				printRecord(out, env.pub, rec, next)
				return nil
			}
			recs, err := env.pub.List(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			probs, err := env.pub.InboxProblems(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			fails, _ := notify.Failures(ctx, env.st) // status shows what it can read
			closed, _ := notify.ClosedAdmins(ctx, env.st)
			if asJSON {
				if recs == nil {
					recs = []*publisher.Record{}
				}
				return writeJSON(out, struct {
					Issues         []*publisher.Record         `json:"issues"`
					InboxProblems  []publisher.InboxProblem    `json:"inbox_problems"`
					NoticeFailures map[string][]notify.Failure `json:"notice_failures,omitempty"`
					ClosedAdmins   map[string]notify.Closed    `json:"closed_admins,omitempty"`
				}{recs, probs, fails, closed})
			}
			printTable(out, env.pub, recs, probs)
			printNotices(out, env.pub, fails, closed)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the records as JSON")
	return cmd
}

// printNotices lists, when there are any, the last notice each channel
// could not deliver and the admins WeChat's window is closed for.
func printNotices(w io.Writer, p *publisher.Publisher, fails map[string][]notify.Failure, closed map[string]notify.Closed) {
	for _, ch := range notify.ChannelNames {
		if f := fails[ch]; len(f) > 0 {
			fmt.Fprintf(w, "Notices not delivered by %s: %d recorded, last %s (%s No.%d, %d tries): %s\n",
				ch, len(f), fmtIn(p, f[0].At), f[0].Kind, f[0].Number, f[0].Tries, f[0].Error)
		}
	}
	admins := make([]string, 0, len(closed))
	for a := range closed {
		admins = append(admins, a)
	}
	sort.Strings(admins)
	for _, a := range admins {
		fmt.Fprintf(w, "Admin %s: WeChat refused customer-service notices (errcode %d) at %s; skipped until they write to the account.\n",
			a, closed[a].Code, fmtIn(p, closed[a].At))
	}
}

var issueArg = regexp.MustCompile(`^(?i:no\.?\s*)?(\d+)$`)

// issueNumber reads 53, No.53 or no53.
func issueNumber(s string) (int, error) {
	m := issueArg.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not an issue number (e.g. 53 or No.53)", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not an issue number (e.g. 53 or No.53)", s)
	}
	return n, nil
}

func unixMilli(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms)
	return &t
}

func fmtIn(p *publisher.Publisher, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(p.Location()).Format("2006-01-02 15:04:05 MST")
}

func printTable(w io.Writer, p *publisher.Publisher, recs []*publisher.Record, probs []publisher.InboxProblem) {
	if len(recs) == 0 {
		fmt.Fprintln(w, "No issue in the pipeline yet ('wxbot publish FILE' adds one).")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ISSUE\tSTATE\tMODE\tWHEN\tMSG_ID\tSENT/TOTAL\tERRORS\tLAST ERROR")
		for _, r := range recs {
			when := "-"
			switch {
			case !r.SentAt.IsZero():
				when = "sent " + fmtIn(p, r.SentAt)
			case r.State == publisher.StateScheduled:
				when = "due " + fmtIn(p, r.Due)
			case r.State == publisher.StateSending:
				when = "sending since " + fmtIn(p, r.SendStarted)
			default:
				when = "updated " + fmtIn(p, r.Updated)
			}
			msg, counts, errs := "-", "-", "-"
			if r.MsgID != 0 {
				msg = strconv.FormatInt(r.MsgID, 10)
			}
			if !r.ReportedAt.IsZero() && (r.TotalCount > 0 || r.SentCount > 0) {
				counts = fmt.Sprintf("%d/%d", r.SentCount, r.TotalCount)
				errs = strconv.Itoa(r.ErrorCount)
			}
			last := "-"
			if r.Explanation != "" {
				last = cutText(r.Explanation, 70)
			}
			fmt.Fprintf(tw, "No.%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.State, r.Mode, when, msg, counts, errs, last)
		}
		_ = tw.Flush()
	}
	if len(probs) > 0 {
		fmt.Fprintf(w, "\nInbox files that cannot be published (%d):\n", len(probs))
		for _, pr := range probs {
			for _, line := range strings.Split(pr.Error, "\n") {
				fmt.Fprintln(w, "  "+line)
			}
		}
	}
}

func cutText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// printRecord prints one issue's record: what it is and where it stands,
// then its history.
func printRecord(w io.Writer, p *publisher.Publisher, r *publisher.Record, next int64) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	recordDraftRows(row, p, r)
	recordSendRows(row, p, r, next)
	_ = tw.Flush()
	fmt.Fprintln(w, "history:")
	hw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, h := range r.History {
		fmt.Fprintf(hw, "  %s\t%s\t%s\n", fmtIn(p, h.At), h.State, historyText(h))
	}
	_ = hw.Flush()
}

// rowFunc prints one "key  value" row of printRecord's table.
type rowFunc func(k, format string, args ...any)

// recordDraftRows are the rows up to the send: the issue, its target, draft,
// previews, due time, approval and retraction.
func recordDraftRows(row rowFunc, p *publisher.Publisher, r *publisher.Record) {
	row(fmt.Sprintf("No.%d", r.Number), "%s (goal %s, mode %s, from %s)", strings.ToUpper(string(r.State)), r.Goal, r.Mode, r.Origin)
	row("file", "%s (content %s)", r.File, shortHash(r.ContentHash))
	row("clientmsgid", "%s", r.ClientMsgID)
	switch {
	case r.Mode == "publish":
		row("target", "published on the account (no notification)")
	case r.ToAll || r.Tag == "":
		row("target", "all followers")
	default:
		row("target", "tag %q (id %d)", r.Tag, r.TagID)
	}
	if r.DraftMediaID != "" {
		row("draft", "%s (%d %s, content %s)", r.DraftMediaID, r.DraftCount, plural(r.DraftCount, "article", "articles"), shortHash(r.DraftHash))
	}
	if r.PublishDraft != "" {
		row("publish copy", "%s", r.PublishDraft)
	}
	if r.CoverMediaID != "" {
		row("cover", "%s; %d article images", r.CoverMediaID, len(r.Images))
	}
	if len(r.PreviewTo) > 0 {
		row("previewed", "%d of %d reviewers%s", len(r.Previewed), len(r.PreviewTo), listSuffix(r.PreviewErrors))
	}
	if !r.Due.IsZero() {
		row("due", "%s", fmtIn(p, r.Due))
	}
	switch {
	case r.ApprovedHash != "" && r.ApprovedHash == r.ContentHash:
		row("approved", "by %s, %s (this content)", r.ApprovedBy, fmtIn(p, r.ApprovedAt))
	case r.ApprovedHash != "":
		row("approved", "an earlier version, by %s, %s: this content needs a new approval", r.ApprovedBy, fmtIn(p, r.ApprovedAt))
	}
	if r.RejectedBy != "" {
		row("rejected", "by %s: %s", r.RejectedBy, r.RejectReason)
	}
	if len(r.Retracted) > 0 {
		row("retracted", "%s by %s, %s", retractedWhat(r.Retracted), r.RetractedBy, fmtIn(p, r.RetractedAt))
	}
}

// recordSendRows are the rows from the send on: the send, WeChat's report,
// the publication, the URLs, the last error and the next action.
func recordSendRows(row rowFunc, p *publisher.Publisher, r *publisher.Record, next int64) {
	if !r.SendStarted.IsZero() {
		row("send asked", "%s (%d %s)", fmtIn(p, r.SendStarted), r.SendAttempts, plural(r.SendAttempts, "attempt", "attempts"))
	}
	if !r.SentAt.IsZero() {
		dup := ""
		if r.Duplicate {
			dup = " — WeChat answered 45065: it already had this clientmsgid, nothing was sent twice"
		}
		row("sent", "%s, msg_id %d%s", fmtIn(p, r.SentAt), r.MsgID, dup)
	}
	if r.MassStatus != "" {
		row("WeChat report", "%q: sent %d of %d (%d left after WeChat's filtering, %d errors) at %s", r.MassStatus, r.SentCount, r.TotalCount, r.FilterCount, r.ErrorCount, fmtIn(p, r.ReportedAt))
	}
	if r.PublishStep != "" {
		row("publication", "%s %s %s", r.PublishStep, r.PublishID, r.PublishError)
	}
	for i, u := range r.URLs {
		row(fmt.Sprintf("url %d", i+1), "%s", u)
	}
	if s := r.URLStatus(); s != "" {
		row("urls", "%s", s)
	}
	if !r.FinishedAt.IsZero() {
		row("finished", "%s", fmtIn(p, r.FinishedAt))
	}
	if r.Explanation != "" || r.Error != "" {
		code := ""
		if r.ErrCode != 0 {
			code = fmt.Sprintf("errcode %d: ", r.ErrCode)
		}
		row("last error", "%s%s", code, joinNonEmptyStrings(" — ", r.Explanation, r.Error))
	}
	if next != 0 {
		row("next action", "%s (wxbot serve)", fmtIn(p, time.UnixMilli(next)))
	}
}

func retractedWhat(arts []int) string {
	var parts []string
	for _, a := range arts {
		if a == 0 {
			return "the whole issue"
		}
		parts = append(parts, strconv.Itoa(a))
	}
	return "article " + strings.Join(parts, ", ")
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func listSuffix(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return "; failed: " + strings.Join(errs, "; ")
}

func joinNonEmptyStrings(sep string, parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" && !strings.Contains(strings.Join(out, sep), s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
