// Package notify tells the editors what the publisher did: a WeCom group
// robot, e-mail and customer-service messages to publish.admins. The
// notices are typed (Notice); Text holds every notice's words, in one
// place. Each notice is delivered once across the replicas (a Redis claim),
// retried with backoff, and its failures are counted and kept for status.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is what happened.
type Kind string

// The kinds of notice.
const (
	AwaitingApproval Kind = "awaiting_approval" // When: due
	Approved         Kind = "approved"          // By; When: due (zero: sent ahead of its schedule)
	Rejected         Kind = "rejected"          // By, Reason
	Scheduled        Kind = "scheduled"         // When; Reason: the target
	Sent             Kind = "sent"              // Reason: what WeChat accepted
	Finished         Kind = "finished"          // Counts
	Failed           Kind = "failed"            // Step (may be empty), Reason; Status: add "(wxbot status N)"
	Attention        Kind = "attention"         // Reason: the editor must look
	Deferred         Kind = "deferred"          // Reason; When: the next slot
	PublishFailed    Kind = "publish_failed"    // Step (may be empty), Reason
	InboxUnparsable  Kind = "inbox_unparsable"  // Reason (FILE:LINE: problem)
	Refused          Kind = "refused"           // Reason; File: the inbox file
	StateLost        Kind = "state_lost"        // Reason: what was restored
	Retracted        Kind = "retracted"         // What, By, Reason (what WeChat did)
	PreviewFailed    Kind = "preview_failed"    // Reason: the reviewers and why
	URLsUnknown      Kind = "urls_unknown"      // Reason: where on the platform to look
)

// Counts are WeChat's final report of a broadcast.
type Counts struct {
	Mass                          bool // a mass send was part of it
	Sent, Total, Errors, Filtered int
	MassStatus                    string
	Publication                   bool // a freepublish was part of it
	Published                     bool
	URLs                          int
	PublishError                  string
}

// Notice is one event for the editors.
type Notice struct {
	Kind   Kind
	Number int       // the issue; 0 for none
	When   time.Time // due, next slot
	By     string    // who approved, rejected, retracted
	Reason string    // in plain words
	Step   string    // the step that failed
	What   string    // what was retracted
	File   string    // the inbox file, FILE or FILE:LINE
	Status bool      // point at wxbot status N
	Counts Counts
}

// ID names the notice for deduplication: kind, issue and a hash of its
// content, so two replicas reporting the same event share it.
func (n Notice) ID() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00%s\x00%s\x00%s\x00%s\x00%v\x00%+v",
		n.Kind, n.Number, n.When.UnixMilli(), n.By, n.Reason, n.Step, n.What, n.File, n.Status, n.Counts)
	return string(n.Kind) + ":" + strconv.Itoa(n.Number) + ":" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Title is a short heading: a mail subject, the robot message's first line.
func Title(n Notice) string {
	var what string
	switch n.Kind {
	case AwaitingApproval:
		what = "waits for approval"
	case Approved:
		what = "approved"
	case Rejected:
		what = "rejected"
	case Scheduled:
		what = "scheduled"
	case Sent:
		what = "sent"
	case Finished:
		what = "broadcast finished"
	case Failed, PublishFailed:
		what = "failed"
	case Attention:
		what = "needs attention"
	case Deferred:
		what = "deferred"
	case InboxUnparsable:
		return "wxbot: an inbox file cannot be published"
	case Refused:
		what = "refused"
	case StateLost:
		return "wxbot: Redis lost state"
	case Retracted:
		what = "retracted"
	case PreviewFailed:
		what = "preview failed"
	case URLsUnknown:
		what = "article links unknown"
	default:
		what = string(n.Kind)
	}
	if n.Number > 0 {
		return fmt.Sprintf("wxbot: No.%d %s", n.Number, what)
	}
	return "wxbot: " + what
}

