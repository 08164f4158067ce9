package main

import (
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/publisher"
)

// Every refusal, step and outcome the publisher returns has the command
// line's words (not the neutral fallback), with the facts it carries.
func TestWordsForEveryFact(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 11, 30, 9, 0, 0, 0, loc)
	for _, r := range publisher.RefusalReasons {
		rf := &publisher.Refusal{Reason: r, Number: 55, State: publisher.StateScheduled, When: when, By: "alice",
			Detail: "lang:en", Article: 3, Articles: 2, Tags: []string{"lang:zh"}}
		got := refusalText(rf)
		if got == rf.Error() || got == "" {
			t.Errorf("%s: no words of its own: %q", r, got)
		}
		switch r {
		case publisher.ReasonRequired, publisher.NoReviewers, publisher.TooManyReviewers, publisher.BadReviewer,
			publisher.TagUnknown, publisher.TagNeedsMass:
		default:
			if !strings.Contains(got, "No.55") {
				t.Errorf("%s: %q does not name the issue", r, got)
			}
		}
	}
	for r, want := range map[publisher.RefusalReason]string{
		publisher.AlreadyApproved: "approved by alice on Mon 2026-11-30 09:00:00 CST",
		publisher.TagUnknown:      `no WeChat tag named "lang:en" (the account has tags lang:zh): check --to-tag`,
		publisher.SendUnknown:     "--force",
		publisher.NoSuchArticle:   "has 2 articles: there is no article 3",
		publisher.AlreadyRejected: "rejected by alice: lang:en",
	} {
		if got := refusalText(&publisher.Refusal{Reason: r, Number: 55, When: when, By: "alice", Detail: "lang:en",
			Article: 3, Articles: 2, Tags: []string{"lang:zh"}}); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to contain %q", r, got, want)
		}
	}

	rec := &publisher.Record{Number: 55, Mode: "mass", Tag: "lang:en", State: publisher.StateScheduled, Due: when}
	for _, k := range publisher.StepKinds {
		line := stepText(loc, rec, publisher.Step{Kind: k, IDs: []string{"ID1", "ID2"}, Count: 2, At: when, Detail: "2026-11-30"})
		if len(line) < 11 || line[10] != ' ' || strings.TrimSpace(line[:10]) == "" {
			t.Errorf("%s: %q is not a padded column", k, line)
		}
	}
	if got := stepText(loc, rec, publisher.Step{Kind: publisher.StepScheduled, At: when}); got != `scheduled  Mon 2026-11-30 09:00:00 CST, to tag "lang:en", mode mass` {
		t.Errorf("scheduled step: %q", got)
	}
	if got := stepText(loc, rec, publisher.Step{Kind: publisher.StepSent, IDs: []string{"1000000002", "wxbot55-abc"}}); got != `sent       msg_id 1000000002, to tag "lang:en", clientmsgid wxbot55-abc` {
		t.Errorf("sent step: %q", got)
	}
	for _, o := range publisher.Outcomes {
		got := outcomeText(loc, &publisher.Result{Number: 55, Record: rec, Outcome: o})
		if !strings.HasPrefix(got, "No.55") {
			t.Errorf("%s: %q", o, got)
		}
	}
	if got := outcomeText(loc, &publisher.Result{Number: 55, Record: rec, Outcome: publisher.OutcomeScheduled}); !strings.Contains(got, "scheduled for Mon 2026-11-30 09:00:00 CST") {
		t.Errorf("scheduled outcome: %q", got)
	}
	for h, want := range map[publisher.Transition]string{
		{Action: "cancelled", By: "Zhang Wei", Note: "cancelled"}:         "cancelled by Zhang Wei",
		{Action: "approved", By: "partner", Note: "approved (content x)"}: "approved by partner — approved (content x)",
		{Note: "draft unchanged"}:                                         "draft unchanged",
	} {
		if got := historyText(h); got != want {
			t.Errorf("history line %q, want %q", got, want)
		}
	}
}
