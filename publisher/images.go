package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/wechat"
)

// WeChat's upload limits (WECHAT.md §5).
const (
	maxContentImage = 1 << 20  // media/uploadimg: jpg/png under 1 MB
	maxMaterial     = 10 << 20 // material/add_material image: up to 10 MB
)

// imageFormat recognises png, jpeg, gif and bmp by their magic bytes.
func imageFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case bytes.HasPrefix(b, []byte("BM")):
		return "bmp"
	}
	return ""
}

var extOf = map[string]string{"png": ".png", "jpeg": ".jpg", "gif": ".gif", "bmp": ".bmp"}

// cached looks an upload up by kind and content hash; uploads are cached
// so a resumed or edited issue does not upload the same bytes again.
func (p *Publisher) cached(ctx context.Context, field string, out any) (bool, error) {
	raw, err := p.rdb.HGet(ctx, p.keys.PublishMedia(), field).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("publisher: upload cache: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		return false, nil // an unreadable entry is uploaded again
	}
	return true, nil
}

func (p *Publisher) cache(ctx context.Context, field string, v any) error {
	b, _ := json.Marshal(v)
	if err := p.rdb.HSet(ctx, p.keys.PublishMedia(), field, b).Err(); err != nil {
		return fmt.Errorf("publisher: upload cache: %w", err)
	}
	return nil
}

// cover uploads the issue's cover (publish.cover, or one drawn for the
// issue) as a permanent image material and returns its media_id, which
// every article uses as thumb_media_id.
func (r *run) cover(iss *newsletter.Issue) (mediaID string, hit bool, err error) {
	p := r.p
	var data []byte
	var name string
	if path := p.cfg.Cover; path != "" {
		data, err = readLimited(path, maxMaterial)
		if err != nil {
			return "", false, fmt.Errorf("publish.cover %s: %w", path, err)
		}
		f := imageFormat(data)
		if f == "" {
			return "", false, fmt.Errorf("publish.cover %s: not a JPEG, PNG, GIF or BMP image", path)
		}
		name = "cover" + extOf[f]
	} else {
		data, err = drawCover(iss, p.renderCf.Theme.Color)
		if err != nil {
			return "", false, fmt.Errorf("draw cover: %w", err)
		}
		name = fmt.Sprintf("cover-no%d.jpg", iss.Number)
	}
	field := "cover:" + contentHash(data)
	var m wechat.Material
	if ok, err := p.cached(r.ctx, field, &m); err != nil {
		return "", false, err
	} else if ok && m.MediaID != "" {
		return m.MediaID, true, nil
	}
	m, err = p.api.AddMaterial(r.ctx, wechat.MaterialImage, name, data)
	if err != nil {
		return "", false, err
	}
	return m.MediaID, false, p.cache(r.ctx, field, m)
}

// forgetCover drops the cached cover, so the next run uploads it again.
func (r *run) forgetCover() {
	all, err := r.p.rdb.HGetAll(r.ctx, r.p.keys.PublishMedia()).Result()
	if err != nil {
		return
	}
	for k, v := range all {
		var m wechat.Material
		if strings.HasPrefix(k, "cover:") && json.Unmarshal([]byte(v), &m) == nil && m.MediaID == r.rec.CoverMediaID {
			_ = r.p.rdb.HDel(r.ctx, r.p.keys.PublishMedia(), k).Err()
		}
	}
}

// image uploads one image of the issue's paragraphs (media/uploadimg) and
// returns the URL its src is replaced with.
func (r *run) image(src string) (url string, hit bool, err error) {
	data, err := r.fetch(src)
	if err != nil {
		return "", false, fmt.Errorf("image %s: %w", src, err)
	}
	f := imageFormat(data)
	if f != "png" && f != "jpeg" {
		return "", false, fmt.Errorf("image %s: WeChat takes JPEG or PNG images in articles (this is %s)", src, orUnknown(f))
	}
	if len(data) >= maxContentImage {
		return "", false, fmt.Errorf("image %s is %d KB: WeChat takes article images under 1 MB; make it smaller", src, len(data)>>10)
	}
	h := contentHash(data)
	field := "img:" + h
	var u string
	if ok, err := r.p.cached(r.ctx, field, &u); err != nil {
		return "", false, err
	} else if ok && u != "" {
		return u, true, nil
	}
	u, err = r.p.api.UploadImage(r.ctx, "img-"+h[:12]+extOf[f], data)
	if err != nil {
		return "", false, err
	}
	return u, false, r.p.cache(r.ctx, field, u)
}

