// Command wxbot publishes the firm's bilingual weekly newsletter to its WeChat
// Official Account and answers the account's subscribers in chat. main wires
// the pieces by hand: config → Redis → WeChat client → publisher → bot → HTTP.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the schedule's time zone works on images without zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "wxbot:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a given status after printing msg as is
// (no "wxbot:" prefix), for errors already phrased for the user such as
// FILE:LINE: messages.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }
