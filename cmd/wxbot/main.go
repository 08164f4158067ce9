// Command wxbot publishes the firm's bilingual weekly newsletter to its WeChat
// Official Account and answers the account's subscribers in chat. main wires
// the pieces by hand: config → Redis → WeChat client → publisher → bot → HTTP.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the schedule's time zone works on images without zoneinfo

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, newRootCmd(), os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs root and returns the exit status: 0, an exitError's code
// after its message as is, or 1 after "wxbot: " and the error.
func execute(ctx context.Context, root *cobra.Command, stderr io.Writer) int {
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "wxbot:", err)
	return 1
}

// exitError ends the process with a given status after printing msg as is
// (no "wxbot:" prefix), for errors already phrased for the user such as
// FILE:LINE: messages.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }
