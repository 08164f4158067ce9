// Command wxbot publishes the firm's bilingual weekly newsletter to its WeChat
// Official Account and answers the account's subscribers in chat. main wires
// the pieces by hand: config → Redis → WeChat client → publisher → bot → HTTP.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// go-redis prints every failed dial to the terminal with its own
	// logger; a command reports the outage once, in its own words. serve
	// replaces this with its process log at debug level.
	quietRedisLog(slog.New(slog.DiscardHandler))
	usageErrors(root)
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

// Exit statuses, as documented in the README: 2 is a usage error (an
// unknown command or flag, a wrong number of arguments, flags that do not
// go together) for every command.
const exitUsage = 2

// usageErrors makes cobra's own usage errors exit with exitUsage, like the
// commands' checks of their flags: the flag parser's errors through
// FlagErrorFunc, the argument checks by wrapping each command's Args, and an
// unknown subcommand by the group commands themselves.
func usageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError(c, err)
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && !c.Runnable() {
			// cobra answers an unknown subcommand with a plain error; a
			// group command with a RunE reports it as a usage error and
			// shows its help when called bare.
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(c *cobra.Command, args []string) error {
				if len(args) > 0 {
					return usageError(c, fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()))
				}
				return c.Help()
			}
		} else if check := c.Args; check != nil {
			c.Args = func(c *cobra.Command, args []string) error {
				if err := check(c, args); err != nil {
					return usageError(c, err)
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func usageError(c *cobra.Command, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: exitUsage, msg: fmt.Sprintf("%s: %s\nRun '%s --help' for usage.", c.CommandPath(), err, c.CommandPath())}
}
