package main

import (
	"fmt"
	"os"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/inbox"
	"github.com/lifang/wxbot/newsletter"
)

// The inbox's consumers (the publisher declares its side in its package).
var _ inbox.Archive = (*archive.Archive)(nil)

// checkInbox refuses a newsletter.inbox that is not a folder, before
// anything starts.
func (m *Main) checkInbox() error {
	dir := m.Config.Newsletter.Inbox
	if dir == "" {
		return nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("serve: newsletter.inbox %q is not a folder", dir)
	}
	return nil
}

// wireInbox builds the one reader of the issue files: it parses each file
// once and hands the result to the publisher (publish.auto, the review
// gate, the problems `wxbot status` shows) and then the valid issues to the
// archive the chat answers from. Without newsletter.inbox the built-in
// examples are loaded once, for the archive alone. Call it after
// wireWeChat, which builds the publisher.
func (m *Main) wireInbox() {
	opts := inbox.Options{Parse: newsletter.Parse, Archive: m.Archive, Log: m.Log,
		Settle: m.Config.Newsletter.InboxSettle}
	if dir := m.Config.Newsletter.Inbox; dir != "" {
		opts.Dir = dir
		if m.Publisher != nil {
			opts.Consumers = append(opts.Consumers, m.Publisher)
		}
	} else {
		opts.FS = examples.FS
		m.Log.Info("newsletter.inbox is not set: answering from the built-in example issues")
	}
	m.Loader = inbox.New(opts)
}
