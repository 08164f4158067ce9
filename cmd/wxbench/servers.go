package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/bot"
	"github.com/lifang/wxbot/bot/refserver"
	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/inbox"
	"github.com/lifang/wxbot/metrics"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/store"
)

// The bench account: fixed, so runs compare; it never leaves loopback.
const (
	benchToken  = "wxbotBenchToken"
	benchAppID  = "wxbench000000000"
	benchAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	benchUser   = "gh_bench"
	webhookPath = "/wechat"
)

func benchAccount() wechatsim.Account {
	return wechatsim.Account{Token: benchToken, AppID: benchAppID, AESKey: benchAESKey, UserName: benchUser}
}

// loopbackAddr checks that addr is host:port on loopback.
func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError{fmt.Sprintf("%q is not host:port", addr)}
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return usageError{fmt.Sprintf("%s is not a loopback address: wxbench only loads this machine", addr)}
	}
	return nil
}

// serveUntilDone serves srv on addr until ctx ends, then drains it.
func serveUntilDone(ctx context.Context, addr string, srv *http.Server) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func newHTTPServer(h http.Handler) *http.Server {
	mux := http.NewServeMux()
	mux.Handle(webhookPath, h)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
}

func newServeRefCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve-ref",
		Short: "Serve the SDK reference (bot/refserver on silenceper/wechat) on a loopback address",
		Long: `serve-ref is the reference server wxbench measures against, run as its own
process: silenceper/wechat's officialaccount/server as its documentation uses
it, answering with wxbot's chat code (the built-in example issues) and no
Redis — no dedupe, no sessions. wxbench starts it; run it by hand only to
look at it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, _ := cmd.Flags().GetString("addr")
			if err := loopbackAddr(addr); err != nil {
				return err
			}
			h, closeRef, err := newReference(cmd.Context())
			if err != nil {
				return err
			}
			defer closeRef()
			return serveUntilDone(cmd.Context(), addr, newHTTPServer(h))
		},
	}
	cmd.Flags().String("addr", "127.0.0.1:8091", "loopback listen address")
	return cmd
}

// newReference builds the SDK reference: the chat of a bot over the
// example issues (held in an embedded store that the requests never
// touch: ReplyTo is the chat without Redis).
func newReference(ctx context.Context) (http.Handler, func(), error) {
	cfg, err := config.Load(config.Options{File: os.DevNull, Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		return nil, nil, err
	}
	cfg.WeChat.Token, cfg.WeChat.AppID, cfg.WeChat.EncodingAESKey = benchToken, benchAppID, benchAESKey
	cfg.WeChat.MessageMode = string(wechatsim.Safe)
	s, err := store.Open(ctx, cfg.Redis, nil)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.DiscardHandler)
	arch := archive.New(archive.Options{Redis: s.UniversalClient, Keys: s.Keys, Log: log})
	if err := inbox.New(inbox.Options{FS: examples.FS, Parse: newsletter.Parse, Archive: arch, Log: log}).Load(ctx); err != nil {
		_ = s.Close()
		return nil, nil, fmt.Errorf("serve-ref: load examples: %w", err)
	}
	b, err := bot.New(bot.Options{Config: cfg, Redis: s.UniversalClient, Keys: s.Keys, Archive: arch, Metrics: metrics.New(), Log: log})
	if err != nil {
		_ = s.Close()
		return nil, nil, err
	}
	return refserver.New(benchAppID, benchToken, benchAESKey, b.ReplyTo), func() {
		b.Close(context.Background())
		_ = s.Close()
	}, nil
}

// addFloorFlags gives a floor its two flags: where it listens (loopback
// only, addr by default) and the body it answers.
func addFloorFlags(cmd *cobra.Command, addr string) {
	cmd.Flags().String("addr", addr, "loopback listen address")
	cmd.Flags().String("reply-file", "", "the body to answer (default: success)")
}

// floorFlags reads them: the loopback address and the fixed answer.
func floorFlags(cmd *cobra.Command) (addr string, body []byte, err error) {
	addr, _ = cmd.Flags().GetString("addr")
	if err := loopbackAddr(addr); err != nil {
		return "", nil, err
	}
	path, _ := cmd.Flags().GetString("reply-file")
	if path == "" {
		return addr, []byte("success"), nil
	}
	body, err = os.ReadFile(path)
	return addr, body, err
}

func newServeHTTPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve-http",
		Short: "Serve the net/http floor: read the request, answer a fixed reply",
		Long: `serve-http does no work at all: net/http reads each request and answers the
reply in --reply-file (wxbench records one of wxbot's), so the load client,
net/http and loopback TCP move the same bytes as for the servers measured.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, body, err := floorFlags(cmd)
			if err != nil {
				return err
			}
			length := strconv.Itoa(len(body))
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/xml; charset=utf-8")
				w.Header().Set("Content-Length", length)
				_, _ = w.Write(body)
			})
			return serveUntilDone(cmd.Context(), addr, newHTTPServer(h))
		},
	}
	addFloorFlags(cmd, "127.0.0.1:8092")
	return cmd
}

func newServeTCPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve-tcp",
		Short: "Serve the bare-TCP floor: a fixed HTTP/1.1 reply written straight to the socket",
		Long: `serve-tcp is the least an HTTP server can do: per connection it reads the
request head up to the blank line, skips Content-Length bytes of body and
writes a fixed, pre-serialised HTTP/1.1 response. What remains is the load
client, the kernel's loopback TCP and Go's network poller.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, body, err := floorFlags(cmd)
			if err != nil {
				return err
			}
			return serveTCP(cmd.Context(), addr, body)
		},
	}
	addFloorFlags(cmd, "127.0.0.1:8093")
	return cmd
}

// serveTCP answers every request on addr with body until ctx ends.
func serveTCP(ctx context.Context, addr string, body []byte) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/xml; charset=utf-8\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"), body...)
	var conns sync.Map
	go func() {
		<-ctx.Done()
		_ = ln.Close()
		conns.Range(func(k, _ any) bool { _ = k.(net.Conn).Close(); return true })
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		conns.Store(c, nil)
		go func() {
			defer conns.Delete(c)
			defer c.Close()
			_ = answerFixed(c, resp)
		}()
	}
}

// answerFixed reads requests from c (head, then Content-Length bytes) and
// writes resp after each.
func answerFixed(c net.Conn, resp []byte) error {
	br := bufio.NewReaderSize(c, 16<<10)
	for {
		length := 0
		for first := true; ; first = false {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(line) <= 2 {
				if first {
					continue // a stray CRLF between requests
				}
				break
			}
			if len(line) > 16 && bytes.EqualFold(line[:15], []byte("Content-Length:")) {
				n, err := strconv.Atoi(string(bytes.TrimSpace(line[15:])))
				if err != nil || n < 0 || n > 1<<20 {
					return fmt.Errorf("bad Content-Length %q", line)
				}
				length = n
			}
		}
		if _, err := br.Discard(length); err != nil {
			return err
		}
		if _, err := c.Write(resp); err != nil {
			return err
		}
	}
}
