package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

// WeCom posts notices to a WeCom (企业微信) group robot.
type WeCom struct {
	URL     string // the robot's webhook URL; it holds a key, never logged
	MsgType string // markdown (default) or text
	Client  *http.Client
}

// Name implements Channel.
func (w *WeCom) Name() string { return "wecom" }

// Targets implements Channel.
func (w *WeCom) Targets() []string { return []string{""} }

// WeCom limits: markdown content 4096 bytes, text 2048.
const (
	wecomMarkdownMax = 4096
	wecomTextMax     = 2048
)

// Send implements Channel: the robot answers {"errcode":0,...} when it took it.
func (w *WeCom) Send(ctx context.Context, _ string, n Notice, text string) error {
	var body map[string]any
	if w.MsgType == "text" {
		body = map[string]any{"msgtype": "text", "text": map[string]string{"content": cut(Title(n)+"\n"+text, wecomTextMax)}}
	} else {
		body = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": cut("**"+Title(n)+"**\n"+text, wecomMarkdownMax)}}
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(b))
	if err != nil {
		return errors.New("wecom: bad robot URL")
	}
	req.Header.Set("Content-Type", "application/json")
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds the robot's key
		}
		return fmt.Errorf("wecom: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("wecom: robot answered HTTP %d", resp.StatusCode)
	}
	var a struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &a); err != nil || a.ErrCode == nil {
		return errors.New("wecom: robot answer is not {\"errcode\": …}")
	}
	if *a.ErrCode != 0 {
		return fmt.Errorf("wecom: errcode %d: %s", *a.ErrCode, cut(a.ErrMsg, 200))
	}
	return nil
}

// cut shortens s to at most max bytes on a rune boundary.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// Mail sends notices by e-mail over SMTP (STARTTLS when asked).
type Mail struct {
	Addr               string // host:port
	From               string
	To                 []string
	Username, Password string
	StartTLS           bool
	// TLS overrides the STARTTLS configuration (tests); nil: the host's name.
	TLS *tls.Config
}

// Name implements Channel.
func (m *Mail) Name() string { return "smtp" }

// Targets implements Channel: one message to every recipient.
func (m *Mail) Targets() []string { return []string{""} }

// Send implements Channel.
func (m *Mail) Send(ctx context.Context, _ string, n Notice, text string) error {
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("smtp: bad address %q", m.Addr)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if m.StartTLS {
		cfg := m.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp: STARTTLS: %w", err)
		}
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("smtp: AUTH: %w", err)
		}
	}
	if err := c.Mail(m.From); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp: RCPT TO: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(m.message(n, text)); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	return c.Quit()
}

func (m *Mail) message(n Notice, text string) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) {
		fmt.Fprintf(&b, "%s: %s\r\n", k, strings.NewReplacer("\r", "", "\n", "").Replace(v))
	}
	hdr("From", m.From)
	hdr("To", strings.Join(m.To, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", Title(n)))
	hdr("Date", time.Now().Format(time.RFC1123Z))
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"))
	_ = qp.Close()
	return b.Bytes()
}

// Texter is the part of *wechat.Client the admins' channel uses.
type Texter interface {
	Configured() bool
	SendText(ctx context.Context, openID, text string) error
}

// Admins sends notices to publish.admins as customer-service messages.
// WeChat takes them only within 48 h of the admin's last message to the
// account (wechat.CodeReplyWindow, 45015) and a few per such message
// (wechat.CodeCustomQuota, 45047): an admin refused so is recorded and
// skipped until they write again (Wrote) or a day passed.
type Admins struct {
	API    Texter
	Store  *store.Store // nil: refusals are not remembered
	OpenID []string
	Log    *slog.Logger
	// Retry is how long a refused admin is skipped when they do not write
	// (default 24 h).
	Retry time.Duration
}

// Name implements Channel.
func (a *Admins) Name() string { return "wechat" }

// Targets implements Channel: each admin on their own.
func (a *Admins) Targets() []string { return a.OpenID }

// Closed is WeChat's refusal recorded for an admin.
type Closed struct {
	Code int       `json:"code"`
	At   time.Time `json:"at"`
}

// Send implements Channel.
func (a *Admins) Send(ctx context.Context, openid string, n Notice, text string) error {
	if !forAdmins(n.Kind) {
		return fmt.Errorf("%w: %s notices are not sent to admins", ErrSkipped, n.Kind)
	}
	if a.API == nil || !a.API.Configured() {
		return fmt.Errorf("%w: no WeChat credentials", ErrSkipped)
	}
	retry := a.Retry
	if retry <= 0 {
		retry = 24 * time.Hour
	}
	if a.Store != nil {
		if raw, err := a.Store.HGet(ctx, a.Store.Keys.NotifyClosed(), openid).Result(); err == nil {
			var c Closed
			if json.Unmarshal([]byte(raw), &c) == nil && time.Since(c.At) < retry {
				return fmt.Errorf("%w: WeChat refused customer-service messages to %s (errcode %d) at %s", ErrSkipped, openid, c.Code, c.At.Format(time.RFC3339))
			}
		}
	}
	err := a.API.SendText(ctx, openid, text)
	var ae *wechat.APIError
	if errors.As(err, &ae) && (ae.Code == wechat.CodeReplyWindow || ae.Code == wechat.CodeCustomQuota) {
		if a.Store != nil {
			b, _ := json.Marshal(Closed{Code: ae.Code, At: time.Now().UTC()})
			if herr := a.Store.HSet(ctx, a.Store.Keys.NotifyClosed(), openid, b).Err(); herr != nil && a.Log != nil {
				a.Log.Warn("notify: cannot record the closed window", slog.Any("error", herr))
			}
		}
		return fmt.Errorf("%w (errcode %d: %s)", ErrWindow, ae.Code, openid)
	}
	return err
}

// ErrWindow is WeChat's 45015 or 45047 for an admin: recorded, skipped,
// not retried.
var ErrWindow = fmt.Errorf("%w: WeChat refused the customer-service message (outside the 48 h window or over the quota)", ErrSkipped)

// Wrote reopens openid's window: they sent a message to the account.
func (a *Admins) Wrote(ctx context.Context, openid string) error {
	if a.Store == nil {
		return nil
	}
	return a.Store.HDel(ctx, a.Store.Keys.NotifyClosed(), openid).Err()
}

// ClosedAdmins lists the admins WeChat refused, for status.
func ClosedAdmins(ctx context.Context, st *store.Store) (map[string]Closed, error) {
	raw, err := st.HGetAll(ctx, st.Keys.NotifyClosed()).Result()
	if err != nil {
		return nil, err
	}
	out := map[string]Closed{}
	for k, v := range raw {
		var c Closed
		if json.Unmarshal([]byte(v), &c) == nil {
			out[k] = c
		}
	}
	return out, nil
}
