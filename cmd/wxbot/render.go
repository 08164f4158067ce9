package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the renderer lands (issue 2).
func newRenderCmd() *cobra.Command {
	return &cobra.Command{Use: "render FILE", Short: "Render a newsletter issue as WeChat articles", Args: cobra.ExactArgs(1),
		RunE: func(*cobra.Command, []string) error { return errors.New("render: not implemented yet") }}
}
