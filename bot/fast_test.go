package bot

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// testServer is the harness's webhook server: fasthttp as `wxbot serve`
// runs it by default (http.server), or net/http's httptest server with
// WXBOT_TEST_HTTP_SERVER=net — every test of the package runs over either.
type testServer struct {
	URL      string
	Listener net.Listener
	close    func()
}

func (s *testServer) Close() { s.close() }

func startTestServer(t testing.TB, b *Bot, webhook string) *testServer {
	t.Helper()
	if os.Getenv("WXBOT_TEST_HTTP_SERVER") == "net" {
		mux := http.NewServeMux()
		mux.Handle(webhook, b)
		srv := httptest.NewServer(mux)
		return &testServer{URL: srv.URL, Listener: srv.Listener, close: srv.Close}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		Handler: func(c *fasthttp.RequestCtx) {
			if string(c.Path()) != webhook {
				c.Error("404 page not found", fasthttp.StatusNotFound)
				return
			}
			b.ServeFast(context.Background(), c)
		},
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			uri := string(h.RequestURI())
			path, query, _ := strings.Cut(uri, "?")
			if h.IsPost() && path == webhook {
				return b.FastAdmit(context.Background(), h, query)
			}
			ClearAdmit(h)
			return fasthttp.RequestConfig{}
		},
		ExpectHandler:         b.FastExpect,
		StreamRequestBody:     true,
		MaxRequestBodySize:    int(b.maxBody),
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(LingerListener(ln)) }()
	return &testServer{URL: "http://" + ln.Addr().String(), Listener: ln, close: func() {
		_ = srv.Shutdown()
		_ = ln.Close() // Shutdown before Serve began does nothing
		<-done
	}}
}
