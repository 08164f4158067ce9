package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/bot"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/wechat"
)

func newMenuCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "menu",
		Short: "Push the custom menu from bot.menu to WeChat, or show the current one",
		Long: `The account's custom menu is configured in bot.menu: click buttons send
their key to the chat (the built-ins are latest, archive, help, topics,
lang_zh, lang_en, lang_both, more and issue_N; other keys are looked up in
bot.rules as if typed), view buttons open a link. These commands need
wechat.app_id and wechat.app_secret.`,
	}
	cmd.AddCommand(newMenuSyncCmd(), newMenuShowCmd())
	return cmd
}

func newMenuSyncCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sync",
		Short: "Replace the account's menu with bot.menu",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openWeChatCmd(cmd, "wxbot menu sync", needs{api: true})
			if err != nil {
				return err
			}
			defer env.close()
			if len(env.cfg.Bot.Menu) == 0 {
				return &exitError{code: 1, msg: "wxbot menu sync: bot.menu is empty: nothing to push (see the example in wxbot.example.yaml)"}
			}
			buttons := wechat.MenuFromConfig(env.cfg.Bot.Menu)
			for _, w := range menuWarnings(env.cfg.Bot.Menu, env.cfg.Bot.Rules) {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if err := env.api.CreateMenu(cmd.Context(), buttons); err != nil {
				return explainAPIError(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "menu pushed:")
			printMenu(cmd.OutOrStdout(), buttons)
			return nil
		},
	}
}

func newMenuShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the account's current menu",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openWeChatCmd(cmd, "wxbot menu show", needs{api: true})
			if err != nil {
				return err
			}
			defer env.close()
			buttons, err := env.api.Menu(cmd.Context())
			if wechat.IsCode(err, 46003) {
				fmt.Fprintln(cmd.OutOrStdout(), "the account has no custom menu (wxbot menu sync pushes bot.menu)")
				return nil
			}
			if err != nil {
				return explainAPIError(err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), buttons)
			}
			printMenu(cmd.OutOrStdout(), buttons)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printMenu(w io.Writer, buttons []wechat.MenuButton) {
	var walk func(bs []wechat.MenuButton, indent string)
	walk = func(bs []wechat.MenuButton, indent string) {
		for _, b := range bs {
			switch {
			case len(b.SubButtons) > 0:
				fmt.Fprintf(w, "%s%s\n", indent, b.Name)
				walk(b.SubButtons, indent+"  ")
			case b.Type == "view":
				fmt.Fprintf(w, "%s%s → %s\n", indent, b.Name, b.URL)
			default:
				fmt.Fprintf(w, "%s%s [%s %s]\n", indent, b.Name, b.Type, b.Key)
			}
		}
	}
	walk(buttons, "  ")
}

// menuWarnings names click keys that neither a built-in nor a rule answers:
// such a button would do nothing visible.
func menuWarnings(menu []config.MenuButton, rules []config.Rule) []string {
	builtin := map[string]bool{
		bot.KeyLatest: true, bot.KeyArchive: true, bot.KeyHelp: true, bot.KeyTopics: true,
		bot.KeyLangZH: true, bot.KeyLangEN: true, bot.KeyLangBoth: true, bot.KeyMore: true,
	}
	var out []string
	var walk func(bs []config.MenuButton)
	walk = func(bs []config.MenuButton) {
		for _, b := range bs {
			walk(b.SubButtons)
			if b.Type != "click" || builtin[b.Key] || strings.HasPrefix(b.Key, "issue_") {
				continue
			}
			ruled := false
			for _, r := range rules {
				ruled = ruled || ruleMatches(r, b.Key)
			}
			if !ruled {
				out = append(out, fmt.Sprintf("button %q: key %q is not a built-in and no bot.rules entry matches it; a click will get no reply", b.Name, b.Key))
			}
		}
	}
	walk(menu)
	return out
}

// ruleMatches reports whether a keyword rule would answer text.
func ruleMatches(r config.Rule, text string) bool {
	switch r.Match {
	case "exact":
		return strings.EqualFold(strings.TrimSpace(text), strings.TrimSpace(r.Pattern))
	case "prefix":
		return strings.HasPrefix(strings.ToLower(text), strings.ToLower(r.Pattern))
	case "contains":
		return strings.Contains(strings.ToLower(text), strings.ToLower(r.Pattern))
	case "regex":
		re, err := regexp.Compile(r.Pattern)
		return err == nil && re.MatchString(text)
	}
	return false
}
