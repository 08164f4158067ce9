package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
	"golang.org/x/crypto/bcrypt"
)

// Validate checks every key on its own and across keys. Each problem names
// its key, so the operator knows what to change; all problems are reported at once.
func (c *Config) Validate() error {
	v := &checker{}
	for _, check := range []func(*checker){
		c.checkBasics, c.checkWechat, c.checkRedis, c.checkRender,
		c.checkBot, c.checkPublish, c.checkAdmin, c.checkNotify,
		c.checkReadership,
	} {
		check(v)
	}
	return errors.Join(v.errs...)
}

// checker collects the problems, each naming its key.
type checker struct{ errs []error }

func (v *checker) bad(key, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
}

func (v *checker) oneOf(key, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.bad(key, "must be one of %s (got %q)", strings.Join(allowed, ", "), val)
}

func (v *checker) positive(key string, d time.Duration) {
	if d <= 0 {
		v.bad(key, "must be a positive duration such as 5s or 10m (got %s)", d)
	}
}

// checkBasics checks log.*, http.*, newsletter.*.
func (c *Config) checkBasics(v *checker) {
	bad, oneOf, positive := v.bad, v.oneOf, v.positive
	oneOf("log.level", strings.ToLower(c.Log.Level), "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")

	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "must be host:port such as :8080 or 127.0.0.1:8080 (got %q)", c.HTTP.Addr)
	}
	if !strings.HasPrefix(c.HTTP.WebhookPath, "/") {
		bad("http.webhook_path", "must start with / (got %q)", c.HTTP.WebhookPath)
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http.max_body_bytes", "must be at least 1024 (got %d)", c.HTTP.MaxBodyBytes)
	}
	if s := c.Newsletter.InboxSettle; s < 0 || s > 10*time.Minute {
		bad("newsletter.inbox_settle", "must be a duration from 0 to 10m such as 2s (got %s)", s)
	}
	positive("http.read_timeout", c.HTTP.ReadTimeout)
	positive("http.write_timeout", c.HTTP.WriteTimeout)
	positive("http.idle_timeout", c.HTTP.IdleTimeout)
	positive("http.shutdown_timeout", c.HTTP.ShutdownTimeout)
	if s := c.HTTP.Server; s != "" && s != "fasthttp" && s != "net" {
		bad("http.server", "must be fasthttp or net (got %q)", s)
	}
	if ops := c.HTTP.OpsAddr; ops != "" {
		oh, op, err := net.SplitHostPort(ops)
		if err != nil {
			bad("http.ops_addr", "must be host:port such as :9090 or 127.0.0.1:9090 (got %q)", ops)
		} else if mh, mp, err := net.SplitHostPort(c.HTTP.Addr); err == nil && op == mp && op != "0" && (oh == mh || oh == "" || mh == "") {
			bad("http.ops_addr", "must be another port than http.addr (both are %s)", op)
		}
	}
	for _, p := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad("http.trusted_proxies", "%q is neither an address nor a CIDR such as 10.0.0.0/8", p)
			}
		}
	}
}

// checkWechat checks wechat.*.
func (c *Config) checkWechat(v *checker) {
	bad, oneOf, positive := v.bad, v.oneOf, v.positive
	w := c.WeChat
	// An AppID alone is enough for safe mode (messages end with it); the API
	// needs the secret too. A secret without its AppID is a mistake.
	if w.AppSecret != "" && w.AppID == "" {
		bad("wechat.app_id", "is required when wechat.app_secret is set")
	}
	// WeChat's own rules (AppID wx + 16 characters, Token 3–32 letters or
	// digits) are not enforced: a proxy or test account may differ, and
	// refusing to start over a format is worse than a signature mismatch
	// later. Only what would break the protocol is refused.
	if strings.ContainsAny(w.AppID, " \t\r\n") || len(w.AppID) > 64 {
		bad("wechat.app_id", "must be the AppID from the WeChat admin page, without spaces (got %q)", w.AppID)
	}
	if strings.ContainsAny(w.Token, " \t\r\n") || len(w.Token) > 128 {
		bad("wechat.token", "must be the Token from the WeChat admin page (3 to 32 letters or digits), without spaces")
	}
	checkAESKey := func(key, val string) {
		if val == "" {
			return
		}
		if len(val) != 43 {
			bad(key, "must be exactly 43 characters (got %d)", len(val))
			return
		}
		if _, err := base64.StdEncoding.DecodeString(val + "="); err != nil {
			bad(key, "must be 43 characters of base64 (letters, digits, + and /)")
		}
	}
	checkAESKey("wechat.encoding_aes_key", w.EncodingAESKey)
	checkAESKey("wechat.previous_encoding_aes_key", w.PreviousEncodingAESKey)
	if w.PreviousEncodingAESKey != "" && w.EncodingAESKey == "" {
		bad("wechat.previous_encoding_aes_key", "needs wechat.encoding_aes_key (the current key)")
	}
	if w.EncodingAESKey != "" && w.AppID == "" {
		bad("wechat.app_id", "is required with wechat.encoding_aes_key: encrypted messages end with the AppID")
	}
	if u, err := url.Parse(w.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("wechat.api_base", "must be an http(s) URL such as https://api.weixin.qq.com (got %q)", w.APIBase)
	}
	positive("wechat.timeout", w.Timeout)
	if w.MaxRetries < 0 || w.MaxRetries > 10 {
		bad("wechat.max_retries", "must be between 0 and 10 (got %d)", w.MaxRetries)
	}
	positive("wechat.timestamp_window", w.TimestampWindow)
	oneOf("wechat.account_type", w.AccountType, "subscription", "service")
	switch w.MessageMode {
	case "", MessageModePlain:
	case MessageModeCompat, MessageModeSafe:
		if w.EncodingAESKey == "" {
			bad("wechat.message_mode", "is %s, which needs wechat.encoding_aes_key (the EncodingAESKey of WeChat's settings page)", w.MessageMode)
		}
	default:
		bad("wechat.message_mode", "must be one of plain, compat, safe (got %q), as chosen on WeChat's settings page", w.MessageMode)
	}
}

