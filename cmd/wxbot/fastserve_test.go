package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/bot/wechatsim"
)

// The fasthttp webhook path (http.server: fasthttp) over real TCP, with raw
// requests: what a client can do to the transport, not only what it says.

const fastToken = "fastToken123"

func startFast(t *testing.T, extra map[string]string) (*Main, string, wechatsim.Account, *lockedBuffer) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	env := map[string]string{"WXBOT_WECHAT_TOKEN": fastToken, "WXBOT_HTTP_SERVER": "fasthttp"}
	for k, v := range extra {
		env[k] = v
	}
	m, logs := startServe(t, env)
	if m.fast == nil {
		t.Fatal("http.server fasthttp did not start the fasthttp server")
	}
	return m, m.Addr(), wechatsim.Account{Token: fastToken}, logs
}

func push(t *testing.T, acct wechatsim.Account, text string) wechatsim.Push {
	t.Helper()
	p, err := acct.Seal(wechatsim.Text("oFast", "gh_x", text, time.Now().UnixNano(), time.Now().Unix()), wechatsim.Plain, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rawConn is one client connection writing raw HTTP/1.1.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) write(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) response(method string) (*http.Response, string) {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// closed reports whether the server closed the connection (EOF on read).
func (r *rawConn) closed() bool {
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, r.br) // an answer (408) may come first
	return err == nil || !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func chunked(body []byte) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(len(body), 100)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func TestServeFastChunkedHeadAndRequestID(t *testing.T) {
	m, addr, acct, _ := startFast(t, nil)
	p := push(t, acct, "最新")
	c := dial(t, addr)
	c.write("POST /wechat?" + p.Query + " HTTP/1.1\r\nHost: x\r\nX-Request-Id: fast-1\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(p.Body))
	resp, body := c.response("POST")
	r, err := acct.Open(resp.StatusCode, []byte(body))
	if err != nil || !strings.Contains(r.Content, "No.55") {
		t.Fatalf("chunked push: %d %q %v", resp.StatusCode, body, err)
	}
	if id := resp.Header.Get("X-Request-Id"); id != "fast-1" {
		t.Fatalf("request id %q", id)
	}
	// The same connection serves a HEAD next: 405, the Allow header, no body.
	c.write("HEAD /wechat HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body = c.response("HEAD")
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" || body != "" {
		t.Fatalf("HEAD: %d %q %q", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
	if id := resp.Header.Get("X-Request-Id"); !validRequestID(id) || id == "fast-1" {
		t.Fatalf("HEAD request id %q", id)
	}
	// The other paths are net/http's, on the same listener.
	c.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body = c.response("GET"); resp.StatusCode != 200 || body != "ok\n" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("healthz over the fasthttp listener: %d %q", resp.StatusCode, body)
	}
	base := "http://" + m.Addr()
	if v := metricValue(t, base, `wxbot_webhook_duration_seconds_count{result="reply"}`); v != 1 {
		t.Fatalf("reply count %v", v)
	}
	if v := metricValue(t, base, `wxbot_webhook_duration_seconds_count{result="bad_request"}`); v != 1 {
		t.Fatalf("bad_request (HEAD) count %v", v)
	}
}

// Expect: 100-continue is answered before the body: refused without a
// 100 for a bad signature or an oversized declared length, 100 then the
// reply for a good one.
func TestServeFastExpectContinue(t *testing.T) {
	m, addr, acct, logs := startFast(t, map[string]string{"WXBOT_HTTP_MAX_BODY_BYTES": "65536"})
	p := push(t, acct, "最新")
	bad := strings.Replace(p.Query, "signature=", "signature=0", 1)
	for _, tc := range []struct {
		name, query string
		length      int
		status      int
	}{
		{"bad signature", bad, len(p.Body), 403},
		{"too large", p.Query, 1 << 20, 413},
	} {
		c := dial(t, addr)
		c.write(fmt.Sprintf("POST /wechat?%s HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", tc.query, tc.length))
		resp, _ := c.response("POST")
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: %d, want %d before the body", tc.name, resp.StatusCode, tc.status)
		}
		if !c.closed() {
			t.Fatalf("%s: connection left open", tc.name)
		}
	}
	if !strings.Contains(logs.String(), "status=403") || !strings.Contains(logs.String(), "status=413") {
		t.Fatalf("refusals not logged:\n%s", logs.String())
	}
	base := "http://" + m.Addr()
	if v := metricValue(t, base, `wxbot_webhook_duration_seconds_count{result="forbidden"}`); v != 1 {
		t.Fatalf("forbidden count %v", v)
	}
	if v := metricValue(t, base, `wxbot_webhook_duration_seconds_count{result="too_large"}`); v != 1 {
		t.Fatalf("too_large count %v", v)
	}

	c := dial(t, addr)
	c.write(fmt.Sprintf("POST /wechat?%s HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", p.Query, len(p.Body)))
	line, err := c.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}
	if _, err := c.br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	c.write(string(p.Body))
	resp, body := c.response("POST")
	if r, err := acct.Open(resp.StatusCode, []byte(body)); err != nil || !strings.Contains(r.Content, "No.55") {
		t.Fatalf("after 100 Continue: %d %q %v", resp.StatusCode, body, err)
	}
	if v := metricValue(t, base, `wxbot_webhook_duration_seconds_count{result="forbidden"}`); v != 1 {
		t.Fatalf("forbidden count after an admitted request %v", v)
	}
}

// Bodies past http.max_body_bytes: refused before the body when declared,
// when the read passes the limit when chunked; and an unauthenticated
// body is never read.
func TestServeFastOversized(t *testing.T) {
	_, addr, acct, logs := startFast(t, map[string]string{"WXBOT_HTTP_MAX_BODY_BYTES": "65536"})
	p := push(t, acct, "最新")
	c := dial(t, addr)
	c.write(fmt.Sprintf("POST /wechat?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", p.Query, 1<<20))
	c.write(strings.Repeat("x", 9000))
	if resp, _ := c.response("POST"); resp.StatusCode != 413 || !resp.Close {
		t.Fatalf("declared too large: %d close=%v", resp.StatusCode, resp.Close)
	}

	c = dial(t, addr)
	c.write("POST /wechat?" + p.Query + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(bytes.Repeat([]byte("x"), 70000)))
	if resp, body := c.response("POST"); resp.StatusCode != 413 || !strings.Contains(body, "too large") {
		t.Fatalf("chunked too large: %d %q", resp.StatusCode, body)
	}

	// A bad signature with a large declared body: refused after the
	// headers, while the body has not been sent.
	c = dial(t, addr)
	bad := strings.Replace(p.Query, "signature=", "signature=0", 1)
	c.write(fmt.Sprintf("POST /wechat?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", bad, 60000))
	if resp, _ := c.response("POST"); resp.StatusCode != 403 || !resp.Close {
		t.Fatalf("unauthenticated: %d close=%v", resp.StatusCode, resp.Close)
	}

	// A request fasthttp cannot parse is answered 400 and logged without
	// its bytes (the query's signatures).
	c = dial(t, addr)
	c.write("POST /wechat?" + p.Query + " HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
	if resp, _ := c.response("POST"); resp.StatusCode != 400 {
		t.Fatalf("unparsable: %d", resp.StatusCode)
	}
	time.Sleep(100 * time.Millisecond)
	if !strings.Contains(logs.String(), "error when serving connection") || strings.Contains(logs.String(), "signature=") {
		t.Fatalf("the query was logged:\n%s", logs.String())
	}
}

// A client that sends its request slowly is cut off at http.read_timeout.
func TestServeFastSlowloris(t *testing.T) {
	_, addr, acct, _ := startFast(t, map[string]string{"WXBOT_HTTP_READ_TIMEOUT": "1s"})
	p := push(t, acct, "最新")

	c := dial(t, addr)
	c.write("POST /wechat?" + p.Query + " HTTP/1.1\r\nHost: x\r\n")
	start := time.Now()
	if !c.closed() {
		t.Fatal("headers trickling: connection not closed")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("closed after %v", d)
	}

	// Headers in, the body trickles.
	c = dial(t, addr)
	c.write(fmt.Sprintf("POST /wechat?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", p.Query, 20000))
	c.write(strings.Repeat("x", 9000))
	start = time.Now()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: "POST"})
	if err == nil {
		if resp.StatusCode < 400 {
			t.Fatalf("trickled body answered %d", resp.StatusCode)
		}
		resp.Body.Close()
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("trickled body held %v", d)
	}
}

// Close drains: a request in flight is answered, new connections are refused.
func TestServeFastDrain(t *testing.T) {
	m, addr, acct, _ := startFast(t, nil)
	p := push(t, acct, "最新")
	c := dial(t, addr)
	half := len(p.Body) / 2
	c.write(fmt.Sprintf("POST /wechat?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", p.Query, len(p.Body), p.Body[:half]))
	time.Sleep(200 * time.Millisecond) // the server is reading the body
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	time.Sleep(300 * time.Millisecond)
	if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		nc.Close()
		t.Fatal("a new connection was accepted while draining")
	}
	c.write(string(p.Body[half:]))
	resp, body := c.response("POST")
	if r, err := acct.Open(resp.StatusCode, []byte(body)); err != nil || !strings.Contains(r.Content, "No.55") {
		t.Fatalf("in-flight push: %d %q %v", resp.StatusCode, body, err)
	}
	if !resp.Close {
		t.Fatal("the drained answer does not close the connection")
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}
