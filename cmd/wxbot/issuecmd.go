package main

import (
	"github.com/spf13/cobra"
)

// onIssue is the RunE of a command that acts on one issue of the pipeline
// (approve, reject, cancel, retract): it reads the issue number from the
// first argument, runs check for the flags (a usage error when it fails:
// exit 2), opens the publisher (with the WeChat client when needAPI) and
// hands both to run.
func onIssue(name string, needAPI bool, check func() string, run func(cmd *cobra.Command, env *publishEnv, n int) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		n, err := issueNumber(args[0])
		if err != nil {
			return &exitError{code: 2, msg: name + ": " + err.Error()}
		}
		if check != nil {
			if msg := check(); msg != "" {
				return &exitError{code: 2, msg: name + ": " + msg}
			}
		}
		env, err := openPublisher(cmd, name, needAPI)
		if err != nil {
			return err
		}
		defer env.close()
		return run(cmd, env, n)
	}
}