// checkRedis checks redis.*.
func (c *Config) checkRedis(v *checker) {
	bad := v.bad
	r := c.Redis
	if r.Addr != "" && len(r.Addrs) > 0 {
		bad("redis.addr", "set either redis.addr (one server) or redis.addrs (Sentinel or Cluster), not both")
	}
	if r.Cluster && r.MasterName != "" {
		bad("redis.cluster", "cannot be combined with redis.master_name (Sentinel)")
	}
	if r.Cluster && len(r.Addrs) == 0 && r.Addr == "" {
		bad("redis.addrs", "is required when redis.cluster is true")
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		bad("redis.addrs", "must list the Sentinels when redis.master_name is set")
	}
	for _, a := range append([]string{r.Addr}, r.Addrs...) {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("redis.addrs", "%q is not host:port", a)
		}
	}
	if r.Cluster && r.DB != 0 {
		bad("redis.db", "must be 0 on Redis Cluster (got %d)", r.DB)
	}
	if r.Prefix == "" || strings.ContainsAny(r.Prefix, "{} ") {
		bad("redis.prefix", "must be non-empty without spaces or braces (got %q)", r.Prefix)
	}
}

// checkRender checks render.*.
func (c *Config) checkRender(v *checker) {
	bad, oneOf := v.bad, v.oneOf
	oneOf("render.layout", c.Render.Layout, "single", "sections")
	if n := len([]rune(c.Render.Author)); n > 16 {
		bad("render.author", "must be at most 16 characters, WeChat's limit (got %d)", n)
	}
	if c.Render.SourceURL != "" && len(c.Render.SourceURL) > 1024 {
		bad("render.source_url", "must be at most 1 KB")
	}
	if !regexp.MustCompile(`^#[0-9a-fA-F]{6}$`).MatchString(c.Render.Theme.Color) {
		bad("render.theme.color", "must be a colour like #0b4f8a (got %q)", c.Render.Theme.Color)
	}
	if !regexp.MustCompile(`^#[0-9a-fA-F]{6}$`).MatchString(c.Render.Theme.TextColor) {
		bad("render.theme.text_color", "must be a colour like #333333 (got %q)", c.Render.Theme.TextColor)
	}
	if strings.ContainsAny(c.Render.Theme.FontFamily+c.Render.Theme.FontSize, `"<>;{}`) {
		bad("render.theme", "font_family and font_size may not contain \" < > ; { }")
	}
}