func orUnknown(f string) string {
	if f == "" {
		return "not an image WeChat knows"
	}
	return f
}

// Where an issue's images may come from. An issue file is content, not
// configuration: whoever can put one in the inbox or the workbench must
// not make wxbot read its other files or reach the machines beside it.
// Remote images are fetched over http(s) from public addresses only —
// checked on the connected IP (so DNS answers and redirects are covered),
// at most maxRedirects hops, within imageTimeout, through no proxy; with
// publish.image_hosts set, only from those hosts. Local images are paths
// relative to the issue's folder that stay inside it, symlinks included.
// Errors name the image and a generic reason, never what the address
// answered, so the status page is no probe of other machines.
const (
	imageTimeout     = 15 * time.Second
	imageDialTimeout = 5 * time.Second
	maxRedirects     = 3
)

// The reasons an image is refused, as `wxbot status` shows them.
var (
	errNotPublic      = errors.New("not a public address")
	errHostNotAllowed = errors.New("its host is not one of publish.image_hosts")
	errScheme         = errors.New("only http(s) URLs and paths relative to the issue's folder are accepted")
	errRedirects      = errors.New("too many redirects")
	errNotFound       = errors.New("not found")
	errTooLarge       = errors.New("too large (WeChat takes article images under 1 MB)")
	errUnreachable    = errors.New("could not be downloaded")
	errAbsolute       = errors.New("absolute paths are not accepted: put the image in the issue's folder and refer to it relatively")
	errOutside        = errors.New("outside the issue's folder")
	errNotFile        = errors.New("not a regular file")
	errUnreadable     = errors.New("cannot be read from the issue's folder")
)

// imageClient builds the client for remote images: every connection is
// checked with allowedIP on the address actually dialled, every redirect
// with the allowed hosts. allowAddrs are ip:port dial targets allowed
// although not public: for tests serving images on loopback, never set
// from configuration.
func imageClient(hosts []string, allowAddrs []string) *http.Client {
	allowed := map[string]bool{}
	for _, a := range allowAddrs {
		allowed[a] = true
	}
	dialer := &net.Dialer{
		Timeout: imageDialTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || (network != "tcp4" && network != "tcp6") {
				return errNotPublic
			}
			if allowed[address] || publicIP(ap.Addr()) {
				return nil
			}
			return errNotPublic
		},
	}
	return &http.Client{
		Timeout: imageTimeout,
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would connect wherever it is told: fetched directly
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    imageDialTimeout,
			ResponseHeaderTimeout:  imageTimeout,
			MaxResponseHeaderBytes: 64 << 10,
			MaxIdleConns:           4,
			IdleConnTimeout:        30 * time.Second,
			ForceAttemptHTTP2:      true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return errRedirects
			}
			return checkImageURL(req.URL, hosts)
		},
	}
}

// checkImageURL checks a remote image's URL, the first or a redirect's.
func checkImageURL(u *url.URL, hosts []string) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return errScheme
	}
	if u.Hostname() == "" {
		return errNotPublic
	}
	if len(hosts) > 0 && !hostAllowed(u.Hostname(), hosts) {
		return errHostNotAllowed
	}
	return nil
}

