package wechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/sandbox/sandboxtest"
	"github.com/lifang/wxbot/store"
	"github.com/lifang/wxbot/wechat"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openStore connects to a real redis-server with its own key prefix.
func openStore(t *testing.T, addr string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), config.RedisConfig{Addr: addr, Prefix: "wxtest:"}, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

type env struct {
	sb    *sandboxtest.Sandbox
	redis *redistest.Server
	st    *store.Store
	api   *wechat.Client
	m     *metrics.Metrics
}

// setup starts redis and a sandbox and builds one client on them.
func setup(t *testing.T, opts sandbox.Options, edit ...func(*config.WeChatConfig)) *env {
	t.Helper()
	e := &env{sb: sandboxtest.Start(t, opts), redis: redistest.Start(t)}
	e.st = openStore(t, e.redis.Addr)
	e.api, e.m = newClient(t, e.sb, e.st, edit...)
	return e
}

func newClient(t *testing.T, sb *sandboxtest.Sandbox, st *store.Store, edit ...func(*config.WeChatConfig)) (*wechat.Client, *metrics.Metrics) {
	t.Helper()
	cfg := sb.WeChatConfig()
	for _, f := range edit {
		f(&cfg)
	}
	m := metrics.Discard()
	c, err := wechat.New(wechat.Options{Config: cfg, Store: st, Metrics: m})
	if err != nil {
		t.Fatalf("wechat.New: %v", err)
	}
	c.SetRetryBackoff(5 * time.Millisecond)
	return c, m
}

func mustFault(t *testing.T, sb *sandboxtest.Sandbox, f sandbox.Fault) {
	t.Helper()
	if err := sb.AddFault(f); err != nil {
		t.Fatal(err)
	}
}

// callsOf lists the errcodes the sandbox answered on endpoint, in order.
func callsOf(sb *sandboxtest.Sandbox, endpoint string) []int {
	var out []int
	for _, c := range sb.Calls() {
		if c.Endpoint == endpoint {
			out = append(out, c.ErrCode)
		}
	}
	return out
}

func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x * y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegImage(t *testing.T, w, h, quality int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifImage(t *testing.T) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White})
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// thumb uploads a thumb material and returns its media_id.
func thumb(t *testing.T, api *wechat.Client) string {
	t.Helper()
	m, err := api.AddMaterial(ctxT(t), wechat.MaterialThumb, "cover.jpg", jpegImage(t, 64, 64, 80))
	if err != nil {
		t.Fatalf("add thumb: %v", err)
	}
	return m.MediaID
}

func article(thumbID string) wechat.Article {
	return wechat.Article{
		Title:            "立方网络安全与数据合规周报 No.53",
		Author:           "立方律师事务所",
		Digest:           "本期要闻",
		Content:          `<section style="color:#333"><p>国内要闻</p></section>`,
		ContentSourceURL: "https://example.com/no53",
		ThumbMediaID:     thumbID,
	}
}

// raw posts JSON straight to the sandbox with a valid token, for requests
// the adapter would never send, and returns WeChat's errcode.
func raw(t *testing.T, e *env, endpoint string, body any) int {
	t.Helper()
	tok, err := e.api.AccessToken(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(body)
	method := http.MethodPost
	var rd io.Reader = bytes.NewReader(b)
	if body == nil {
		method, rd = http.MethodGet, nil
	}
	req, _ := http.NewRequest(method, e.sb.URL+"/cgi-bin/"+endpoint+sep(endpoint)+"access_token="+url.QueryEscape(tok), rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		ErrCode int `json:"errcode"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatalf("%s: answer is not JSON: %v", endpoint, err)
	}
	return ans.ErrCode
}

func sep(endpoint string) string {
	if strings.Contains(endpoint, "?") {
		return "&"
	}
	return "?"
}

func httpGetJSON(u string) (int, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var ans struct {
		ErrCode int `json:"errcode"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ans)
	return ans.ErrCode, err
}
