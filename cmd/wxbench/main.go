// Command wxbench measures wxbot's webhook fairly: every server under test
// is its own process — wxbot as the real `wxbot serve` binary on a real
// redis-server, the bare silenceper/wechat SDK server (bot/refserver), a
// net/http floor and a bare-TCP floor — and the load comes from a lean
// client in yet another process. The servers take turns in short slices in
// rotating order for several rounds, so whatever else the machine does
// weighs on all alike, and the report gives per round and as medians the
// throughput, its ratio to the SDK server, latency, and the CPU each
// process (redis-server included) spent per request, read from /proc.
//
// It is a tool for this repository's measurements (docs/benchmarks.md), not
// part of the service: it sends traffic only to 127.0.0.1, starts and stops
// everything it measures, and stops by itself.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, newRootCmd(), os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs root with args and returns the exit status.
func execute(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "wxbench:", err)
		return 2
	}
	fmt.Fprintln(stderr, "wxbench:", err)
	return 1
}

// usageError is a bad flag value: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func newRootCmd() *cobra.Command {
	root := newBenchCmd()
	root.AddCommand(newServeRefCmd(), newServeHTTPCmd(), newServeTCPCmd(), newLoadCmd(), newReportCmd())
	root.SilenceUsage, root.SilenceErrors = true, true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	return root
}