// checkBot checks bot.* (and its windows against wechat.*).
func (c *Config) checkBot(v *checker) {
	bad, oneOf, positive := v.bad, v.oneOf, v.positive
	w := c.WeChat
	b := c.Bot
	positive("bot.deadline", b.Deadline)
	if b.Deadline >= 5*time.Second {
		bad("bot.deadline", "must be under WeChat's 5s limit (got %s)", b.Deadline)
	}
	if b.DedupeTTL < time.Minute {
		bad("bot.dedupe_ttl", "must be at least 1m: WeChat retries for about 15s and replicas may lag (got %s)", b.DedupeTTL)
	}
	if w.TimestampWindow > 0 && b.DedupeTTL < 2*w.TimestampWindow {
		// A push is accepted while its timestamp is within the window either
		// side of now: up to 2 × window after it first arrived. A claim that
		// expires sooner lets a replay of it run again.
		bad("bot.dedupe_ttl", "must be at least 2 × wechat.timestamp_window (%s), or a replayed message is answered again after its claim expires (got %s)", 2*w.TimestampWindow, b.DedupeTTL)
	}
	positive("bot.retry_wait", b.RetryWait)
	positive("bot.session_ttl", b.SessionTTL)
	if b.ArchiveCount < 1 || b.ArchiveCount > 20 {
		bad("bot.archive_count", "must be between 1 and 20 (got %d)", b.ArchiveCount)
	}
	if b.PageSize < 1 || b.PageSize > 20 {
		bad("bot.page_size", "must be between 1 and 20 (got %d)", b.PageSize)
	}
	if len(b.BlockedWords) > 500 {
		bad("bot.blocked_words", "at most 500 words (got %d)", len(b.BlockedWords))
	}
	for _, w := range b.BlockedWords {
		if n := utf8.RuneCountInString(strings.TrimSpace(w)); n < 1 || n > 32 {
			bad("bot.blocked_words", "each word is 1 to 32 characters (got %q)", w)
			break
		}
	}
	for i, rule := range b.Rules {
		key := fmt.Sprintf("bot.rules[%d]", i)
		oneOf(key+".match", rule.Match, "exact", "prefix", "contains", "regex")
		if rule.Pattern == "" {
			bad(key+".pattern", "is required")
		} else if rule.Match == "regex" {
			if _, err := regexp.Compile(rule.Pattern); err != nil {
				bad(key+".pattern", "is not a valid regular expression: %v", err)
			}
		}
		checkReply(key+".reply", rule.Reply, bad)
	}
	for name, s := range b.Scenes {
		if n := len(name); n < 1 || n > 64 {
			bad("bot.scenes."+name, "scene names must be 1 to 64 characters")
		}
		for _, t := range s.Tags {
			if len(t) > 30 {
				bad("bot.scenes."+name+".tags", "tag %q is longer than WeChat's 30 bytes", t)
			}
		}
	}
	checkMenu(b.Menu, bad)
	for lang, name := range b.Tags.Language {
		if lang != "zh" && lang != "en" && lang != "both" {
			bad("bot.tags.language."+lang, "languages are zh, en and both")
		}
		if len(name) > 30 {
			bad("bot.tags.language."+lang, "tag names are at most 30 bytes (got %d)", len(name))
		}
	}
}

// checkPublish checks publish.*.
func (c *Config) checkPublish(v *checker) {
	bad, oneOf, positive := v.bad, v.oneOf, v.positive
	w := c.WeChat
	p := c.Publish
	oneOf("publish.mode", p.Mode, "mass", "publish", "both")
	oneOf("publish.auto", p.Auto, "off", "draft", "schedule")
	oneOf("publish.approval", p.Approval, "none", "required")
	if _, err := cron.ParseStandard(p.Schedule); err != nil {
		bad("publish.schedule", "is not a cron expression such as \"0 9 * * 1\" (Monday 09:00): %v", err)
	}
	if _, err := time.LoadLocation(p.Timezone); err != nil {
		bad("publish.timezone", "is not a known time zone such as Asia/Shanghai (got %q)", p.Timezone)
	}
	if p.MaxPerDay < 1 {
		bad("publish.max_per_day", "must be at least 1 (got %d)", p.MaxPerDay)
	}
	positive("publish.max_delay", p.MaxDelay)
	if p.LockTTL < 2*time.Second {
		bad("publish.lock_ttl", "must be at least 2s (got %s)", p.LockTTL)
	}
	positive("publish.poll_interval", p.PollInterval)
	if len(p.ToTag) > 30 {
		bad("publish.to_tag", "tag names are at most 30 bytes")
	}
	for _, h := range p.ImageHosts {
		name := strings.TrimPrefix(h, "*.")
		if name == "" || strings.ContainsAny(name, "/:@ *?#") {
			bad("publish.image_hosts", "lists host names such as images.example.com or *.example.com, without scheme, port or path (got %q)", h)
		}
	}
	if p.Auto != "off" && !w.HasAPICredentials() {
		bad("publish.auto", "is %q, which calls WeChat's API: set wechat.app_id and wechat.app_secret, or publish.auto: off", p.Auto)
	}
}

// checkAdmin checks admin.*.
func (c *Config) checkAdmin(v *checker) {
	bad := v.bad
	if t := c.Admin.Token; t != "" && len(t) < MinAdminTokenLen {
		bad("admin.token", "must be at least %d characters when set (got %d): it is the only secret guarding /admin; generate one with `openssl rand -hex 16`", MinAdminTokenLen, len(t))
	}
	if c.Admin.SessionTTL < time.Minute || c.Admin.SessionTTL > 30*24*time.Hour {
		bad("admin.session_ttl", "must be between 1m and 720h (got %s)", c.Admin.SessionTTL)
	}
	for name, hash := range c.Admin.Users {
		if !validUserName(name) {
			bad("admin.users", "names are 1 to 32 lower-case letters, digits, '.', '-' or '_' (got %q)", name)
		}
		if name == "admin" {
			bad("admin.users", "the name admin is admin.token's login: choose another name")
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			bad("admin.users", "%s: the value is not a bcrypt hash: make one with `wxbot admin hash-password`", name)
		}
	}
	if len(c.Admin.Users) > 0 && c.Admin.Token == "" {
		bad("admin.users", "is set but admin.token is empty, so the admin pages are off: set admin.token too")
	}
}

