package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/publisher"
	"github.com/lifang/wxbot/readership"
	"github.com/lifang/wxbot/subscribers"
	"github.com/lifang/wxbot/wechat"
)

func newStatsCmd() *cobra.Command {
	var (
		days    int
		asJSON  bool
		refresh bool
	)
	cmd := &cobra.Command{
		Use:   "stats [N]",
		Short: "How the last N issues did (WeChat's reads and shares) and where followers came from",
		Long: `stats shows WeChat's own figures (data statistics, datacube) for the last
N issues sent (10 by default): readers on the send day, by the third and the
seventh day and in all, shares, and reads per follower reached; then the
account's followers per day over --days days with the new ones by source,
and what each QR scene brought.

WeChat has figures up to yesterday, Beijing time. 'wxbot serve' collects them
once a day (08:00 Beijing) and fills in missing days of the last 30;
--refresh collects now (it calls WeChat's API).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 10
			if len(args) == 1 {
				v, err := strconv.Atoi(args[0])
				if err != nil || v < 1 || v > 1000 {
					return &exitError{code: 2, msg: "wxbot stats: N must be a number of issues from 1 to 1000"}
				}
				n = v
			}
			if days < 1 || days > readership.MaxBackfill {
				return &exitError{code: 2, msg: fmt.Sprintf("wxbot stats: --days must be from 1 to %d", readership.MaxBackfill)}
			}
			env, err := openPublisher(cmd, "wxbot stats", refresh)
			if err != nil {
				return err
			}
			defer env.close()
			col, err := readership.New(readership.Options{
				Source: env.api, Store: env.st, Records: env.pub,
				Scenes: subscribers.New(subscribers.Options{Store: env.st, API: env.api, Bot: env.cfg.Bot, Log: env.log}), Log: env.log,
				Tags: env.api, TopicPrefix: env.cfg.Bot.Tags.TopicPrefix,
			})
			if err != nil {
				return err
			}
			if refresh {
				if !env.cfg.Readership.Enabled {
					return &exitError{code: 2, msg: "wxbot stats: --refresh: collection is off (readership.enabled: false)"}
				}
				if days > col.Backfill {
					col.Backfill = days
				}
				if _, err := col.Collect(cmd.Context()); err != nil {
					return &exitError{code: 1, msg: "wxbot stats: " + explainAPIError(err).Error()}
				}
			}
			rep, err := col.Report(cmd.Context(), n, days)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			return printStats(cmd.OutOrStdout(), rep)
		},
	}
	cmd.Flags().IntVar(&days, "days", 30, "days of follower figures")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&refresh, "refresh", false, "collect WeChat's figures now")
	return cmd
}

func printStats(w io.Writer, rep *readership.Report) error {
	fmt.Fprintf(w, "WeChat's figures up to %s (Beijing).\n", rep.Yesterday)
	if len(rep.Missing) > 0 {
		fmt.Fprintf(w, "Not collected yet: %d days (%s … %s): run 'wxbot stats --refresh'.\n", len(rep.Missing), rep.Missing[0], rep.Missing[len(rep.Missing)-1])
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ISSUE\tSENT\tREACHED\tDAY 1\tDAY 3\tDAY 7\tREADS\tSHARES\tREADS/FOLLOWER\t")
	for _, is := range rep.Issues {
		per := "-"
		if is.SentCount > 0 {
			per = fmt.Sprintf("%.2f", is.PerFollower)
		}
		if !is.HasFigures {
			fmt.Fprintf(tw, "No.%d\t%s\t%d\t-\t-\t-\t-\t-\t-\t\n", is.Number, is.SentDate, is.SentCount)
			continue
		}
		fmt.Fprintf(tw, "No.%d\t%s\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t\n", is.Number, is.SentDate, is.SentCount,
			dayFigure(is, 1), dayFigure(is, 3), dayFigure(is, 7), is.Total, is.Shares, per)
	}
	if len(rep.Issues) == 0 {
		fmt.Fprintln(tw, "(no issue sent)\t\t\t\t\t\t\t\t\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tFOLLOWERS\tNEW\tLOST\tREADS\tSHARES\tNEW BY SOURCE")
	for _, f := range rep.Followers {
		fmt.Fprintf(tw, "%s\t%d\t+%d\t-%d\t%d\t%d\t%s\n", f.Date, f.Total, f.New, f.Lost, f.Reads, f.Shares, bySource(f.BySource))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Scenes) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "QR SCENE\tGAINED\tSTILL FOLLOWING")
		for _, s := range rep.Scenes {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", s.Scene, s.Gained, s.Following)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(rep.Topics) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "TOPIC\tSUBSCRIBED (WeChat's tag count, %s)\n", rep.TopicsAt.In(wechat.Beijing).Format("2006-01-02 15:04 MST"))
		for _, t := range rep.Topics {
			fmt.Fprintf(tw, "%s\t%d\n", t.Section, t.Followers)
		}
		return tw.Flush()
	}
	return nil
}

// dayFigure is the readers by day d, or "…" while WeChat has not got there.
func dayFigure(is readership.IssueFigures, d int) string {
	if len(is.ReadsByDay) < d {
		return "…"
	}
	return strconv.Itoa(is.ReadsByDay[d-1])
}

func bySource(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// wireReadership starts the daily collection of WeChat's figures on the
// scheduler's leader and keeps the gauges wxbot_latest_issue_reads and
// wxbot_followers up to date.
func (m *Main) wireReadership(ctx context.Context, api *wechat.Client, pub *publisher.Publisher, subs *subscribers.Service) {
	col, err := readership.New(readership.Options{
		Source: api, Store: m.Store, Records: pub, Scenes: subs, Leader: pub, Log: m.Log,
		Tags: api, TopicPrefix: m.Config.Bot.Tags.TopicPrefix,
	})
	if err != nil {
		m.Log.Error("readership: not collecting", slog.Any("error", err))
		return
	}
	gauges := func(ctx context.Context) {
		reads, readsOK, followers, followersOK, err := col.Latest(ctx)
		if err != nil {
			return
		}
		if readsOK {
			m.Metrics.LatestIssueReads.Set(float64(reads))
		}
		if followersOK {
			m.Metrics.Followers.Set(float64(followers))
		}
	}
	col.OnCollected = gauges
	rc := m.Config.Readership
	col.Disabled = !rc.Enabled
	if at, ok := rc.CollectAtOffset(); ok {
		col.CollectAt = at
	}
	m.Readership = col
	if col.Disabled {
		m.Log.Info("readership: not collecting (readership.enabled: false)")
	} else {
		m.goWork(func() { _ = col.Run(ctx) })
	}
	// Every replica serves /metrics: each reads the stored figures.
	m.goWork(func() {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			gauges(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}
