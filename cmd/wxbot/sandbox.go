package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/sandbox"
)

func newSandboxCmd() *cobra.Command {
	var o sandboxFlags
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local fake of the WeChat API to try wxbot without an account",
		Long: `sandbox serves a local fake of the WeChat Official Account API: the
endpoints wxbot uses (token, stable_token, media/uploadimg,
material/add_material, draft/*, freepublish/*, message/mass/*,
message/custom/send, qrcode/create, showqrcode, tags/*, menu/*, user/info).
It behaves like WeChat: access tokens expire and are checked on every call,
WeChat's limits are enforced with WeChat's errcodes, a clientmsgid is
refused for 24 h with the original msg_id (45065), a subscription account
gets one mass send a day (45028), and after a mass send or a publication it
pushes MASSSENDJOBFINISH / PUBLISHJOBFINISH to the webhook, signed with
the token and, with an AES key, encrypted as in safe mode.

Credentials default to wechat.app_id, wechat.app_secret, wechat.token and
wechat.encoding_aes_key from the configuration (file or WXBOT_* environment),
else to the sandbox's public built-in ones. The webhook defaults to
http://127.0.0.1<http.addr><http.webhook_path>; --webhook none turns pushes off.

Point wxbot at it with WXBOT_WECHAT_API_BASE=http://ADDR and the same
credentials. GET /sandbox/calls lists what it received, GET /sandbox/state
shows drafts, sends, tags, menu and QR codes, POST /sandbox/reset forgets
everything, POST /sandbox/faults injects faults at run time, e.g.
  curl -d '{"kind":"lose","endpoint":"message/mass/sendall"}' http://ADDR/sandbox/faults

Faults (each flag may be repeated; ENDPOINT is a path under /cgi-bin/ or *):
  --fail ENDPOINT[=N[:ERRCODE]]     the next N calls (default 1) answer ERRCODE (default -1) and do nothing
  --lose ENDPOINT[=N]               the next N calls take effect, then the connection closes unanswered
  --latency ENDPOINT=DURATION[:N]   calls wait DURATION first (the next N calls; default every call)
  --revoke-token ENDPOINT[=AFTER]   after AFTER calls of ENDPOINT, every token is revoked: the next gets 40001`,
		Example: `  wxbot sandbox
  wxbot sandbox --addr 127.0.0.1:8090 --webhook http://127.0.0.1:8080/wechat --lose message/mass/sendall --fail draft/add
  WXBOT_WECHAT_API_BASE=http://127.0.0.1:8090 WXBOT_WECHAT_APP_ID=wxsandbox00000001 \
    WXBOT_WECHAT_APP_SECRET=sandboxsecret00000000000000000001 WXBOT_WECHAT_TOKEN=sandboxtoken wxbot serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSandboxCmd(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8090", "listen address")
	f.StringVar(&o.webhook, "webhook", "", "where to push MASSSENDJOBFINISH/PUBLISHJOBFINISH (default: wxbot serve's webhook from http.addr; none: no pushes)")
	f.String("app-id", "", "AppID to accept (default: wechat.app_id, else "+sandbox.DefaultAppID+")")
	f.String("app-secret", "", "AppSecret to accept (default: wechat.app_secret, else the sandbox's built-in one)")
	f.String("token", "", "token that signs the pushes (default: wechat.token, else "+sandbox.DefaultToken+")")
	f.String("aes-key", "", "EncodingAESKey: encrypt the pushes as in safe mode (default: wechat.encoding_aes_key, else plaintext pushes)")
	f.String("account-type", "", "subscription (1 mass send a day) or service (default: wechat.account_type)")
	f.DurationVar(&o.tokenTTL, "token-ttl", 2*time.Hour, "life of an access token")
	f.DurationVar(&o.pushDelay, "push-delay", time.Second, "how long a mass send or publication takes before its push")
	f.StringSliceVar(&o.followers, "followers", nil, "openids that follow the account (others get 43004/40003); default: every openid follows")
	f.BoolVar(&o.unverified, "unverified", false, "behave as an unverified account: freepublish answers 48001")
	f.BoolVar(&o.emptyURLs, "empty-article-urls", false, "MASSSENDJOBFINISH carries an empty ArticleUrlResult (as reported of WeChat): the URLs are only in freepublish/batchget")
	f.BoolVar(&o.massUnlisted, "mass-unlisted", false, "leave mass sends out of freepublish/batchget (publications only)")
	f.StringVar(&o.massStatus, "mass-status", "", `how every mass send ends in MASSSENDJOBFINISH: "send success" (default), or a failure such as "send fail" or "err(10001)"`)
	f.IntVar(&o.publishStatus, "publish-status", 0, "how every freepublish ends: 0 published, or a failure 2 (original check), 3 (failed), 4 (review), 5 (deleted), 6 (banned)")
	f.StringArrayVar(&o.fails, "fail", nil, "fail calls with an errcode: ENDPOINT[=N[:ERRCODE]] (repeatable)")
	f.StringArrayVar(&o.loses, "lose", nil, "do the call, then drop the answer: ENDPOINT[=N] (repeatable)")
	f.StringArrayVar(&o.latencies, "latency", nil, "delay calls: ENDPOINT=DURATION[:N] (repeatable)")
	f.StringArrayVar(&o.revokes, "revoke-token", nil, "revoke every token before a call: ENDPOINT[=AFTER] (repeatable)")
	return cmd
}

// sandboxFlags are wxbot sandbox's flags other than the credentials, which
// override the configuration (see sandboxConfig).
type sandboxFlags struct {
	addr, webhook           string
	pushDelay, tokenTTL     time.Duration
	followers               []string
	unverified              bool
	emptyURLs, massUnlisted bool
	publishStatus           int
	massStatus              string
	fails, loses, latencies []string
	revokes                 []string
}

// runSandboxCmd is wxbot sandbox: the configuration and flags checked, then
// the fake served until ctx ends.
func runSandboxCmd(cmd *cobra.Command, o *sandboxFlags) error {
	cfg, err := sandboxConfig(cmd)
	if err != nil {
		return err
	}
	if o.publishStatus != 0 && (o.publishStatus < 2 || o.publishStatus > 6) {
		return &exitError{code: 2, msg: fmt.Sprintf("wxbot sandbox: --publish-status is 0 (published) or a failure from 2 to 6 (got %d)", o.publishStatus)}
	}
	opts := o.options(cfg, newLogger(cfg.Log, cmd.ErrOrStderr()))
	if opts.Faults, err = o.faults(); err != nil {
		return err
	}
	return runSandbox(cmd.Context(), cmd, o.addr, opts)
}

// sandboxConfig loads the configuration with the credential flags applied.
// The flags override the configuration here rather than through
// loadConfig: the sandbox's own defaults fill what neither sets
// (--aes-key alone is fine, with the built-in AppID).
func sandboxConfig(cmd *cobra.Command) (*config.Config, error) {
	cfg, err := loadConfig(cmd, nil)
	if err != nil {
		return nil, err
	}
	for flag, dst := range map[string]*string{
		"app-id": &cfg.WeChat.AppID, "app-secret": &cfg.WeChat.AppSecret, "token": &cfg.WeChat.Token,
		"aes-key": &cfg.WeChat.EncodingAESKey, "account-type": &cfg.WeChat.AccountType,
	} {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
			*dst = f.Value.String()
		}
	}
	if k := cfg.WeChat.EncodingAESKey; k != "" && len(k) != 43 {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("wxbot sandbox: the EncodingAESKey must be 43 characters (got %d)", len(k))}
	}
	if t := cfg.WeChat.AccountType; t != "subscription" && t != "service" {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("wxbot sandbox: --account-type is subscription or service (got %q)", t)}
	}
	return cfg, nil
}

// options are the sandbox's options from the configuration and the flags,
// without the faults.
func (o *sandboxFlags) options(cfg *config.Config, log *slog.Logger) sandbox.Options {
	opts := sandbox.Options{
		AppID:                 cfg.WeChat.AppID,
		AppSecret:             cfg.WeChat.AppSecret,
		Token:                 cfg.WeChat.Token,
		EncodingAESKey:        cfg.WeChat.EncodingAESKey,
		AccountType:           cfg.WeChat.AccountType,
		PushDelay:             o.pushDelay,
		TokenTTL:              o.tokenTTL,
		Followers:             o.followers,
		Unverified:            o.unverified,
		EmptyArticleURLResult: o.emptyURLs,
		MassSendsUnlisted:     o.massUnlisted,
		PublishStatus:         o.publishStatus,
		MassStatus:            o.massStatus,
		Log:                   log,
	}
	switch o.webhook {
	case "none":
	case "":
		opts.Webhook = defaultWebhook(cfg.HTTP.Addr, cfg.HTTP.WebhookPath)
	default:
		opts.Webhook = o.webhook
	}
	return opts
}

// faults parses the --fail, --lose, --latency and --revoke-token flags.
func (o *sandboxFlags) faults() ([]sandbox.Fault, error) {
	var faults []sandbox.Fault
	for _, group := range []struct {
		kind  string
		specs []string
	}{{sandbox.FaultFail, o.fails}, {sandbox.FaultLose, o.loses}, {sandbox.FaultLatency, o.latencies}, {sandbox.FaultRevoke, o.revokes}} {
		for _, spec := range group.specs {
			f, err := sandbox.ParseFault(group.kind, spec)
			if err != nil {
				return nil, &exitError{code: 2, msg: "wxbot sandbox: " + strings.TrimPrefix(err.Error(), "sandbox: ")}
			}
			faults = append(faults, f)
		}
	}
	return faults, nil
}

// defaultWebhook is where a local `wxbot serve` listens for WeChat's pushes.
func defaultWebhook(httpAddr, path string) string {
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path
}

func runSandbox(ctx context.Context, cmd *cobra.Command, addr string, opts sandbox.Options) error {
	srv := sandbox.New(opts)
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w", addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	eff := srv.Options()
	base := "http://" + ln.Addr().String()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "wxbot sandbox: a fake WeChat API on %s\n", base)
	fmt.Fprintf(out, "  app_id      %s\n", eff.AppID)
	fmt.Fprintf(out, "  app_secret  %s\n", shown(eff.AppSecret, sandbox.DefaultAppSecret))
	fmt.Fprintf(out, "  token       %s\n", shown(eff.Token, sandbox.DefaultToken))
	switch {
	case eff.Webhook == "":
		fmt.Fprintln(out, "  pushes      off")
	case eff.EncodingAESKey != "":
		fmt.Fprintf(out, "  pushes      %s (safe mode, encrypted)\n", eff.Webhook)
	default:
		fmt.Fprintf(out, "  pushes      %s (plaintext)\n", eff.Webhook)
	}
	for _, f := range srv.Faults() {
		fmt.Fprintf(out, "  fault       %s %s count=%d after=%d code=%d delay=%s\n", f.Kind, f.Endpoint, f.Count, f.After, f.Code, f.Delay.D())
	}
	fmt.Fprintf(out, "Try wxbot against it:\n  WXBOT_WECHAT_API_BASE=%s WXBOT_WECHAT_APP_ID=%s WXBOT_WECHAT_APP_SECRET=%s WXBOT_WECHAT_TOKEN=%s wxbot serve\n",
		base, eff.AppID, shown(eff.AppSecret, sandbox.DefaultAppSecret), shown(eff.Token, sandbox.DefaultToken))
	fmt.Fprintf(out, "What it received: curl %s/sandbox/calls\n", base)

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// shown prints the sandbox's own public default, and hides anything else:
// a secret that came from the configuration never reaches the terminal.
func shown(v, builtin string) string {
	if v == builtin {
		return v
	}
	return "<from your configuration>"
}
