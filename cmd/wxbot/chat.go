package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/config"
)

func newChatCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chat [TEXT]",
		Short: "Talk to a running 'wxbot serve' as WeChat would",
		Long: `chat plays WeChat against a running 'wxbot serve': it writes the message
as WeChat pushes it, signs it with wechat.token (or the development token
'wxbot serve' wrote), encrypts it when wechat.encoding_aes_key is set, posts
it to the webhook and prints the decoded reply. Without TEXT it reads one
message per line from standard input.

  wxbot chat 最新
  wxbot chat --event subscribe --scene expo2026
  wxbot chat --event CLICK --key latest`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, map[string]string{})
			if err != nil {
				return err
			}
			opts, err := chatOptionsFromFlags(cmd, cfg)
			if err != nil {
				return err
			}
			text := strings.Join(args, " ")
			if opts.event != "" || text != "" {
				return opts.exchange(cmd.OutOrStdout(), text)
			}
			return opts.interactive(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.String("url", "", "webhook URL (default http://127.0.0.1:PORT + http.webhook_path, from http.addr)")
	f.String("event", "", "send an event instead of text: subscribe, unsubscribe, SCAN, CLICK, VIEW")
	f.String("scene", "", "QR scene of a subscribe or SCAN event")
	f.String("key", "", "EventKey of a CLICK (menu key) or VIEW (URL) event")
	f.String("openid", "oWxbotChatLocalUser", "the subscriber's openid")
	f.String("mode", "", "plain, compat or safe (default: safe when wechat.encoding_aes_key is set, else plain)")
	return cmd
}

type chatOptions struct {
	acct   wechatsim.Account
	mode   wechatsim.Mode
	url    string
	openid string
	event  string
	scene  string
	key    string
	client *http.Client
}

func chatOptionsFromFlags(cmd *cobra.Command, cfg *config.Config) (*chatOptions, error) {
	f := cmd.Flags()
	o := &chatOptions{client: &http.Client{Timeout: 10 * time.Second}}
	o.url, _ = f.GetString("url")
	o.event, _ = f.GetString("event")
	o.scene, _ = f.GetString("scene")
	o.key, _ = f.GetString("key")
	o.openid, _ = f.GetString("openid")
	mode, _ := f.GetString("mode")

	token := cfg.WeChat.Token
	if token == "" {
		t, err := readDevToken(DefaultDevTokenPath())
		if err != nil {
			return nil, &exitError{code: 2, msg: "wxbot chat: wechat.token is not set and there is no development token yet (" +
				DefaultDevTokenPath() + "): start 'wxbot serve' first, or set wechat.token"}
		}
		token = t
	}
	o.acct = wechatsim.Account{Token: token, AppID: cfg.WeChat.AppID, AESKey: cfg.WeChat.EncodingAESKey, UserName: "gh_wxbotchat"}
	switch {
	case mode != "":
		m, err := wechatsim.ParseMode(mode)
		if err != nil {
			return nil, &exitError{code: 2, msg: "wxbot chat: --mode: " + err.Error()}
		}
		if m != wechatsim.Plain && o.acct.AESKey == "" {
			return nil, &exitError{code: 2, msg: "wxbot chat: --mode " + mode + " needs wechat.encoding_aes_key and wechat.app_id"}
		}
		o.mode = m
	case o.acct.AESKey != "":
		o.mode = wechatsim.Safe
	default:
		o.mode = wechatsim.Plain
	}
	if o.url == "" {
		host, port, err := net.SplitHostPort(cfg.HTTP.Addr)
		if err != nil {
			return nil, fmt.Errorf("chat: http.addr %q: %w", cfg.HTTP.Addr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		o.url = "http://" + net.JoinHostPort(host, port) + cfg.HTTP.WebhookPath
	}
	switch strings.ToLower(o.event) {
	case "":
	case "subscribe", "unsubscribe":
		o.event = strings.ToLower(o.event)
	case "scan", "click", "view":
		o.event = strings.ToUpper(o.event)
	default:
		return nil, &exitError{code: 2, msg: "wxbot chat: --event must be subscribe, unsubscribe, SCAN, CLICK or VIEW"}
	}
	return o, nil
}

// exchange sends one message (or the configured event) and prints the reply.
func (o *chatOptions) exchange(out io.Writer, text string) error {
	now := time.Now()
	var msg []byte
	switch o.event {
	case "":
		msg = wechatsim.Text(o.openid, o.acct.UserName, text, now.UnixNano()/1000, now.Unix())
	case "subscribe":
		key := ""
		if o.scene != "" {
			key = "qrscene_" + o.scene
		}
		msg = wechatsim.Event(o.openid, o.acct.UserName, o.event, key, now.Unix())
	case "SCAN":
		msg = wechatsim.Event(o.openid, o.acct.UserName, o.event, o.scene, now.Unix())
	default:
		msg = wechatsim.Event(o.openid, o.acct.UserName, o.event, o.key, now.Unix())
	}
	p, err := o.acct.Seal(msg, o.mode, now)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	r, err := o.acct.Send(o.client, o.url, p)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return fmt.Errorf("chat: no server at %s (is 'wxbot serve' running?): %w", o.url, err)
		}
		return fmt.Errorf("chat: %w", err)
	}
	printReply(out, r)
	return nil
}

func printReply(out io.Writer, r *wechatsim.Reply) {
	switch {
	case r.Success:
		fmt.Fprintln(out, "(no reply)")
	case r.MsgType == "text":
		fmt.Fprintln(out, r.Content)
	case r.MsgType == "news":
		for _, a := range r.Articles {
			fmt.Fprintf(out, "[%s]\n", a.Title)
			if a.Description != "" {
				fmt.Fprintln(out, a.Description)
			}
			fmt.Fprintln(out, a.URL)
		}
	case r.MsgType == "image":
		fmt.Fprintf(out, "[image %s]\n", r.MediaID)
	default:
		fmt.Fprintf(out, "[%s]\n%s\n", r.MsgType, r.Plain)
	}
}

// interactive sends each line read from in, until end of input.
func (o *chatOptions) interactive(in io.Reader, out, prompt io.Writer) error {
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(prompt, "Talking to %s as %s (%s mode). Type a message; Ctrl-D ends.\n", o.url, o.openid, o.mode)
		}
	}
	sc := bufio.NewScanner(in)
	for {
		fmt.Fprint(prompt, "> ")
		if !sc.Scan() {
			fmt.Fprintln(prompt)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := o.exchange(out, line); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
}
