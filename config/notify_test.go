package config

import (
	"strings"
	"testing"
)

func TestNotifyConfig(t *testing.T) {
	c, err := Load(Options{Env: env(map[string]string{
		"WXBOT_NOTIFY_WECOM_WEBHOOK": "http://127.0.0.1:9999/send?key=robotkey",
		"WXBOT_NOTIFY_SMTP_ADDR":     "127.0.0.1:2525", "WXBOT_NOTIFY_SMTP_FROM": "wxbot@example.com",
		"WXBOT_NOTIFY_SMTP_TO": "a@example.com, b@example.com", "WXBOT_NOTIFY_SMTP_STARTTLS": "false",
	})})
	if err != nil {
		t.Fatal(err)
	}
	n := c.Notify
	if n.WeComWebhook == "" || n.WeComMsgType != "markdown" || len(n.SMTP.To) != 2 || n.SMTP.StartTLS {
		t.Fatalf("notify from env: %+v", n)
	}
	if s := c.LogValue().String(); strings.Contains(s, "robotkey") {
		t.Fatalf("LogValue leaks the robot's key: %s", s)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"WXBOT_NOTIFY_WECOM_WEBHOOK": "ftp://x/?key=robotkey"}, "notify.wecom_webhook: must be an http"},
		{map[string]string{"WXBOT_NOTIFY_WECOM_MSGTYPE": "news"}, "notify.wecom_msgtype:"},
		{map[string]string{"WXBOT_NOTIFY_SMTP_ADDR": "mailhost"}, "notify.smtp.addr:"},
		{map[string]string{"WXBOT_NOTIFY_SMTP_ADDR": "mailhost:25", "WXBOT_NOTIFY_SMTP_TO": "a@example.com"}, "notify.smtp.from: is required"},
		{map[string]string{"WXBOT_NOTIFY_SMTP_ADDR": "mailhost:25", "WXBOT_NOTIFY_SMTP_FROM": "w@example.com"}, "notify.smtp.to:"},
		{map[string]string{"WXBOT_NOTIFY_SMTP_ADDR": "mailhost:25", "WXBOT_NOTIFY_SMTP_FROM": "w@example.com", "WXBOT_NOTIFY_SMTP_TO": "not an address"}, "notify.smtp.to:"},
		{map[string]string{"WXBOT_NOTIFY_SMTP_ADDR": "mailhost:25", "WXBOT_NOTIFY_SMTP_FROM": "w@example.com", "WXBOT_NOTIFY_SMTP_TO": "a@example.com", "WXBOT_NOTIFY_SMTP_USERNAME": "u"}, "notify.smtp.username:"},
	} {
		_, err := Load(Options{Env: env(tc.env)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: got %v, want %q", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "robotkey") {
			t.Errorf("the error quotes the robot's key: %v", err)
		}
	}
}
