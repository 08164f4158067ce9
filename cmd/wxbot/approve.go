package main

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/bot"
	"github.com/lifang/wxbot/publisher"
)

// chatApprovals lets publish.approvers approve from the chat.
type chatApprovals struct{ pub *publisher.Publisher }

// approvalsFor is the chat's approval step, or nil without a publisher.
func approvalsFor(pub *publisher.Publisher) bot.Approvals {
	if pub == nil {
		return nil
	}
	return chatApprovals{pub}
}

func (a chatApprovals) IsApprover(openid string) bool { return a.pub.IsApprover(openid) }

func (a chatApprovals) Approve(ctx context.Context, n int, by string) (bot.ApprovalOutcome, error) {
	res, err := a.pub.Approve(ctx, n, by)
	return approvalOutcome(n, res, err)
}

func (a chatApprovals) Reject(ctx context.Context, n int, by, reason string) (bot.ApprovalOutcome, error) {
	res, err := a.pub.Reject(ctx, n, by, reason)
	return approvalOutcome(n, res, err)
}

func approvalOutcome(n int, res *publisher.Approval, err error) (bot.ApprovalOutcome, error) {
	out := bot.ApprovalOutcome{Number: n}
	var rf *publisher.Refusal
	if errors.As(err, &rf) {
		out.Refused = refusalText(rf)
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.Scheduled = res.Scheduled
	if res.Record != nil {
		out.Due = res.Record.Due
	}
	return out, nil
}

// operator names who ran a command, for an issue's history.
func operator(by string) string {
	if by = strings.TrimSpace(by); by != "" {
		return by
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

func newApproveCmd() *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "approve NUMBER [--by NAME]",
		Short: "Approve an issue's current content for sending (publish.approval: required)",
		Long: `approve records that the issue's current content (its hash) is approved.
With publish.approval: required nothing is sent — at its slot, by --now or by
the inbox — until this, or an approver's reply "批准 N" / "approve N" to the
preview. An issue waiting for approval is then scheduled: at its due time, or
at once when that has passed ('wxbot serve' sends it). An edit after the
approval needs a new approval. Needs redis.addr (the Redis of 'wxbot serve').
Exit status: 0 approved, 1 refused (the message says why), 2 usage.`,
		Example: `  wxbot approve 55
  wxbot approve 55 --by "Partner Li"`,
		Args: cobra.ExactArgs(1),
		RunE: onIssue("wxbot approve", false, nil, func(cmd *cobra.Command, env *publishEnv, n int) error {
			res, err := env.pub.Approve(cmd.Context(), n, operator(by))
			if err != nil {
				return publishError("wxbot approve", err)
			}
			if res.Scheduled {
				fmt.Fprintf(cmd.OutOrStdout(), "No.%d approved by %s; scheduled for %s (wxbot serve sends it).\n", n, res.Record.ApprovedBy, fmtIn(env.pub, res.Record.Due))
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "No.%d approved by %s (state %s): it goes on when its run reaches the schedule.\n", n, res.Record.ApprovedBy, res.Record.State)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&by, "by", "", "who approves, for the issue's history (default cli:$USER)")
	return cmd
}

func newRejectCmd() *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "reject NUMBER --reason TEXT [--by NAME]",
		Short: "Reject an issue's current content: nothing is sent, the editors are told why",
		Long: `reject takes the issue out of the schedule with a reason (state rejected);
nothing is sent. Running 'wxbot publish' again (an edited file, say) asks for
approval again. Approvers can reply "驳回 N 理由" / "reject N reason" to the
preview instead. Exit status: 0 rejected, 1 refused, 2 usage.`,
		Example: `  wxbot reject 55 --reason "the second title is wrong"`,
		Args:    cobra.ExactArgs(1),
		RunE: onIssue("wxbot reject", false, func() string {
			if strings.TrimSpace(reason) == "" {
				return "--reason is required, so the editors know what to change"
			}
			return ""
		}, func(cmd *cobra.Command, env *publishEnv, n int) error {
			res, err := env.pub.Reject(cmd.Context(), n, operator(by), reason)
			if err != nil {
				return publishError("wxbot reject", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "No.%d rejected by %s: %s. Nothing will be sent.\n", n, res.Record.RejectedBy, res.Record.RejectReason)
			return nil
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the editors (required)")
	cmd.Flags().StringVar(&by, "by", "", "who rejects, for the issue's history (default cli:$USER)")
	return cmd
}