// Text is the notice in words; times are shown in loc (nil: UTC).
func Text(n Notice, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(loc).Format("Mon 2006-01-02 15:04:05 MST")
	}
	num := n.Number
	status := ""
	if n.Status {
		status = fmt.Sprintf(" (wxbot status %d)", num)
	}
	switch n.Kind {
	case AwaitingApproval:
		return fmt.Sprintf("No.%d waits for approval; due %s. Approvers reply \"批准 %d\" (or \"驳回 %d 理由\") to the preview; operators run wxbot approve %d.",
			num, at(n.When), num, num, num)
	case Approved:
		if n.When.IsZero() {
			return fmt.Sprintf("No.%d was approved by %s (ahead of its schedule).", num, n.By)
		}
		return fmt.Sprintf("No.%d was approved by %s; it goes out %s.", num, n.By, at(n.When))
	case Rejected:
		return fmt.Sprintf("No.%d was rejected by %s: %s. Nothing was sent.", num, n.By, n.Reason)
	case Scheduled:
		if n.Reason != "" {
			return fmt.Sprintf("No.%d is scheduled for %s, %s.", num, at(n.When), n.Reason)
		}
		return fmt.Sprintf("No.%d is scheduled for %s.", num, at(n.When))
	case Sent:
		if n.Reason != "" {
			return fmt.Sprintf("No.%d was sent: %s; WeChat reports the outcome shortly.", num, n.Reason)
		}
		return fmt.Sprintf("No.%d was sent; WeChat reports the outcome shortly.", num)
	case Finished:
		return finishedText(n)
	case Failed:
		switch {
		case n.Step == "":
			return fmt.Sprintf("No.%d: %s", num, n.Reason)
		case n.Step == "broadcast":
			return fmt.Sprintf("No.%d broadcast failed — %s%s", num, n.Reason, status)
		}
		return fmt.Sprintf("No.%d: %s failed — %s%s", num, n.Step, n.Reason, status)
	case Attention:
		return fmt.Sprintf("No.%d needs attention: %s", num, n.Reason)
	case Deferred:
		return fmt.Sprintf("No.%d was not sent: %s It goes out at the next slot, %s.", num, n.Reason, at(n.When))
	case PublishFailed:
		if n.Step != "" {
			return fmt.Sprintf("No.%d publication (%s) failed — %s", num, n.Step, n.Reason)
		}
		return fmt.Sprintf("No.%d publication failed: %s", num, n.Reason)
	case InboxUnparsable:
		return "Inbox file cannot be published, nothing was sent: " + n.Reason
	case Refused:
		return n.Reason + " (inbox file " + n.File + ")"
	case StateLost:
		return n.Reason
	case Retracted:
		return fmt.Sprintf("No.%d: %s was withdrawn from WeChat by %s (%s).", num, n.What, n.By, n.Reason)
	case PreviewFailed:
		return fmt.Sprintf("No.%d: preview failed for %s", num, n.Reason)
	case URLsUnknown:
		return fmt.Sprintf("No.%d: the article links are unknown — check the platform (%s). WeChat's report carried none and the published list has no match; the chat shows the issue without links.", num, n.Reason)
	}
	if num > 0 {
		return fmt.Sprintf("No.%d: %s %s", num, n.Kind, n.Reason)
	}
	return strings.TrimSpace(string(n.Kind) + " " + n.Reason)
}

func finishedText(n Notice) string {
	c := n.Counts
	var b strings.Builder
	fmt.Fprintf(&b, "No.%d broadcast finished", n.Number)
	if c.Mass {
		if c.Total > 0 || c.Sent > 0 {
			fmt.Fprintf(&b, ": WeChat sent it to %d of %d followers (%d errors, %d left after filtering), status %q",
				c.Sent, c.Total, c.Errors, c.Filtered, c.MassStatus)
		} else {
			fmt.Fprintf(&b, ": WeChat reports %s", c.MassStatus)
		}
	}
	if c.Publication {
		if c.Published {
			fmt.Fprintf(&b, "; published, %d article links", c.URLs)
		} else {
			fmt.Fprintf(&b, "; publication: %s", c.PublishError)
		}
	}
	b.WriteString(".")
	return b.String()
}

// forAdmins reports whether a kind goes to publish.admins as a
// customer-service message: WeChat allows a few per message the admin
// sends, so the step-by-step news (scheduled, sent) goes to the robot and
// e-mail only.
func forAdmins(k Kind) bool { return k != Scheduled && k != Sent }
