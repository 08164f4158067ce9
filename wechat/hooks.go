package wechat

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/lifang/wxbot/config"
)

// The SDK hard-codes https://api.weixin.qq.com in every URL and offers only
// two hooks, both process globals: util.DefaultHTTPClient and
// util.SetURIModifier. Setting them per Client would race (the SDK reads
// them without locks) and the last Client built would silently redirect
// every other Client's calls. So they are set exactly once per process, and
// the modifier routes each SDK request by what the request itself carries:
//
//   - Every SDK-built URL carries ?access_token=…; each Client registers the
//     tokens it hands out together with its own wechat.api_base, and the
//     modifier rewrites the URL to that base. Two Clients pointing at two
//     different fakes (two sandboxes in one test binary, say) therefore
//     reach their own fake, concurrently.
//   - Calls wxbot builds itself (tokens, uploads, drafts, mass sends, …) are
//     built from the Client's base directly; the modifier only touches URLs
//     that start with WeChat's own hosts, so it leaves them alone.
//   - A URL with no known token (none today) goes to the base of the first
//     Client built in the process.
//
// The HTTP client's overall timeout is the first Client's wechat.timeout;
// calls wxbot builds itself also carry a per-call context deadline from
// their own Client's configuration.
const (
	wechatAPIBase  = config.DefaultWeChatAPIBase
	wechatShowQR   = "https://mp.weixin.qq.com/cgi-bin/showqrcode"
	routeRetention = 3 * time.Hour // access tokens live 2 h
)

var sdkHooks struct {
	once     sync.Once
	mu       sync.RWMutex
	routes   map[string]route // access token → api base
	fallback string
}

type route struct {
	base string
	seen time.Time
}

// installSDKHooks sets the SDK's process-global HTTP client and URI
// modifier, once. Later calls only record the fallback base if none is set.
func installSDKHooks(base string, timeout time.Duration) {
	sdkHooks.once.Do(func() {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		transport.TLSHandshakeTimeout = 5 * time.Second
		transport.ResponseHeaderTimeout = timeout
		transport.MaxIdleConnsPerHost = 16
		// Replaced, never mutated: http.DefaultClient belongs to everyone.
		util.DefaultHTTPClient = &http.Client{Timeout: timeout, Transport: transport}
		util.SetURIModifier(rewriteURI)
	})
	sdkHooks.mu.Lock()
	defer sdkHooks.mu.Unlock()
	if sdkHooks.fallback == "" {
		sdkHooks.fallback = base
	}
}

// registerRoute records that token belongs to a Client whose API is at base.
func registerRoute(token, base string) {
	now := time.Now()
	sdkHooks.mu.Lock()
	defer sdkHooks.mu.Unlock()
	if sdkHooks.routes == nil {
		sdkHooks.routes = make(map[string]route)
	}
	if r, ok := sdkHooks.routes[token]; ok && r.base == base && now.Sub(r.seen) < time.Minute {
		return
	}
	sdkHooks.routes[token] = route{base: base, seen: now}
	if len(sdkHooks.routes) > 32 {
		for t, r := range sdkHooks.routes {
			if now.Sub(r.seen) > routeRetention {
				delete(sdkHooks.routes, t)
			}
		}
	}
}

// rewriteURI is the SDK's URI modifier: see the comment at the top of the file.
func rewriteURI(uri string) string {
	var rest string
	switch {
	case strings.HasPrefix(uri, wechatAPIBase+"/"):
		rest = uri[len(wechatAPIBase):]
	case strings.HasPrefix(uri, wechatShowQR):
		rest = "/cgi-bin/showqrcode" + uri[len(wechatShowQR):]
	default:
		return uri
	}
	base := ""
	if u, err := url.Parse(uri); err == nil {
		if tok := u.Query().Get("access_token"); tok != "" {
			sdkHooks.mu.RLock()
			base = sdkHooks.routes[tok].base
			sdkHooks.mu.RUnlock()
		}
	}
	if base == "" {
		sdkHooks.mu.RLock()
		base = sdkHooks.fallback
		sdkHooks.mu.RUnlock()
	}
	if base == "" || base == wechatAPIBase {
		return uri
	}
	return base + rest
}
