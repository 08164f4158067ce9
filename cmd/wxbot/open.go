package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// campaignsInRedis is why the QR commands need a real Redis.
const campaignsInRedis = "campaigns are kept in Redis"

// needs says what a one-shot command must have before it starts.
type needs struct {
	// redis, when set, refuses the embedded store, which would forget what
	// the command records and share nothing with serve; it says why.
	redis string
	// api refuses a configuration without WeChat credentials.
	api bool
	// quiet lowers the default info level to warn: the command prints its
	// own account of what happened.
	quiet bool
}

// wechatCmd is what a WeChat-side command opens.
type wechatCmd struct {
	cfg *config.Config
	log *slog.Logger
	st  *store.Store
	api *wechat.Client
}

func (e *wechatCmd) close() {
	if e.st != nil {
		_ = e.st.Close()
	}
}

// openWeChatCmd loads the configuration and opens Redis and the API client
// (unconfigured without credentials) for a command.
func openWeChatCmd(cmd *cobra.Command, name string, n needs) (*wechatCmd, error) {
	cfg, err := loadConfig(cmd, nil)
	if err != nil {
		return nil, err
	}
	if n.redis != "" && cfg.Redis.Embedded() {
		return nil, &exitError{code: 1, msg: name + ": " + n.redis + ", and no Redis is configured: " +
			"set redis.addr (WXBOT_REDIS_ADDR=host:port) or redis.addrs to the Redis 'wxbot serve' uses; " +
			"the embedded store would forget everything at exit"}
	}
	if n.api && !cfg.WeChat.HasAPICredentials() {
		return nil, &exitError{code: 1, msg: name + ": this calls WeChat's API: set wechat.app_id and wechat.app_secret " +
			"(WXBOT_WECHAT_APP_ID, WXBOT_WECHAT_APP_SECRET), or try it against 'wxbot sandbox' with WXBOT_WECHAT_API_BASE"}
	}
	logCfg := cfg.Log
	if n.quiet && strings.EqualFold(logCfg.Level, "info") {
		logCfg.Level = "warn"
	}
	log := newLogger(logCfg, cmd.ErrOrStderr())
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, cfg.Redis, nil)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: %v", name, err)}
	}
	api, err := wechat.New(wechat.Options{Config: cfg.WeChat, Store: st, Metrics: metrics.Discard(), Log: log})
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &wechatCmd{cfg: cfg, log: log, st: st, api: api}, nil
}
