package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsAreValid(t *testing.T) {
	c, err := Load(Options{Env: env(nil), File: ""})
	if err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if c.HTTP.Addr != ":8080" || c.HTTP.WebhookPath != "/wechat" || c.HTTP.MaxBodyBytes != 1<<20 {
		t.Errorf("http defaults: %+v", c.HTTP)
	}
	if c.Bot.Deadline != 4500*time.Millisecond || c.Bot.SessionTTL != 30*time.Minute {
		t.Errorf("bot defaults: deadline %s session %s", c.Bot.Deadline, c.Bot.SessionTTL)
	}
	if c.Publish.Schedule != "0 9 * * 1" || c.Publish.Timezone != "Asia/Shanghai" || c.Publish.MaxPerDay != 1 {
		t.Errorf("publish defaults: %+v", c.Publish)
	}
	if !c.Redis.Embedded() || c.Redis.Prefix != "wxbot:" {
		t.Errorf("redis defaults: %+v", c.Redis)
	}
	if !c.WeChat.StableToken || c.WeChat.TimestampWindow != 5*time.Minute {
		t.Errorf("wechat defaults: %+v", c.WeChat)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "wxbot.yaml")
	yaml := "http:\n  addr: \"127.0.0.1:9001\"\n  webhook_path: /from-file\nbot:\n  session_ttl: 5m\nredis:\n  addr: 127.0.0.1:7000\npublish:\n  admins: [a1, a2]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	addr := fs.String("addr", "", "")
	fs.String("redis", "", "")
	if err := fs.Parse([]string{"--addr", "127.0.0.1:9003"}); err != nil {
		t.Fatal(err)
	}
	_ = addr
	c, err := Load(Options{
		File: file,
		Env: env(map[string]string{
			"WXBOT_HTTP_ADDR":         "127.0.0.1:9002",
			"WXBOT_HTTP_WEBHOOK_PATH": "/from-env",
			"WXBOT_PUBLISH_TIMEZONE":  "Europe/Paris",
		}),
		Flags: map[string]*pflag.Flag{"http.addr": fs.Lookup("addr"), "redis.addr": fs.Lookup("redis")},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"flag beats env and file", c.HTTP.Addr, "127.0.0.1:9003"},
		{"env beats file", c.HTTP.WebhookPath, "/from-env"},
		{"file beats default", c.Redis.Addr, "127.0.0.1:7000"},
		{"unset flag does not override file", c.Redis.Addr, "127.0.0.1:7000"},
		{"env over default", c.Publish.Timezone, "Europe/Paris"},
		{"file duration", c.Bot.SessionTTL.String(), "5m0s"},
		{"file list", strings.Join(c.Publish.Admins, ","), "a1,a2"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
}

func TestEnvList(t *testing.T) {
	c, err := Load(Options{Env: env(map[string]string{
		"WXBOT_REDIS_ADDRS": "127.0.0.1:7000, 127.0.0.1:7001", "WXBOT_REDIS_CLUSTER": "true",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Redis.Addrs) != 2 || c.Redis.Addrs[1] != "127.0.0.1:7001" || !c.Redis.Cluster {
		t.Errorf("redis from env: %+v", c.Redis)
	}
}

func TestValidationNamesTheKey(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"WXBOT_HTTP_ADDR": "nonsense"}, "http.addr:"},
		{map[string]string{"WXBOT_WECHAT_APP_SECRET": "s3cret"}, "wechat.app_id:"},
		{map[string]string{"WXBOT_WECHAT_ENCODING_AES_KEY": "short", "WXBOT_WECHAT_APP_ID": "wx1234567890", "WXBOT_WECHAT_APP_SECRET": "s"}, "wechat.encoding_aes_key: must be exactly 43"},
		{map[string]string{"WXBOT_BOT_DEADLINE": "6s"}, "bot.deadline:"},
		{map[string]string{"WXBOT_BOT_DEADLINE": "soon"}, "bot.deadline"},
		{map[string]string{"WXBOT_PUBLISH_SCHEDULE": "every monday"}, "publish.schedule:"},
		{map[string]string{"WXBOT_PUBLISH_TIMEZONE": "Mars/Olympus"}, "publish.timezone:"},
		{map[string]string{"WXBOT_PUBLISH_MODE": "fax"}, "publish.mode:"},
		{map[string]string{"WXBOT_RENDER_AUTHOR": "一二三四五六七八九十一二三四五六七"}, "render.author:"},
		{map[string]string{"WXBOT_REDIS_CLUSTER": "true"}, "redis.addrs:"},
		{map[string]string{"WXBOT_PUBLISH_AUTO": "schedule"}, "publish.auto:"},
		{map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "safe"}, "wechat.message_mode: is safe, which needs wechat.encoding_aes_key"},
		{map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "compat"}, "wechat.message_mode: is compat, which needs"},
		{map[string]string{"WXBOT_WECHAT_MESSAGE_MODE": "aes"}, "wechat.message_mode: must be one of plain, compat, safe"},
	}
	for _, tc := range cases {
		_, err := Load(Options{Env: env(tc.env)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: got error %v, want it to contain %q", tc.env, err, tc.want)
		}
	}
}

// TestHardeningValidation: the cross-key and length rules of the
// hardening pass, each refusal naming the keys involved, and the edges
// that must still load.
func TestHardeningValidation(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; nil means it loads
	}{
		{"dedupe below twice the window", map[string]string{"WXBOT_BOT_DEDUPE_TTL": "9m"},
			[]string{"bot.dedupe_ttl:", "wechat.timestamp_window", "10m0s", "got 9m0s"}},
		{"dedupe equal to the window", map[string]string{"WXBOT_BOT_DEDUPE_TTL": "5m", "WXBOT_WECHAT_TIMESTAMP_WINDOW": "5m"},
			[]string{"bot.dedupe_ttl:", "wechat.timestamp_window"}},
		{"a wider window needs a longer dedupe", map[string]string{"WXBOT_WECHAT_TIMESTAMP_WINDOW": "6m"},
			[]string{"bot.dedupe_ttl:", "12m0s"}},
		{"dedupe exactly twice the window", map[string]string{"WXBOT_BOT_DEDUPE_TTL": "2m", "WXBOT_WECHAT_TIMESTAMP_WINDOW": "1m"}, nil},
		{"short admin token", map[string]string{"WXBOT_ADMIN_TOKEN": "change-me-admin"},
			[]string{"admin.token:", "at least 16", "got 15"}},
		{"16-character admin token", map[string]string{"WXBOT_ADMIN_TOKEN": "0123456789abcdef"}, nil},
		{"no admin token", map[string]string{"WXBOT_ADMIN_TOKEN": ""}, nil},
		{"admin session too short", map[string]string{"WXBOT_ADMIN_SESSION_TTL": "10s"}, []string{"admin.session_ttl:"}},
		{"ops listener", map[string]string{"WXBOT_HTTP_OPS_ADDR": ":9090"}, nil},
		{"ops listener not host:port", map[string]string{"WXBOT_HTTP_OPS_ADDR": "9090"}, []string{"http.ops_addr:"}},
		{"ops listener on the main port", map[string]string{"WXBOT_HTTP_OPS_ADDR": "127.0.0.1:8080"}, []string{"http.ops_addr:", "http.addr"}},
		{"trusted proxies", map[string]string{"WXBOT_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7, fd00::/8"}, nil},
		{"bad trusted proxy", map[string]string{"WXBOT_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, ingress"}, []string{"http.trusted_proxies:", `"ingress"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(Options{Env: env(tc.env)})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// The message mode defaults to safe when an EncodingAESKey is set and to
// plain otherwise; an explicit mode wins.
func TestMessageMode(t *testing.T) {
	const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	withKey := map[string]string{"WXBOT_WECHAT_ENCODING_AES_KEY": key, "WXBOT_WECHAT_APP_ID": "wx1234567890abcdef"}
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no key", nil, MessageModePlain},
		{"key", withKey, MessageModeSafe},
		{"key, compat", merge(withKey, "WXBOT_WECHAT_MESSAGE_MODE", "compat"), MessageModeCompat},
		{"key, plain", merge(withKey, "WXBOT_WECHAT_MESSAGE_MODE", "plain"), MessageModePlain},
	}
	for _, tc := range cases {
		c, err := Load(Options{Env: env(tc.env)})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.WeChat.MessageMode != tc.want || c.WeChat.Mode() != tc.want {
			t.Errorf("%s: message_mode %q (Mode %q), want %q", tc.name, c.WeChat.MessageMode, c.WeChat.Mode(), tc.want)
		}
	}
}

func merge(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for mk, mv := range m {
		out[mk] = mv
	}
	return out
}

func TestUnknownKeyInFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("http:\n  adr: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(Options{File: file, Env: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "http.adr: unknown key") {
		t.Fatalf("got %v, want an unknown-key error naming http.adr", err)
	}
}

func TestExampleFileIsValidAndComplete(t *testing.T) {
	file := filepath.Join("..", "wxbot.example.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{File: file, Env: env(nil)}); err != nil {
		t.Fatalf("wxbot.example.yaml does not load: %v", err)
	}
	// Every key must be documented in the example.
	for _, k := range Keys() {
		leaf := k[strings.LastIndex(k, ".")+1:]
		if !strings.Contains(string(data), leaf+":") {
			t.Errorf("wxbot.example.yaml does not mention %s", k)
		}
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	c := Config{WeChat: WeChatConfig{AppSecret: "topsecret", Token: "tok123", EncodingAESKey: "k"}, Admin: AdminConfig{Token: "s3cr3t-admin"}}
	s := c.LogValue().String()
	for _, secret := range []string{"topsecret", "tok123", "s3cr3t-admin"} {
		if strings.Contains(s, secret) {
			t.Errorf("LogValue leaks %q: %s", secret, s)
		}
	}
}

// describedDefaults are keys whose default is too long for the table's
// cell, so the table says what it is instead.
var describedDefaults = map[string]bool{"bot.blocked_words": true}

func TestDocsListEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // key → the default column, as written
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) >= 3 && strings.HasPrefix(cells[0], "| `") {
			rows[strings.Trim(cells[0], "| `")] = cells[1]
		}
	}
	for _, k := range Keys() {
		doc, ok := rows[k]
		if !ok {
			t.Errorf("docs/configuration.md's table has no row for %s", k)
			continue
		}
		if describedDefaults[k] {
			continue // a long list, described in words (the example file lists it)
		}
		if want := docDefault(defaults[k]); docValue(doc) != want {
			t.Errorf("docs/configuration.md gives %s the default %s; the code's is %q", k, doc, want)
		}
	}
}

// docValue is a default as the table writes it: in backticks, strings
// quoted or not, durations in their short form.
func docValue(cell string) string {
	v := strings.Trim(strings.TrimSpace(cell), "`")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if d, err := time.ParseDuration(v); err == nil && strings.ContainsAny(v, "hms") {
		return d.String()
	}
	return v
}

func docDefault(v any) string {
	switch x := v.(type) {
	case []string:
		return "[" + strings.Join(x, ",") + "]"
	case time.Duration:
		return x.String()
	}
	return fmt.Sprint(v)
}
