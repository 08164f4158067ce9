// Package config holds wxbot's typed configuration and loads it with viper
// from, in rising precedence, built-in defaults, a YAML file (wxbot.yaml or
// --config), WXBOT_* environment variables and command-line flags. Only this
// package and cmd/wxbot know viper exists; everything else receives values.
package config

import (
	"log/slog"
	"time"
)

// Config is the whole configuration of wxbot. Every field maps to a key
// documented in wxbot.example.yaml; the mapstructure tag is the key name.
type Config struct {
	Log        LogConfig        `mapstructure:"log"`
	HTTP       HTTPConfig       `mapstructure:"http"`
	WeChat     WeChatConfig     `mapstructure:"wechat"`
	Redis      RedisConfig      `mapstructure:"redis"`
	Newsletter NewsletterConfig `mapstructure:"newsletter"`
	Render     RenderConfig     `mapstructure:"render"`
	Bot        BotConfig        `mapstructure:"bot"`
	Publish    PublishConfig    `mapstructure:"publish"`
	Admin      AdminConfig      `mapstructure:"admin"`
	Notify     NotifyConfig     `mapstructure:"notify"`
	Readership ReadershipConfig `mapstructure:"readership"`
}

// ReadershipConfig is the daily collection of WeChat's datacube figures
// (issue 16, package readership).
type ReadershipConfig struct {
	Enabled bool `mapstructure:"enabled"` // false: nothing is collected
	// CollectAt is "HH:MM", Beijing time, when the daily run starts
	// (WeChat's figures for yesterday are ready by then).
	CollectAt string `mapstructure:"collect_at"`
}

// CollectAtOffset is CollectAt as the time since midnight; ok is false
// when it is not a valid HH:MM.
func (r ReadershipConfig) CollectAtOffset() (d time.Duration, ok bool) {
	t, err := time.Parse("15:04", r.CollectAt)
	if err != nil || len(r.CollectAt) != 5 {
		return 0, false
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true
}

// NotifyConfig is where the editors' notices go besides the
// customer-service messages to publish.admins: a WeCom group robot and
// e-mail. Empty: that channel is off.
type NotifyConfig struct {
	WeComWebhook string     `mapstructure:"wecom_webhook"` // the robot's URL (its key is a secret)
	WeComMsgType string     `mapstructure:"wecom_msgtype"` // markdown | text
	SMTP         SMTPConfig `mapstructure:"smtp"`
}

// SMTPConfig sends the notices by e-mail.
type SMTPConfig struct {
	Addr     string   `mapstructure:"addr"` // host:port; empty: no e-mail
	From     string   `mapstructure:"from"`
	To       []string `mapstructure:"to"`
	Username string   `mapstructure:"username"`
	Password string   `mapstructure:"password"`
	StartTLS bool     `mapstructure:"starttls"`
}

// LogConfig selects the log/slog handler.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug | info | warn | error
	Format string `mapstructure:"format"` // text | json
}

