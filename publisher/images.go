package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

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

// fetch reads an image: an http(s) URL with a size limit and the client's
// timeout, or a path relative to the issue file's folder.
func (r *run) fetch(src string) ([]byte, error) {
	lower := strings.ToLower(src)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, err
		}
		resp, err := r.p.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("download: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("download: HTTP %s", resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxContentImage+1))
		if err != nil {
			return nil, fmt.Errorf("download: %w", err)
		}
		return data, nil
	}
	if strings.Contains(src, "://") {
		return nil, errors.New("only http(s) URLs and file paths are supported")
	}
	path := filepath.FromSlash(src)
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.rec.Dir, path)
	}
	return readLimited(path, maxContentImage)
}

// readLimited reads at most limit+1 bytes, so an oversized file is
// reported without being read whole.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no such file %s", path)
		}
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than WeChat's %d MB limit", limit>>20)
	}
	return data, nil
}
