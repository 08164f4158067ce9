package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCancelCmd() *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "cancel NUMBER [--by NAME]",
		Short: "Unschedule an issue that has not started sending",
		Long: `cancel takes an issue out of the schedule while it is not being sent: its
state becomes cancelled and 'wxbot serve' will not send it. Its draft stays
in WeChat's drafts box; 'wxbot publish FILE' schedules it again. Once the
broadcast started (state sending, sent or finished) cancel is refused: a
mass send cannot be taken back. Who cancelled is in the issue's history
('wxbot status N'). Needs redis.addr (the Redis of 'wxbot serve').`,
		Example: `  wxbot cancel 53
  wxbot cancel No.53 --by "Zhang Wei"`,
		Args: cobra.ExactArgs(1),
		RunE: onIssue("wxbot cancel", false, nil, func(cmd *cobra.Command, env *publishEnv, n int) error {
			before, _ := env.pub.Get(cmd.Context(), n)
			rec, err := env.pub.Cancel(cmd.Context(), n, operator(by))
			if err != nil {
				return publishError("wxbot cancel", err)
			}
			was := ""
			if before != nil {
				was = fmt.Sprintf(" (was %s", before.State)
				if !before.Due.IsZero() && before.State == "scheduled" {
					was += " for " + fmtIn(env.pub, before.Due)
				}
				was += ")"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "No.%d cancelled%s; nothing will be sent. Its draft %s stays in WeChat's drafts box.\n", rec.Number, was, rec.DraftMediaID)
			return nil
		}),
	}
	cmd.Flags().StringVar(&by, "by", "", "who cancels, for the issue's history (default cli:$USER)")
	return cmd
}
