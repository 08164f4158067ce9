package publisher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
)

// imageServer is a real HTTP server on loopback that records every
// request it gets: a PNG at /img.png, redirects at /to?u=URL, a
// secret at /secret (what must never reach the status page), large
// images at /big and /big-chunked, errors at /missing and /broken.
type imageServer struct {
	*httptest.Server
	png []byte

	mu   sync.Mutex
	hits []string
}

func newImageServer(t *testing.T) *imageServer {
	t.Helper()
	s := &imageServer{png: testPNG(t, 40, 30, color.RGBA{10, 80, 200, 255})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits = append(s.hits, r.URL.Path)
		s.mu.Unlock()
		switch r.URL.Path {
		case "/img.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(s.png)
		case "/to":
			http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/secret":
			http.Error(w, "internal admin console: password hunter2", http.StatusForbidden)
		case "/big":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(append(s.png, make([]byte, 2<<20)...))
		case "/big-chunked":
			w.Header().Set("Content-Type", "image/png")
			for i := 0; i < 40; i++ {
				_, _ = w.Write(make([]byte, 64<<10))
				w.(http.Flusher).Flush()
			}
		case "/missing":
			http.NotFound(w, r)
		default:
			http.Error(w, "boom: stack trace of the internal service", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *imageServer) addr() string { return strings.TrimPrefix(s.URL, "http://") }

func (s *imageServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hits)
}

// withImage is the example issue No.55 with its image reference replaced.
func withImage(t *testing.T, ref string) []byte {
	t.Helper()
	data := example(t, "newsletter-no55.md")
	out := bytes.Replace(data, []byte("(images/miit-batch4.png)"), []byte("("+ref+")"), 1)
	if bytes.Equal(out, data) {
		t.Fatal("the example has no image reference to replace")
	}
	return out
}

// allowLoopback lets a publisher fetch images from these test servers,
// as no configuration can.
func allowLoopback(servers ...*imageServer) func(*Options) {
	return func(o *Options) {
		for _, s := range servers {
			o.imageAllowAddrs = append(o.imageAllowAddrs, s.addr())
		}
	}
}

// An image reference to loopback (here a redirect on a real server) is
// not fetched at all — the server sees no request — and the issue fails
// with the image and a generic reason in `wxbot status`.
func TestImageOnLoopbackNotFetched(t *testing.T) {
	e := newEnv(t)
	srv := newImageServer(t)
	cli := e.publisher("cli")
	ref := srv.URL + "/to?u=/secret"
	_, err := cli.Publish(context.Background(), e.request(e.write("no55.md", withImage(t, ref)), GoalDraft))
	if err == nil {
		t.Fatal("an issue with a loopback image was drafted")
	}
	rec := e.record(cli, 55)
	if rec.State != StateFailed || !strings.Contains(rec.Error, "image "+ref+": not a public address") {
		t.Fatalf("state %s, error %q", rec.State, rec.Error)
	}
	if n := srv.count(); n != 0 {
		t.Fatalf("the loopback server got %d requests: %v", n, srv.hits)
	}
	if e.calls("media/uploadimg") != 0 {
		t.Fatal("something was uploaded")
	}
}

// The same issue with the image on an allowed server (the test-only
// opt-in) is uploaded to WeChat and the article shows WeChat's URL.
func TestImageFromServerUploaded(t *testing.T) {
	e := newEnv(t)
	srv := newImageServer(t)
	cli := e.publisher("cli", allowLoopback(srv))
	res, err := cli.Publish(context.Background(), e.request(e.write("no55.md", withImage(t, srv.URL+"/to?u=/img.png")), GoalDraft))
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.State != StateDrafted || len(res.Record.Images) != 1 || e.calls("media/uploadimg") != 1 {
		t.Fatalf("state %s, images %v, %d uploads", res.Record.State, res.Record.Images, e.calls("media/uploadimg"))
	}
	for _, u := range res.Record.Images {
		if !strings.HasPrefix(u, e.sb.URL+"/sandbox/media/") {
			t.Fatalf("image URL %q is not WeChat's", u)
		}
	}
}

// fetchWith runs the image step's fetch for one reference, in a folder.
func fetchWith(p *Publisher, dir, src string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := &run{p: p, ctx: ctx, rec: &Record{Number: 55, Dir: dir}}
	return r.fetch(src)
}

// Remote images: only from public addresses (or, in tests, the allowed
// server) and, with publish.image_hosts, only those hosts — redirects
// included; size and redirect limits; the reasons are generic, never the
// server's own words.
func TestRemoteImageRules(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.noWebhook = true })
	allowed, other := newImageServer(t), newImageServer(t)
	p := e.publisher("cli", allowLoopback(allowed))
	port := allowed.URL[strings.LastIndexByte(allowed.URL, ':')+1:]
	otherPort := other.URL[strings.LastIndexByte(other.URL, ':')+1:]
	hosts := e.publisher("cli", allowLoopback(allowed), func(o *Options) { o.Publish.ImageHosts = []string{"localhost"} })

	for _, c := range []struct {
		name, src string
		p         *Publisher
		want      error // nil: the PNG
		otherHits bool
	}{
		{"allowed server", allowed.URL + "/img.png", p, nil, false},
		{"redirect within it", allowed.URL + "/to?u=/img.png", p, nil, false},
		{"another loopback port", other.URL + "/img.png", p, errNotPublic, false},
		{"redirect to another loopback port", allowed.URL + "/to?u=" + other.URL + "/img.png", p, errNotPublic, false},
		{"redirect to localhost", allowed.URL + "/to?u=http://localhost:" + otherPort + "/img.png", p, errNotPublic, false},
		{"redirect to cloud metadata", allowed.URL + "/to?u=http://169.254.169.254/latest/meta-data/", p, errNotPublic, false},
		{"redirect to a private address", allowed.URL + "/to?u=http://10.0.0.1/img.png", p, errNotPublic, false},
		{"redirect to file:", allowed.URL + "/to?u=file:///etc/passwd", p, errScheme, false},
		{"redirect loop", allowed.URL + "/loop", p, errRedirects, false},
		{"unspecified address", "http://0.0.0.0:" + port + "/img.png", p, errNotPublic, false},
		{"IPv6 loopback", "http://[::1]:" + port + "/img.png", p, errNotPublic, false},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:" + otherPort + "/img.png", p, errNotPublic, false},
		{"too large", allowed.URL + "/big", p, errTooLarge, false},
		{"too large, no length", allowed.URL + "/big-chunked", p, errTooLarge, false},
		{"not found", allowed.URL + "/missing", p, errNotFound, false},
		{"refused with a message", allowed.URL + "/secret", p, errUnreachable, false},
		{"server error", allowed.URL + "/broken", p, errUnreachable, false},
		{"other scheme", "ftp://example.com/img.png", p, errScheme, false},
		{"listed host", "http://localhost:" + port + "/img.png", hosts, nil, false},
		{"unlisted host", allowed.URL + "/img.png", hosts, errHostNotAllowed, false},
		{"redirect to an unlisted host", "http://localhost:" + port + "/to?u=" + allowed.URL + "/img.png", hosts, errHostNotAllowed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := other.count()
			data, err := fetchWith(c.p, t.TempDir(), c.src)
			switch {
			case c.want == nil && (err != nil || !bytes.Equal(data, allowed.png)):
				t.Fatalf("got %d bytes, %v; want the PNG", len(data), err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("got %d bytes, %v; want %v", len(data), err, c.want)
			}
			if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "stack trace") || strings.Contains(err.Error(), "403")) {
				t.Fatalf("the error shows what the server answered: %v", err)
			}
			if n := other.count() - before; n != 0 {
				t.Fatalf("the refused server got %d requests", n)
			}
		})
	}
}

// Local images: relative paths that stay in the folder only — no
// absolute path, no way out by .. or a symlink, no FIFO or device.
func TestLocalImageRules(t *testing.T) {
	e := newEnv(t, func(o *envOpts) { o.noWebhook = true })
	p := e.publisher("cli")
	base := t.TempDir()
	dir := filepath.Join(base, "issue")
	png := testPNG(t, 20, 20, color.RGBA{0, 0, 0, 255})
	outside := filepath.Join(base, "outside.png")
	for path, data := range map[string][]byte{
		filepath.Join(dir, "images", "ok.png"): png,
		outside:                                png,
		filepath.Join(dir, "big.png"):          make([]byte, 2<<20),
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustSymlink(t, outside, filepath.Join(dir, "images", "abs-link.png"))
	mustSymlink(t, "../../outside.png", filepath.Join(dir, "images", "rel-link.png"))
	mustSymlink(t, "ok.png", filepath.Join(dir, "images", "inside-link.png"))
	mustSymlink(t, "/dev/zero", filepath.Join(dir, "zero.png"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.png"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		src  string
		want error
	}{
		{"images/ok.png", nil},
		{"./images/ok.png", nil},
		{"images/inside-link.png", nil},
		{outside, errAbsolute},
		{"/etc/passwd", errAbsolute},
		{"../outside.png", errOutside},
		{"images/../../outside.png", errOutside},
		{"images/abs-link.png", errUnreadable},
		{"images/rel-link.png", errUnreadable},
		{"zero.png", errUnreadable},
		{"fifo.png", errNotFile},
		{"images/nope.png", errNotFound},
		{"file://" + outside, errScheme},
	} {
		t.Run(c.src, func(t *testing.T) {
			done := make(chan struct{})
			var data []byte
			var err error
			go func() {
				defer close(done)
				data, err = fetchWith(p, dir, c.src)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("reading the image hangs")
			}
			switch {
			case c.want == nil && (err != nil || !bytes.Equal(data, png)):
				t.Fatalf("got %d bytes, %v; want the PNG", len(data), err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("got %d bytes, %v; want %v", len(data), err, c.want)
			}
		})
	}
	if _, err := fetchWith(p, dir, "big.png"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a 2 MB file: %v", err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// End to end: an issue whose image is an absolute path outside its
// folder fails before anything is read or uploaded.
func TestImageOutsideFolderRefused(t *testing.T) {
	e := newEnv(t)
	cli := e.publisher("cli")
	secret := filepath.Join(t.TempDir(), "secret.png")
	if err := os.WriteFile(secret, testPNG(t, 10, 10, color.Black), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Publish(context.Background(), e.request(e.write("no55.md", withImage(t, secret)), GoalDraft)); err == nil {
		t.Fatal("drafted")
	}
	rec := e.record(cli, 55)
	if rec.State != StateFailed || !strings.Contains(rec.Error, fmt.Sprintf("image %s: absolute paths are not accepted", secret)) {
		t.Fatalf("state %s, error %q", rec.State, rec.Error)
	}
	if e.calls("media/uploadimg") != 0 {
		t.Fatal("the file outside the folder was uploaded")
	}
}

func TestPublicIP(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2001:4860:4860::8888": true, "203.0.114.1": true,
		"127.0.0.1": false, "127.8.9.10": false, "::1": false, "0.0.0.0": false, "::": false,
		"10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "fd12:3456::1": false,
		"100.64.0.1": false, "100.127.255.254": false, "224.0.0.1": false, "ff02::1": false,
		"255.255.255.255": false, "::ffff:10.0.0.1": false, "::ffff:127.0.0.1": false,
		"64:ff9b::a00:1": false, "2002:a00:1::": false, "192.0.2.1": false, "240.0.0.1": false,
	} {
		if got := publicIP(netip.MustParseAddr(s)); got != want {
			t.Errorf("publicIP(%s) = %v, want %v", s, got, want)
		}
	}
}

// publish.image_hosts is checked by config validation too.
func TestImageHostsValidated(t *testing.T) {
	cfg, err := config.Load(config.Options{Env: func(k string) (string, bool) {
		if k == "WXBOT_PUBLISH_IMAGE_HOSTS" {
			return "images.example.com, https://evil.example/x", true
		}
		return "", false
	}})
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "publish.image_hosts") {
		t.Fatalf("an image host with a scheme and path: %v", err)
	}
}
