package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lifang/wxbot/config"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "wxbot",
		Short: "Publish the weekly newsletter to a WeChat Official Account and chat with its subscribers",
		Long: `wxbot turns each weekly issue of the firm's bilingual newsletter (Markdown)
into WeChat articles, drafts, previews and broadcasts them exactly once at the
scheduled slot, and answers the account's subscribers in chat.

Configuration comes from built-in defaults, then wxbot.yaml (or --config),
then WXBOT_* environment variables, then flags. See wxbot.example.yaml.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "configuration file (default ./wxbot.yaml when present)")
	root.PersistentFlags().String("log-level", "", "log level: debug, info, warn, error (key log.level)")
	root.PersistentFlags().String("log-format", "", "log format: text or json (key log.format)")
	root.AddCommand(
		newVersionCmd(),
		newParseCmd(),
		newRenderCmd(),
		newServeCmd(),
		newChatCmd(),
		newSandboxCmd(), newQRCodeCmd(), newMenuCmd(),
		newPublishCmd(), newStatusCmd(), newStatsCmd(), newCancelCmd(), newRetractCmd(), newApproveCmd(), newRejectCmd(), newAdminCmd(),
		newHealthcheckCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print wxbot's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "wxbot %s\n", buildVersion())
			return nil
		},
	}
}

func buildVersion() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		v += " (" + info.GoVersion + ")"
	}
	return v
}

// loadConfig loads the configuration for a command. keys maps configuration
// keys to the names of the command's flags that set them.
func loadConfig(cmd *cobra.Command, keys map[string]string) (*config.Config, error) {
	flags := map[string]*pflag.Flag{
		"log.level":  cmd.Flags().Lookup("log-level"),
		"log.format": cmd.Flags().Lookup("log-format"),
	}
	for key, name := range keys {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			return nil, fmt.Errorf("internal: flag --%s for %s is not defined", name, key)
		}
		flags[key] = f
	}
	file, _ := cmd.Flags().GetString("config")
	cfg, err := config.Load(config.Options{File: file, Flags: flags})
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// newLogger builds the process logger from log.level and log.format.
func newLogger(cfg config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToLower(cfg.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if w == nil {
		w = os.Stderr
	}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
