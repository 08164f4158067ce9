package wechat_test

import (
	"bytes"
	"errors"
	"image/jpeg"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
	"github.com/lifang/wxbot/wechat"
)

func TestQRCodeImageIsAPNG(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	cases := []struct {
		scene     string
		permanent bool
		expire    time.Duration
	}{
		{"expo2026", false, wechat.MaxQRExpire},
		{"business-card", true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.scene, func(t *testing.T) {
			q, err := e.api.CreateQRCode(ctx, tc.scene, tc.permanent, tc.expire)
			if err != nil {
				t.Fatal(err)
			}
			if q.Permanent != tc.permanent || (tc.permanent && q.ExpireSeconds != 0) || (!tc.permanent && q.ExpireSeconds != 2592000) {
				t.Fatalf("code %+v", q)
			}
			if !strings.Contains(q.Ticket, "+") || !strings.HasPrefix(q.URL, "http://weixin.qq.com/q/") {
				t.Fatalf("ticket %q url %q", q.Ticket, q.URL)
			}
			u, _ := url.Parse(q.ImageURL)
			if u.Query().Get("ticket") != q.Ticket {
				t.Fatalf("image URL %q does not carry the escaped ticket", q.ImageURL)
			}
			img, err := e.api.QRCodeImage(ctx, q.Ticket)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := jpeg.Decode(bytes.NewReader(img))
			if err != nil {
				t.Fatalf("showqrcode answer is not a JPEG (WeChat's format): %v", err)
			}
			if b := decoded.Bounds(); b.Dx() < 100 || b.Dx() != b.Dy() {
				t.Fatalf("QR image %v", b)
			}
			// The SDK's basic.ShowQRCode forgets to escape the ticket: "+"
			// becomes a space and WeChat does not know the ticket.
			resp, err := http.Get(e.sb.URL + "/cgi-bin/showqrcode?ticket=" + q.Ticket)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("unescaped ticket answered %d, want 404", resp.StatusCode)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		q, err := e.api.CreateQRCode(ctx, "short", false, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		e.sb.Advance(2 * time.Minute)
		_, err = e.api.QRCodeImage(ctx, q.Ticket)
		var te *wechat.TransportError
		if !errors.As(err, &te) || te.Status != http.StatusNotFound {
			t.Fatalf("expired ticket: %v, want HTTP 404", err)
		}
	})
}

// The SDK's URL hook is process-global; SDK-built calls still reach the
// API of the client that made them, even with two fakes in one process.
func TestSDKCallsRoutedPerClient(t *testing.T) {
	e1 := setup(t, sandbox.Options{AppID: "wxfirstsandbox1"})
	sb2 := sandboxtest.Start(t, sandbox.Options{AppID: "wxsecondsandbox2"})
	api2, _ := newClient(t, sb2, e1.st)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- e1.api.CreateMenu(ctx, []wechat.MenuButton{{Type: "click", Name: "first", Key: "k1"}})
		}()
		go func() {
			defer wg.Done()
			errs <- api2.CreateMenu(ctx, []wechat.MenuButton{{Type: "click", Name: "second", Key: "k2"}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n1, n2 := e1.sb.Count("menu/create"), sb2.Count("menu/create"); n1 != 10 || n2 != 10 {
		t.Fatalf("menu/create reached the first sandbox %d times and the second %d times, want 10 and 10", n1, n2)
	}
	m1, err := e1.api.Menu(ctx)
	if err != nil || len(m1) != 1 || m1[0].Name != "first" {
		t.Fatalf("first menu %+v, %v", m1, err)
	}
	m2, err := api2.Menu(ctx)
	if err != nil || len(m2) != 1 || m2[0].Name != "second" {
		t.Fatalf("second menu %+v, %v", m2, err)
	}
}
