package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// PushFrom is the FromUserName of the events the sandbox pushes.
const PushFrom = "oSandboxSystem0000000000000"

const pushTries = 3 // WeChat tries a push three times

func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

// massEventXML is the MASSSENDJOBFINISH push for a finished mass send.
func massEventXML(opts Options, m MassSend) func(time.Time) []byte {
	return func(now time.Time) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "<xml><ToUserName>%s</ToUserName><FromUserName>%s</FromUserName><CreateTime>%d</CreateTime>",
			cdata(AccountID), cdata(PushFrom), now.Unix())
		status, sent, urls := opts.massStatus(), m.Recipients, m.ArticleURLs
		if !opts.massSucceeds() {
			sent, urls = 0, nil
		}
		if opts.EmptyArticleURLResult {
			urls = nil
		}
		fmt.Fprintf(&b, "<MsgType>%s</MsgType><Event>%s</Event><MsgID>%d</MsgID><Status>%s</Status>",
			cdata("event"), cdata("MASSSENDJOBFINISH"), m.MsgID, cdata(status))
		fmt.Fprintf(&b, "<TotalCount>%d</TotalCount><FilterCount>%d</FilterCount><SentCount>%d</SentCount><ErrorCount>0</ErrorCount>",
			m.Recipients, sent, sent)
		b.WriteString("<CopyrightCheckResult><Count>0</Count><ResultList></ResultList><CheckState>1</CheckState></CopyrightCheckResult>")
		fmt.Fprintf(&b, "<ArticleUrlResult><Count>%d</Count><ResultList>", len(urls))
		for i, u := range urls {
			fmt.Fprintf(&b, "<item><ArticleIdx>%d</ArticleIdx><ArticleUrl>%s</ArticleUrl></item>", i+1, cdata(u))
		}
		b.WriteString("</ResultList></ArticleUrlResult></xml>")
		return []byte(b.String())
	}
}

// publishEventXML is the PUBLISHJOBFINISH push for a finished publication.
func publishEventXML(p publication) func(time.Time) []byte {
	return func(now time.Time) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "<xml><ToUserName>%s</ToUserName><FromUserName>%s</FromUserName><CreateTime>%d</CreateTime>",
			cdata(AccountID), cdata(PushFrom), now.Unix())
		fmt.Fprintf(&b, "<MsgType>%s</MsgType><Event>%s</Event><PublishEventInfo><publish_id>%s</publish_id><publish_status>%d</publish_status>",
			cdata("event"), cdata("PUBLISHJOBFINISH"), p.ID, p.Status)
		if p.Status != 0 {
			for _, i := range p.FailIdx {
				fmt.Fprintf(&b, "<fail_idx>%d</fail_idx>", i)
			}
			b.WriteString("</PublishEventInfo></xml>")
			return []byte(b.String())
		}
		fmt.Fprintf(&b, "<article_id>%s</article_id><article_detail><count>%d</count>", cdata(p.ArticleID), len(p.ArticleURLs))
		for i, u := range p.ArticleURLs {
			fmt.Fprintf(&b, "<item><idx>%d</idx><article_url>%s</article_url></item>", i+1, cdata(u))
		}
		b.WriteString("</article_detail></PublishEventInfo></xml>")
		return []byte(b.String())
	}
}

// schedulePush delivers an event to the webhook after PushDelay, in the background.
func (s *Server) schedulePush(build func(time.Time) []byte) {
	if s.opts.Webhook == "" {
		return
	}
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		if s.sleepOrDone(context.Background(), s.opts.PushDelay) != nil {
			return
		}
		s.deliver(build(s.now()))
	}()
}

// deliver posts an event as WeChat does: signature, timestamp and nonce in
// the query; in safe mode (an EncodingAESKey) the body is
// <xml><ToUserName/><Encrypt/></xml> and msg_signature signs
// [token, timestamp, nonce, Encrypt].
func (s *Server) deliver(event []byte) {
	name := "event"
	if i := bytes.Index(event, []byte("<Event><![CDATA[")); i >= 0 {
		rest := event[i+len("<Event><![CDATA["):]
		if j := bytes.Index(rest, []byte("]]>")); j >= 0 {
			name = string(rest[:j])
		}
	}
	push := Push{Event: name, Time: s.now(), Body: string(event)}
	build, err := s.pushRequest(event)
	if err != nil {
		push.Error = err.Error()
	}
	for err == nil && push.Attempts < pushTries {
		push.Attempts++
		resp, derr := s.client.Do(build())
		if derr != nil {
			push.Error = derr.Error()
		} else {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
			push.Status = resp.StatusCode
			push.Error = ""
			if resp.StatusCode == http.StatusOK {
				break
			}
			push.Error = "HTTP " + resp.Status
		}
		if push.Attempts < pushTries && s.sleepOrDone(context.Background(), 200*time.Millisecond) != nil {
			break
		}
	}
	code := 0
	if push.Status != http.StatusOK {
		code = -1
	}
	s.mu.Lock()
	s.st.pushes = append(s.st.pushes, push)
	s.mu.Unlock()
	s.record(Call{Endpoint: "push:" + name, Method: http.MethodPost, Time: push.Time, ErrCode: code})
	s.log.Info("sandbox: pushed event", slog.String("event", name), slog.Int("status", push.Status),
		slog.Int("attempts", push.Attempts), slog.String("error", push.Error))
}

// pushRequest prepares a request factory (a fresh body per attempt).
func (s *Server) pushRequest(event []byte) (func() *http.Request, error) {
	u, err := url.Parse(s.opts.Webhook)
	if err != nil {
		return nil, fmt.Errorf("sandbox: webhook %q: %w", s.opts.Webhook, err)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	q := u.Query()
	q.Set("signature", util.Signature(s.opts.Token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("openid", PushFrom)
	body := event
	if s.opts.EncodingAESKey != "" {
		enc, err := util.EncryptMsg([]byte(util.RandomStr(16)), event, s.opts.AppID, s.opts.EncodingAESKey)
		if err != nil {
			return nil, fmt.Errorf("sandbox: encrypt push: %w", err)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", util.Signature(s.opts.Token, ts, nonce, string(enc)))
		body = []byte("<xml><ToUserName>" + cdata(AccountID) + "</ToUserName><Encrypt>" + cdata(string(enc)) + "</Encrypt></xml>")
	}
	u.RawQuery = q.Encode()
	target := u.String()
	return func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		return req
	}, nil
}

// massStatus is the Status mass sends report.
func (o Options) massStatus() string {
	if o.MassStatus == "" {
		return "send success"
	}
	return o.MassStatus
}

func (o Options) massSucceeds() bool { return o.massStatus() == "send success" }
