package notify

import (
	"log/slog"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/store"
)

// FromConfig builds the notifier of notify.* and publish.admins: the
// robot when notify.wecom_webhook is set, e-mail when notify.smtp.addr is,
// customer-service messages when there are admins and api is configured.
func FromConfig(cfg *config.Config, st *store.Store, api Texter, m *metrics.Metrics, log *slog.Logger) *Notifier {
	var chans []Channel
	if u := cfg.Notify.WeComWebhook; u != "" {
		chans = append(chans, &WeCom{URL: u, MsgType: cfg.Notify.WeComMsgType})
	}
	if sm := cfg.Notify.SMTP; sm.Addr != "" {
		chans = append(chans, &Mail{Addr: sm.Addr, From: sm.From, To: sm.To, Username: sm.Username, Password: sm.Password, StartTLS: sm.StartTLS})
	}
	if len(cfg.Publish.Admins) > 0 && api != nil {
		chans = append(chans, &Admins{API: api, Store: st, OpenID: cfg.Publish.Admins, Log: log})
	}
	loc, err := time.LoadLocation(cfg.Publish.Timezone)
	if err != nil {
		loc = time.UTC
	}
	return New(Options{Store: st, Channels: chans, Metrics: m, Log: log, Location: loc})
}
