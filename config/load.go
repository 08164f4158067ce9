package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix is prepended to every environment variable: wechat.app_id is
// read from WXBOT_WECHAT_APP_ID.
const EnvPrefix = "WXBOT"

// DefaultFile is looked for in the working directory when --config is not given.
const DefaultFile = "wxbot.yaml"

// Defaults that packages also fall back on when built from a zero-value
// configuration (tests, tools): written here once.
const (
	DefaultWeChatAPIBase   = "https://api.weixin.qq.com"
	DefaultWeChatTimeout   = 10 * time.Second
	DefaultThemeColor      = "#0b4f8a"
	DefaultThemeTextColor  = "#333333"
	DefaultThemeFontFamily = "-apple-system, BlinkMacSystemFont, 'PingFang SC', 'Helvetica Neue', 'Microsoft YaHei', sans-serif"
	DefaultThemeFontSize   = "15px"
	DefaultBotDeadline     = 4500 * time.Millisecond
	DefaultDedupeTTL       = 10 * time.Minute
	DefaultSessionTTL      = 30 * time.Minute
	DefaultArchiveCount    = 5
	DefaultPageSize        = 5
	DefaultMaxBodyBytes    = int64(1 << 20)
	DefaultTimestampWindow = 5 * time.Minute
)

// WithDefaults fills the zero durations and counts of a BotConfig built
// without Load (tests, tools) with the defaults above.
func (c BotConfig) WithDefaults() BotConfig {
	if c.Deadline <= 0 {
		c.Deadline = DefaultBotDeadline
	}
	if c.DedupeTTL <= 0 {
		c.DedupeTTL = DefaultDedupeTTL
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.ArchiveCount <= 0 {
		c.ArchiveCount = DefaultArchiveCount
	}
	return c
}

// defaults lists every scalar key with its default value. Keys that are not
// here cannot be set from the environment, so every key must appear.
var defaults = map[string]any{
	"log.level":  "info",
	"log.format": "text",

	"http.addr":             ":8080",
	"http.webhook_path":     "/wechat",
	"http.max_body_bytes":   DefaultMaxBodyBytes,
	"http.read_timeout":     10 * time.Second,
	"http.write_timeout":    10 * time.Second,
	"http.idle_timeout":     60 * time.Second,
	"http.shutdown_timeout": 10 * time.Second,
	"http.ops_addr":         "",
	"http.server":           "fasthttp",
	"http.trusted_proxies":  []string{},

	"wechat.app_id":                    "",
	"wechat.app_secret":                "",
	"wechat.token":                     "",
	"wechat.encoding_aes_key":          "",
	"wechat.previous_encoding_aes_key": "",
	"wechat.api_base":                  DefaultWeChatAPIBase,
	"wechat.stable_token":              true,
	"wechat.timeout":                   DefaultWeChatTimeout,
	"wechat.max_retries":               3,
	"wechat.timestamp_window":          DefaultTimestampWindow,
	"wechat.account_type":              "subscription",
	"wechat.message_mode":              "",

	"redis.addr":        "",
	"redis.addrs":       []string{},
	"redis.master_name": "",
	"redis.cluster":     false,
	"redis.username":    "",
	"redis.password":    "",
	"redis.db":          0,
	"redis.prefix":      "wxbot:",

	"newsletter.inbox":        "",
	"newsletter.inbox_settle": 2 * time.Second,

	"render.layout":                "single",
	"render.author":                "立方律师事务所",
	"render.footer":                "扫码关注公众号“立方律师事务所” · Follow us on WeChat",
	"render.source_url":            "",
	"render.open_comment":          false,
	"render.only_fans_can_comment": false,
	"render.theme.color":           DefaultThemeColor,
	"render.theme.text_color":      DefaultThemeTextColor,
	"render.theme.font_family":     DefaultThemeFontFamily,
	"render.theme.font_size":       DefaultThemeFontSize,

	"bot.deadline":           DefaultBotDeadline,
	"bot.dedupe_ttl":         DefaultDedupeTTL,
	"bot.retry_wait":         3 * time.Second,
	"bot.session_ttl":        DefaultSessionTTL,
	"bot.welcome":            "",
	"bot.archive_count":      DefaultArchiveCount,
	"bot.page_size":          DefaultPageSize,
	"bot.blocked_words":      append([]string(nil), DefaultBlockedWords...),
	"bot.tags.topic_prefix":  "topic:",
	"bot.tags.language.zh":   "lang:zh",
	"bot.tags.language.en":   "lang:en",
	"bot.tags.language.both": "lang:both",

	"publish.mode":                "mass",
	"publish.auto":                "off",
	"publish.schedule":            "0 9 * * 1",
	"publish.timezone":            "Asia/Shanghai",
	"publish.max_per_day":         1,
	"publish.max_delay":           24 * time.Hour,
	"publish.to_tag":              "",
	"publish.preview_to":          []string{},
	"publish.approval":            "none",
	"publish.approvers":           []string{},
	"publish.admins":              []string{},
	"publish.cover":               "",
	"publish.image_hosts":         []string{},
	"publish.send_ignore_reprint": false,
	"publish.lock_ttl":            15 * time.Second,
	"publish.poll_interval":       time.Second,

	"admin.token":       "",
	"admin.session_ttl": 12 * time.Hour,

	"notify.wecom_webhook": "",
	"notify.wecom_msgtype": "markdown",
	"notify.smtp.addr":     "",
	"notify.smtp.from":     "",
	"notify.smtp.to":       []string{},
	"notify.smtp.username": "",
	"notify.smtp.password": "",
	"notify.smtp.starttls": true,

	"readership.enabled":    true,
	"readership.collect_at": "08:00",
}

// DefaultBlockedWords are bot.blocked_words unless configured: common
// insults, which the chat never quotes back in "nothing found for …".
// Chinese entries match anywhere in a query, others as whole words.
var DefaultBlockedWords = []string{
	"傻逼", "傻b", "煞笔", "沙比", "傻叉", "脑残", "操你", "草你", "艹你", "草泥马", "你妈", "他妈的", "去死", "滚蛋", "贱人", "婊子",
	"fuck", "motherfucker", "shit", "bitch", "asshole", "bastard", "cunt", "idiot", "moron", "retard", "wanker",
}

// Keys returns every configuration key, sorted, for docs and tests.
func Keys() []string {
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Options says where Load looks besides defaults and the environment.
type Options struct {
	// File is the --config value; empty means ./wxbot.yaml when it exists.
	File string
	// Flags maps a configuration key to the command-line flag that sets it.
	// Only flags the user actually set override the lower layers.
	Flags map[string]*pflag.Flag
	// Env looks up environment variables; nil means os.LookupEnv.
	Env func(string) (string, bool)
}

// Load reads the configuration, layer over layer, and validates it.
func Load(opts Options) (*Config, error) {
	v := viper.New()
	for k, val := range defaults {
		v.SetDefault(k, val)
	}

	file := opts.File
	if file == "" {
		if _, err := os.Stat(DefaultFile); err == nil {
			file = DefaultFile
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config: read %s: %w", file, err)
		}
		if err := checkUnknownKeys(v.AllSettings(), ""); err != nil {
			return nil, fmt.Errorf("config: %s: %w", file, err)
		}
	}

	lookup := opts.Env
	if lookup == nil {
		lookup = os.LookupEnv
	}
	for k := range defaults {
		if val, ok := lookup(EnvName(k)); ok {
			v.Set(k, val)
		}
	}
	if val, ok := lookup(EnvName("admin.users")); ok {
		users, err := parseUsersEnv(val)
		if err != nil {
			return nil, err
		}
		v.Set("admin.users", users)
	}
	for k, f := range opts.Flags {
		if f != nil && f.Changed {
			v.Set(k, f.Value.String())
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				v.Set(k, sv.GetSlice())
			}
		}
	}

	var c Config
	dec := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		stringToSliceHook,
	))
	if err := v.Unmarshal(&c, dec, func(dc *mapstructure.DecoderConfig) { dc.ErrorUnused = false }); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.WeChat.MessageMode = c.WeChat.Mode()
	return &c, nil
}