func validUserName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// checkNotify checks notify.*.
func (c *Config) checkNotify(v *checker) {
	bad, oneOf := v.bad, v.oneOf
	nc := c.Notify
	if hook := nc.WeComWebhook; hook != "" {
		// The URL carries the robot's key: never quote it back.
		if u, err := url.Parse(hook); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("notify.wecom_webhook", "must be an http:// or https:// URL such as https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…")
		}
	}
	oneOf("notify.wecom_msgtype", nc.WeComMsgType, "markdown", "text")
	if sm := nc.SMTP; sm.Addr != "" {
		if _, _, err := net.SplitHostPort(sm.Addr); err != nil {
			bad("notify.smtp.addr", "must be host:port such as smtp.example.com:587 (got %q)", sm.Addr)
		}
		if sm.From == "" {
			bad("notify.smtp.from", "is required with notify.smtp.addr")
		} else if _, err := mail.ParseAddress(sm.From); err != nil {
			bad("notify.smtp.from", "is not an e-mail address (got %q)", sm.From)
		}
		if len(sm.To) == 0 {
			bad("notify.smtp.to", "needs at least one address with notify.smtp.addr")
		}
		for _, to := range sm.To {
			if _, err := mail.ParseAddress(to); err != nil {
				bad("notify.smtp.to", "%q is not an e-mail address", to)
			}
		}
		if (sm.Username == "") != (sm.Password == "") {
			bad("notify.smtp.username", "and notify.smtp.password go together")
		}
	}
}

// checkReadership checks readership.*.
func (c *Config) checkReadership(v *checker) {
	if _, ok := c.Readership.CollectAtOffset(); !ok {
		v.bad("readership.collect_at", "must be HH:MM, Beijing time, such as 08:00 (got %q)", c.Readership.CollectAt)
	}
}

// MinAdminTokenLen is the shortest admin.token accepted.
const MinAdminTokenLen = 16

func checkReply(key string, r Reply, bad func(string, string, ...any)) {
	switch r.Type {
	case "text":
		if r.Text == "" {
			bad(key+".text", "is required for a text reply")
		}
	case "image":
		if r.MediaID == "" {
			bad(key+".media_id", "is required for an image reply")
		}
	case "news":
		if len(r.Articles) == 0 || len(r.Articles) > 8 {
			bad(key+".articles", "a news reply needs 1 to 8 articles (got %d)", len(r.Articles))
		}
		for i, a := range r.Articles {
			if a.Title == "" || a.URL == "" {
				bad(fmt.Sprintf("%s.articles[%d]", key, i), "needs a title and a url")
			}
		}
	default:
		bad(key+".type", "must be one of text, news, image (got %q)", r.Type)
	}
}

func checkMenu(menu []MenuButton, bad func(string, string, ...any)) {
	if len(menu) > 3 {
		bad("bot.menu", "WeChat allows at most 3 top-level buttons (got %d)", len(menu))
	}
	var check func(key string, b MenuButton, top bool)
	check = func(key string, b MenuButton, top bool) {
		limit := 16
		if !top {
			limit = 60
		}
		if b.Name == "" || len(b.Name) > limit {
			bad(key+".name", "must be 1 to %d bytes (got %d)", limit, len(b.Name))
		}
		if len(b.SubButtons) > 0 {
			if !top {
				bad(key+".sub_buttons", "only top-level buttons may have sub-buttons")
			}
			if len(b.SubButtons) > 5 {
				bad(key+".sub_buttons", "at most 5 (got %d)", len(b.SubButtons))
			}
			for i, s := range b.SubButtons {
				check(fmt.Sprintf("%s.sub_buttons[%d]", key, i), s, false)
			}
			return
		}
		switch b.Type {
		case "click":
			if b.Key == "" || len(b.Key) > 128 {
				bad(key+".key", "a click button needs a key of 1 to 128 bytes")
			}
		case "view":
			if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				bad(key+".url", "a view button needs an http(s) url (got %q)", b.URL)
			}
		default:
			bad(key+".type", "must be click or view (got %q)", b.Type)
		}
	}
	for i, b := range menu {
		check(fmt.Sprintf("bot.menu[%d]", i), b, true)
	}
}
