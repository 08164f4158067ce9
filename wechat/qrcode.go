package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/basic"
	"github.com/silenceper/wechat/v2/util"
)

// MaxQRExpire is WeChat's limit for a temporary QR code: 30 days.
const MaxQRExpire = 30 * 24 * time.Hour

// QRCode is a parametric QR code: following through it sends a subscribe
// event with EventKey qrscene_<Scene> (SCAN with <Scene> when already following).
type QRCode struct {
	Scene     string `json:"scene"`
	Permanent bool   `json:"permanent"`
	Ticket    string `json:"ticket"`
	// URL is what the code encodes (http://weixin.qq.com/q/…).
	URL string `json:"url"`
	// ImageURL fetches the code as an image (showqrcode, ticket URL-escaped).
	ImageURL string `json:"image_url"`
	// ExpireSeconds is the life of a temporary code as WeChat granted it, 0 for permanent.
	ExpireSeconds int64 `json:"expire_seconds,omitempty"`
}

// CreateQRCode creates a string-scene QR code: permanent
// (QR_LIMIT_STR_SCENE, at most 100,000 per account) or temporary
// (QR_STR_SCENE, expire at most 30 days). Only string scenes are used: the
// SDK panics on an int64 scene.
func (c *Client) CreateQRCode(ctx context.Context, scene string, permanent bool, expire time.Duration) (QRCode, error) {
	if scene == "" {
		return QRCode{}, errors.New("wechat: create QR code: empty scene")
	}
	req := basic.NewLimitQrRequest(scene)
	if !permanent {
		req = basic.NewTmpQrRequest(expire, scene)
	}
	var t *basic.Ticket
	err := c.sdkCall(ctx, epQRCreate, func() error {
		var err error
		t, err = c.basic.GetQRTicket(req)
		return err
	})
	if err != nil {
		return QRCode{}, fmt.Errorf("wechat: create QR code %q: %w", scene, err)
	}
	q := QRCode{Scene: scene, Permanent: permanent, Ticket: t.Ticket, URL: t.URL, ImageURL: c.QRCodeImageURL(t.Ticket)}
	if !permanent {
		q.ExpireSeconds = t.ExpireSeconds
	}
	return q, nil
}

// QRCodeImageURL is where the image of a ticket is fetched: WeChat's
// mp.weixin.qq.com for the real API, the same fake otherwise. The ticket is
// URL-escaped (basic.ShowQRCode does not: tickets contain + and /).
func (c *Client) QRCodeImageURL(ticket string) string {
	if c == nil || c.base == wechatAPIBase {
		return wechatShowQR + "?ticket=" + url.QueryEscape(ticket)
	}
	return c.base + "/cgi-bin/showqrcode?ticket=" + url.QueryEscape(ticket)
}

// QRCodeImage downloads the image of a ticket.
func (c *Client) QRCodeImage(ctx context.Context, ticket string) ([]byte, error) {
	var img []byte
	err := c.invoke(ctx, epShowQR, false, func(ctx context.Context, _ string) error {
		raw, err := util.HTTPGetContext(ctx, c.QRCodeImageURL(ticket))
		if err != nil {
			return classify(epShowQR.name, err)
		}
		if ct := http.DetectContentType(raw); len(ct) < 6 || ct[:6] != "image/" {
			// An error comes back as JSON.
			if err := decode(epShowQR.name, raw, nil); err != nil {
				return err
			}
			return &TransportError{Endpoint: epShowQR.name, msg: "answer is not an image (" + ct + ")"}
		}
		img = raw
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wechat: fetch QR code image: %w", err)
	}
	return img, nil
}
