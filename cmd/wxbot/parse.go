package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the parser lands (issue 2).
func newParseCmd() *cobra.Command {
	return &cobra.Command{Use: "parse FILE", Short: "Parse a newsletter issue", Args: cobra.ExactArgs(1),
		RunE: func(*cobra.Command, []string) error { return errors.New("parse: not implemented yet") }}
}