// hostAllowed matches a host against publish.image_hosts: a name as
// written, or "*.example.com" for the subdomains of example.com.
func hostAllowed(host string, hosts []string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

// nonPublic are the ranges publicIP refuses beyond what netip classifies:
// shared address space (CGNAT), "this network", IETF protocol
// assignments, documentation and benchmarking, reserved and broadcast;
// IPv6 translation and tunnelling prefixes that embed an IPv4 address
// (NAT64, 6to4, Teredo), IPv4-compatible, discard-only, documentation and
// the old site-local range.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
		"::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32",
		"2002::/16", "fec0::/10",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// publicIP reports whether ip is a public unicast address: not loopback,
// private (RFC 1918, ULA), link-local, unspecified, multicast, CGNAT or
// another special-purpose range.
func publicIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() ||
		ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// fetch reads an image: an http(s) URL from a public address, or a path
// relative to the issue file's folder.
func (r *run) fetch(src string) ([]byte, error) {
	lower := strings.ToLower(strings.TrimSpace(src))
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return r.download(strings.TrimSpace(src))
	}
	if strings.Contains(src, "://") || strings.HasPrefix(lower, "data:") || strings.HasPrefix(lower, "file:") {
		return nil, errScheme
	}
	if newsletter.IsWord(r.rec.File, r.rec.Source) {
		// A Word issue's pictures are inside it (word/media/…).
		data, err := newsletter.WordMedia(r.rec.Source, src, maxContentImage)
		if err != nil {
			return nil, errors.New(strings.TrimPrefix(err.Error(), "docx: "))
		}
		return data, nil
	}
	return readInFolder(r.rec.Dir, src, maxContentImage)
}

// download fetches a remote image; the details of a refusal go to the
// log, the generic reason to the editor.
func (r *run) download(src string) ([]byte, error) {
	p := r.p
	u, err := url.Parse(src)
	if err != nil {
		return nil, errScheme
	}
	if err := checkImageURL(u, p.cfg.ImageHosts); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errScheme
	}
	req.Header.Set("Accept", "image/png, image/jpeg")
	resp, err := p.http.Do(req)
	if err != nil {
		p.log.Info("publisher: image download refused or failed", slog.Int("issue", r.rec.Number), slog.String("image", src), slog.Any("error", err))
		for _, known := range []error{errNotPublic, errHostNotAllowed, errScheme, errRedirects} {
			if errors.Is(err, known) {
				return nil, known
			}
		}
		if r.ctx.Err() != nil {
			return nil, r.ctx.Err()
		}
		return nil, errUnreachable
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, errNotFound
	case resp.StatusCode != http.StatusOK:
		p.log.Info("publisher: image download failed", slog.Int("issue", r.rec.Number), slog.String("image", src), slog.Int("http_status", resp.StatusCode))
		return nil, errUnreachable
	case resp.ContentLength > maxContentImage:
		return nil, errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxContentImage+1))
	if err != nil {
		p.log.Info("publisher: image download failed", slog.Int("issue", r.rec.Number), slog.String("image", src), slog.Any("error", err))
		return nil, errUnreachable
	}
	if len(data) > maxContentImage {
		return nil, errTooLarge
	}
	return data, nil
}

// readInFolder reads the image at the relative path src inside dir, at
// most limit bytes. Symlinks are followed only while they stay in dir
// (os.Root); a FIFO or device is refused without blocking on it.
func readInFolder(dir, src string, limit int64) ([]byte, error) {
	path := filepath.FromSlash(src)
	if filepath.IsAbs(path) || strings.HasPrefix(src, "/") || strings.HasPrefix(src, `\`) || filepath.VolumeName(path) != "" {
		return nil, errAbsolute
	}
	if !filepath.IsLocal(path) {
		return nil, errOutside
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, errUnreadable
	}
	defer root.Close()
	f, err := root.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errNotFound
		}
		return nil, errUnreadable // among others: a symlink out of the folder
	}
	defer f.Close()
	return readRegular(f, limit)
}

// readRegular reads an open file that must be a regular one of at most
// limit bytes, through a limit in case it grows.
func readRegular(f *os.File, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, errUnreadable
	}
	if !fi.Mode().IsRegular() {
		return nil, errNotFile
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("larger than WeChat's %d MB limit", max(limit>>20, 1))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, errUnreadable
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than WeChat's %d MB limit", max(limit>>20, 1))
	}
	return data, nil
}

// readLimited reads the file at path (publish.cover, which the operator
// configures) the same way: a regular file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no such file %s", path)
		}
		return nil, err
	}
	defer f.Close()
	return readRegular(f, limit)
}
