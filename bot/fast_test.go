package bot

import (
	"bufio"
	"context"
	"io"
	"strconv"
	"time"

	"github.com/lifang/wxbot/bot/wechatsim"
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
		SecureErrorLogMessage: true,
		Logger:                discardLogger{},
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(LingerListener(ln)) }()
	return &testServer{URL: "http://" + ln.Addr().String(), Listener: ln, close: func() {
		_ = srv.Shutdown()
		_ = ln.Close() // Shutdown before Serve began does nothing
		<-done
	}}
}

// FuzzFastRequest sends a signed request line followed by arbitrary bytes —
// headers, Expect, Content-Length and Transfer-Encoding in any form, a body
// or none — to the webhook server over TCP. Whatever comes, the server
// answers with one of the webhook's statuses or closes the connection, and
// still answers a genuine push afterwards. The seeds run in every `go test`.
func FuzzFastRequest(f *testing.F) {
	h := newHarness(f, harnessOpt{})
	now := time.Now()
	p, _ := h.acct.Seal(wechatsim.Text(testOpenID, testAccount, "最新", nextMsgID(), now.Unix()), wechatsim.Safe, now)
	body := string(p.Body)
	for _, s := range []string{
		"Host: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body,
		"Host: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n",
		"Host: x\r\nExpect: 100-continue\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body,
		"Host: x\r\nContent-Length: 99999999999\r\n\r\n",
		"Host: x\r\nContent-Length: -1\r\n\r\n",
		"Host: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n",
		"Host: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
		"Host: x\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\nabc",
		"Host: x\r\nX-Wxbot-Admitted: 100\r\nContent-Length: 3\r\n\r\nabc",
		"Host: x\r\n" + strings.Repeat("A: b\r\n", 5000) + "\r\n",
		"\r\n\r\n",
		"",
	} {
		f.Add(s)
	}
	addr := h.srv.Listener.Addr().String()
	allowed := map[int]bool{200: true, 400: true, 403: true, 405: true, 408: true, 411: true, 413: true, 417: true, 431: true, 501: true, 503: true}
	f.Fuzz(func(t *testing.T, rest string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		_, _ = io.WriteString(conn, "POST /wechat?"+p.Query+" HTTP/1.1\r\n"+rest)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		for err == nil && resp.StatusCode == http.StatusContinue {
			resp, err = http.ReadResponse(br, nil)
		}
		if err == nil {
			resp.Body.Close()
			if !allowed[resp.StatusCode] {
				t.Fatalf("status %d", resp.StatusCode)
			}
		} // else closed, or an incomplete request still awaited
		// The server still answers.
		if status, echo, err := h.acct.VerifyURL(http.DefaultClient, h.url(), "alive", time.Now()); err != nil || status != 200 || echo != "alive" {
			t.Fatalf("after the input: %d %q %v", status, echo, err)
		}
	})
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
