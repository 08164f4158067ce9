package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newRetractCmd() *cobra.Command {
	const name = "wxbot retract"
	var (
		article int
		by      string
	)
	cmd := &cobra.Command{
		Use:   "retract NUMBER [--article K] [--by NAME]",
		Short: "Withdraw a sent issue from WeChat (the mass send and the publication)",
		Long: `retract withdraws an issue that went out: WeChat deletes the mass send
(message/mass/delete with its msg_id) from the followers' message lists and
the publication (freepublish/delete with its article_id); their pages then
say the content was deleted. --article K withdraws only the K-th article
(1-based). The issue's state becomes retracted, with who and when in its
history ('wxbot status N'); the chat stops showing it; it is never sent
again — corrections go out as a new issue. An issue not sent yet is refused:
'wxbot cancel N' unschedules it.

Needs redis.addr (the Redis of 'wxbot serve') and the account's credentials.
Exit status: 0 withdrawn, 1 refused or failed (the message says why), 2 usage.`,
		Example: `  wxbot retract 55
  wxbot retract 55 --article 2 --by "Zhang Wei"`,
		Args: cobra.ExactArgs(1),
		RunE: onIssue(name, true, func() string {
			if article < 0 {
				return "--article is 1-based (0 or absent: the whole issue)"
			}
			return ""
		}, func(cmd *cobra.Command, env *publishEnv, n int) error {
			by = operator(by)
			res, err := env.pub.Retract(cmd.Context(), n, article, by)
			if res == nil && err != nil {
				return publishError(name, err)
			}
			out := cmd.OutOrStdout()
			what := fmt.Sprintf("No.%d", n)
			if article > 0 {
				what = fmt.Sprintf("No.%d article %d", n, article)
			}
			var done []string
			if res.Mass {
				done = append(done, fmt.Sprintf("mass send %d deleted", res.Record.MsgID))
			}
			if res.Publication {
				done = append(done, fmt.Sprintf("publication %s deleted", res.Record.PublishID))
			}
			fmt.Fprintf(out, "%s withdrawn from WeChat: %s.\n", what, strings.Join(done, ", "))
			if res.Whole {
				fmt.Fprintf(out, "No.%d is retracted: the chat no longer shows it, and it is never sent again.\n", n)
			}
			if err != nil {
				return publishError(name, err)
			}
			return nil
		}),
	}
	cmd.Flags().IntVar(&article, "article", 0, "withdraw only this article (1-based)")
	cmd.Flags().StringVar(&by, "by", "", "who asked, for the issue's history (default cli:$USER)")
	return cmd
}
