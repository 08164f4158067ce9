package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"image/jpeg"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	qr "github.com/skip2/go-qrcode"
)

const (
	maxQRExpire    = 2592000 // seconds: 30 days
	defaultQRLife  = 60      // seconds, WeChat's default for a temporary code (qrcode/create without expire_seconds)
	maxSceneStr    = 64
	qrImagePixels  = 430
	qrURLPrefix    = "http://weixin.qq.com/q/"
	maxSceneID     = 100000
	tempSceneIDMax = 1<<32 - 1
)

func (s *Server) handleQRCreate(c *apiCall) answer {
	var req struct {
		ExpireSeconds *int64 `json:"expire_seconds"`
		ActionName    string `json:"action_name"`
		ActionInfo    struct {
			Scene struct {
				SceneStr *string `json:"scene_str"`
				SceneID  *int64  `json:"scene_id"`
			} `json:"scene"`
		} `json:"action_info"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	permanent := strings.HasPrefix(req.ActionName, "QR_LIMIT_")
	strScene := strings.HasSuffix(req.ActionName, "_STR_SCENE")
	switch req.ActionName {
	case "QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE":
	default:
		return fail(40035, fmt.Sprintf("invalid args: action_name %q", req.ActionName))
	}
	var scene string
	if strScene {
		sc := req.ActionInfo.Scene.SceneStr
		if sc == nil || utf8.RuneCountInString(*sc) < 1 || utf8.RuneCountInString(*sc) > maxSceneStr {
			return fail(40035, "invalid args: scene_str must be 1 to 64 characters")
		}
		scene = *sc
	} else {
		id := req.ActionInfo.Scene.SceneID
		limit := int64(tempSceneIDMax)
		if permanent {
			limit = maxSceneID
		}
		if id == nil || *id < 1 || *id > limit {
			return fail(40035, fmt.Sprintf("invalid args: scene_id must be 1 to %d", limit))
		}
		scene = fmt.Sprint(*id)
	}
	q := &QRCode{Scene: scene, Permanent: permanent, Created: c.now}
	expire := int64(defaultQRLife)
	if !permanent {
		if req.ExpireSeconds != nil {
			expire = *req.ExpireSeconds
		}
		if expire < 1 || expire > maxQRExpire {
			return fail(40035, fmt.Sprintf("invalid args: expire_seconds %d, temporary codes live 1 to %d seconds (30 days)", expire, maxQRExpire))
		}
		q.Expires = c.now.Add(time.Duration(expire) * time.Second)
	} else {
		if s.st.permanentQRs >= s.opts.MaxPermanentQR {
			return fail(45009, fmt.Sprintf("reach max api daily quota limit: at most %d permanent QR codes", s.opts.MaxPermanentQR))
		}
		s.st.permanentQRs++
	}
	q.Ticket = newTicket()
	q.URL = qrURLPrefix + randomToken("", 15)
	s.st.qrcodes[q.Ticket] = q
	s.st.qrOrder = append(s.st.qrOrder, q.Ticket)
	fields := map[string]any{"ticket": q.Ticket, "url": q.URL}
	if !permanent {
		fields["expire_seconds"] = expire
	}
	return answer{json: fields}
}

// newTicket makes a ticket like WeChat's: standard base64 with a "+" in
// it, so a client that forgets to URL-escape it (basic.ShowQRCode) fails
// here as it would against WeChat.
func newTicket() string {
	for {
		b := make([]byte, 48)
		_, _ = rand.Read(b)
		t := "gQ" + base64.StdEncoding.EncodeToString(b)
		if strings.Contains(t, "+") {
			return t
		}
	}
}

// handleShowQR answers the QR code image as a JPEG, as WeChat's
// showqrcode does, 404 for an unknown or expired ticket.
func (s *Server) handleShowQR(c *apiCall) answer {
	ticket := c.r.URL.Query().Get("ticket")
	q := s.st.qrcodes[ticket]
	if q == nil || (!q.Permanent && !c.now.Before(q.Expires)) {
		return answer{status: http.StatusNotFound, errcode: 40097, raw: []byte("invalid or expired ticket\n"), contentType: "text/plain; charset=utf-8"}
	}
	code, err := qr.New(q.URL, qr.Medium)
	if err != nil {
		return fail(-1, "system error: "+err.Error())
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, code.Image(qrImagePixels), &jpeg.Options{Quality: 90}); err != nil {
		return fail(-1, "system error: "+err.Error())
	}
	return answer{raw: b.Bytes(), contentType: "image/jpeg"}
}