// HTTPConfig is the server that carries the webhook, health, metrics and admin pages.
type HTTPConfig struct {
	Addr            string        `mapstructure:"addr"`
	WebhookPath     string        `mapstructure:"webhook_path"`
	MaxBodyBytes    int64         `mapstructure:"max_body_bytes"`
	ReadTimeout     time.Duration `mapstructure:"read_timeout"`
	WriteTimeout    time.Duration `mapstructure:"write_timeout"`
	IdleTimeout     time.Duration `mapstructure:"idle_timeout"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// OpsAddr, when set, is a second listener for /metrics and
	// /readyz?verbose, which the main listener then no longer serves.
	OpsAddr string `mapstructure:"ops_addr"`
	// Server is the HTTP server of the main listener: "fasthttp" (the
	// webhook on fasthttp, every other path handed to net/http) or "net"
	// (net/http for everything).
	Server string `mapstructure:"server"`
	// TrustedProxies are the CIDRs of reverse proxies whose X-Forwarded-For
	// names the client (the admin login limit counts per client).
	TrustedProxies []string `mapstructure:"trusted_proxies"`
}

// WeChatConfig is the Official Account: credentials for the API, the token and
// AES key for the message push, and how wxbot talks to the API.
type WeChatConfig struct {
	AppID                  string        `mapstructure:"app_id"`
	AppSecret              string        `mapstructure:"app_secret"`
	Token                  string        `mapstructure:"token"`
	EncodingAESKey         string        `mapstructure:"encoding_aes_key"`
	PreviousEncodingAESKey string        `mapstructure:"previous_encoding_aes_key"`
	APIBase                string        `mapstructure:"api_base"`
	StableToken            bool          `mapstructure:"stable_token"`
	Timeout                time.Duration `mapstructure:"timeout"`
	MaxRetries             int           `mapstructure:"max_retries"`
	TimestampWindow        time.Duration `mapstructure:"timestamp_window"`
	AccountType            string        `mapstructure:"account_type"` // subscription | service
	// MessageMode is the message encryption mode chosen on WeChat's settings
	// page: plain | compat | safe. Empty means safe with an EncodingAESKey,
	// else plain (Load fills it in; see Mode).
	MessageMode string `mapstructure:"message_mode"`
}

// The message modes of wechat.message_mode, as on WeChat's settings page.
const (
	MessageModePlain  = "plain"  // 明文模式: plaintext only, the body is not authenticated
	MessageModeCompat = "compat" // 兼容模式: plaintext and ciphertext together; only the ciphertext is trusted
	MessageModeSafe   = "safe"   // 安全模式: ciphertext only
)

// Mode is the configured message mode, or its default: safe when an
// EncodingAESKey is set, else plain.
func (w WeChatConfig) Mode() string {
	if w.MessageMode != "" {
		return w.MessageMode
	}
	if w.EncodingAESKey != "" {
		return MessageModeSafe
	}
	return MessageModePlain
}

// HasAPICredentials reports whether wxbot can call WeChat's API at all.
func (w WeChatConfig) HasAPICredentials() bool { return w.AppID != "" && w.AppSecret != "" }

// RedisConfig selects a single node (addr), Sentinel (addrs + master_name) or
// Cluster (addrs + cluster). With none of them set, serve starts an embedded
// in-process store that keeps nothing.
type RedisConfig struct {
	Addr       string   `mapstructure:"addr"`
	Addrs      []string `mapstructure:"addrs"`
	MasterName string   `mapstructure:"master_name"`
	Cluster    bool     `mapstructure:"cluster"`
	Username   string   `mapstructure:"username"`
	Password   string   `mapstructure:"password"`
	DB         int      `mapstructure:"db"`
	Prefix     string   `mapstructure:"prefix"`
}

// Embedded reports whether no Redis server is configured.
func (r RedisConfig) Embedded() bool { return r.Addr == "" && len(r.Addrs) == 0 }

// NewsletterConfig is where issues come from.
type NewsletterConfig struct {
	// Inbox is a folder of issue files (*.md). Empty means the examples
	// built into the binary, read-only.
	Inbox string `mapstructure:"inbox"`
	// InboxSettle is how long a new or changed inbox file must stay
	// unchanged (size and modification time) before it is read, so a file
	// still being written is never taken cut short; a file moved in by
	// rename is taken at once. 0 takes files as soon as they are seen.
	InboxSettle time.Duration `mapstructure:"inbox_settle"`
}

// RenderConfig shapes the WeChat articles made from an issue.
type RenderConfig struct {
	Layout             string `mapstructure:"layout"` // single | sections
	Author             string `mapstructure:"author"`
	Footer             string `mapstructure:"footer"`
	SourceURL          string `mapstructure:"source_url"`
	OpenComment        bool   `mapstructure:"open_comment"`
	OnlyFansCanComment bool   `mapstructure:"only_fans_can_comment"`
	Theme              Theme  `mapstructure:"theme"`
}

// Theme is the visual identity of rendered articles.
type Theme struct {
	Color      string `mapstructure:"color"`
	TextColor  string `mapstructure:"text_color"`
	FontFamily string `mapstructure:"font_family"`
	FontSize   string `mapstructure:"font_size"`
}

// BotConfig is the chat side of the webhook.
type BotConfig struct {
	Deadline     time.Duration `mapstructure:"deadline"`
	DedupeTTL    time.Duration `mapstructure:"dedupe_ttl"`
	RetryWait    time.Duration `mapstructure:"retry_wait"`
	SessionTTL   time.Duration `mapstructure:"session_ttl"`
	Welcome      string        `mapstructure:"welcome"`
	ArchiveCount int           `mapstructure:"archive_count"`
	PageSize     int           `mapstructure:"page_size"`
	// BlockedWords: a search query holding one of these is never quoted
	// back; when it finds nothing the help text answers instead.
	BlockedWords []string         `mapstructure:"blocked_words"`
	Rules        []Rule           `mapstructure:"rules"`
	Scenes       map[string]Scene `mapstructure:"scenes"`
	Menu         []MenuButton     `mapstructure:"menu"`
	Tags         TagNames         `mapstructure:"tags"`
}

// Rule is a keyword rule that runs before the built-ins.
type Rule struct {
	Match   string `mapstructure:"match"` // exact | prefix | contains | regex
	Pattern string `mapstructure:"pattern"`
	Reply   Reply  `mapstructure:"reply"`
}

// Reply is a configured passive reply.
type Reply struct {
	Type     string        `mapstructure:"type"` // text | news | image
	Text     string        `mapstructure:"text"`
	MediaID  string        `mapstructure:"media_id"`
	Articles []NewsArticle `mapstructure:"articles"`
}

// NewsArticle is one card of a news reply.
type NewsArticle struct {
	Title       string `mapstructure:"title"`
	Description string `mapstructure:"description"`
	URL         string `mapstructure:"url"`
	PicURL      string `mapstructure:"pic_url"`
}

// Scene configures what happens when someone follows through a QR campaign.
type Scene struct {
	Welcome string   `mapstructure:"welcome"`
	Tags    []string `mapstructure:"tags"`
}

// MenuButton is one entry of the account's custom menu.
type MenuButton struct {
	Name       string       `mapstructure:"name"`
	Type       string       `mapstructure:"type"` // click | view (empty for a parent)
	Key        string       `mapstructure:"key"`
	URL        string       `mapstructure:"url"`
	SubButtons []MenuButton `mapstructure:"sub_buttons"`
}

// TagNames names the WeChat tags that mirror subscriber preferences.
type TagNames struct {
	TopicPrefix string            `mapstructure:"topic_prefix"`
	Language    map[string]string `mapstructure:"language"` // zh | en | both → tag name
}

// PublishConfig drives the publishing pipeline and its schedule.
type PublishConfig struct {
	Mode      string        `mapstructure:"mode"` // mass | publish | both
	Auto      string        `mapstructure:"auto"` // off | draft | schedule
	Schedule  string        `mapstructure:"schedule"`
	Timezone  string        `mapstructure:"timezone"`
	MaxPerDay int           `mapstructure:"max_per_day"`
	MaxDelay  time.Duration `mapstructure:"max_delay"`
	ToTag     string        `mapstructure:"to_tag"`
	PreviewTo []string      `mapstructure:"preview_to"`
	// Approval is none or required: with required nothing is sent until an
	// approver approved the exact content.
	Approval          string        `mapstructure:"approval"`
	Approvers         []string      `mapstructure:"approvers"` // openids that approve from their phones
	Admins            []string      `mapstructure:"admins"`
	Cover             string        `mapstructure:"cover"`
	ImageHosts        []string      `mapstructure:"image_hosts"` // empty: any public host
	SendIgnoreReprint bool          `mapstructure:"send_ignore_reprint"`
	LockTTL           time.Duration `mapstructure:"lock_ttl"`
	PollInterval      time.Duration `mapstructure:"poll_interval"`
}

// AdminConfig protects the editor's pages.
type AdminConfig struct {
	Token      string        `mapstructure:"token"`
	SessionTTL time.Duration `mapstructure:"session_ttl"` // a login lasts this long
	// Users are the named editors: name → bcrypt hash of the password
	// (`wxbot admin hash-password`). Names are lower case (YAML keys are
	// read case-insensitively). admin.token stays a login as "admin".
	Users map[string]string `mapstructure:"users"`
}

// LogValue lets a Config be logged without its secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("http.addr", c.HTTP.Addr),
		slog.String("wechat.app_id", c.WeChat.AppID),
		slog.String("wechat.app_secret", redact(c.WeChat.AppSecret)),
		slog.String("wechat.token", redact(c.WeChat.Token)),
		slog.String("wechat.encoding_aes_key", redact(c.WeChat.EncodingAESKey)),
		slog.String("wechat.api_base", c.WeChat.APIBase),
		slog.String("wechat.message_mode", c.WeChat.Mode()),
		slog.String("redis.addr", c.Redis.Addr),
		slog.Any("redis.addrs", c.Redis.Addrs),
		slog.Bool("redis.cluster", c.Redis.Cluster),
		slog.String("redis.password", redact(c.Redis.Password)),
		slog.String("newsletter.inbox", c.Newsletter.Inbox),
		slog.String("publish.mode", c.Publish.Mode),
		slog.String("publish.auto", c.Publish.Auto),
		slog.String("admin.token", redact(c.Admin.Token)),
		slog.Int("admin.users", len(c.Admin.Users)),
		slog.String("notify.wecom_webhook", redact(c.Notify.WeComWebhook)),
		slog.String("notify.smtp.addr", c.Notify.SMTP.Addr),
		slog.String("notify.smtp.password", redact(c.Notify.SMTP.Password)),
	)
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "[set]"
}