// EnvName is the environment variable for a key: wechat.app_id → WXBOT_WECHAT_APP_ID.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// stringToSliceHook splits "a, b" from the environment or a flag into a list.
func stringToSliceHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	s := strings.TrimSpace(data.(string))
	if s == "" {
		return []string{}, nil
	}
	parts := strings.Split(s, ",")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// freeForm are keys under which any sub-key is allowed (maps and lists).
var freeForm = map[string]bool{
	"bot.rules": true, "bot.scenes": true, "bot.menu": true, "bot.tags.language": true,
	"admin.users": true,
}

// checkUnknownKeys refuses misspelt keys in the file, which viper would
// otherwise ignore silently.
func checkUnknownKeys(m map[string]any, prefix string) error {
	var errs []error
	for k, val := range m {
		key := prefix + k
		if freeForm[key] {
			continue
		}
		if sub, ok := val.(map[string]any); ok {
			if err := checkUnknownKeys(sub, key+"."); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if _, ok := defaults[key]; !ok {
			errs = append(errs, fmt.Errorf("%s: unknown key (see wxbot.example.yaml for the list)", key))
		}
	}
	return errors.Join(errs...)
}

// parseUsersEnv reads WXBOT_ADMIN_USERS: "name:hash,name:hash" (a bcrypt
// hash holds neither ':' nor ',').
func parseUsersEnv(s string) (map[string]any, error) {
	out := map[string]any{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, hash, ok := strings.Cut(part, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("config: %s: each entry is NAME:BCRYPT-HASH, separated by commas", EnvName("admin.users"))
		}
		out[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(hash)
	}
	return out, nil
}
