package sandbox

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WeChat's content limits (WECHAT.md §5).
const (
	maxTitle        = 32 // characters
	maxAuthor       = 16
	maxDigest       = 128
	maxContentChars = 20000
	maxContentBytes = 1 << 20
	maxSourceURL    = 1024 // bytes
	maxArticles     = 8
	maxUploadImg    = 1 << 20
	maxImage        = 10 << 20
	maxThumb        = 64 << 10
)

// upload is the "media" file of a multipart request.
type upload struct {
	filename string
	data     []byte
}

// parseUpload reads the "media" part from an already-read body.
func parseUpload(r *http.Request, body []byte) (*upload, bool) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, false
		}
		if part.FormName() != "media" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, maxBody))
		if err != nil {
			return nil, false
		}
		return &upload{filename: part.FileName(), data: data}, true
	}
}

// imageFormat recognises an image by its magic bytes.
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

func extFormat(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".png":
		return "png"
	case ".jpg", ".jpeg":
		return "jpeg"
	case ".gif":
		return "gif"
	case ".bmp":
		return "bmp"
	}
	return ""
}

// storeMedia keeps uploaded bytes and returns a URL the sandbox serves them at.
func (s *Server) storeMedia(c *apiCall, data []byte) (id, u string) {
	sum := sha1.Sum(data)
	id = hex.EncodeToString(sum[:10]) + randomHex(4)
	s.st.media[id] = data
	return id, c.host + "/sandbox/media/" + id
}

// handleUploadImg is media/uploadimg: jpg/png under 1 MB, for use inside content.
func (s *Server) handleUploadImg(c *apiCall) answer {
	up, found := parseUpload(c.r, c.body)
	if !found || len(up.data) == 0 {
		return fail(41005, "media data missing (multipart field \"media\")")
	}
	if len(up.data) >= maxUploadImg {
		return fail(40009, fmt.Sprintf("invalid image size: %d bytes, media/uploadimg takes under 1 MB", len(up.data)))
	}
	format := imageFormat(up.data)
	if (format != "png" && format != "jpeg") || extFormat(up.filename) != format {
		return fail(40005, fmt.Sprintf("invalid file type: media/uploadimg takes jpg or png (file %q looks like %q)", up.filename, format))
	}
	_, u := s.storeMedia(c, up.data)
	s.st.images[u] = true
	return answer{json: map[string]any{"url": u}}
}

// handleAddMaterial is material/add_material for image and thumb.
func (s *Server) handleAddMaterial(c *apiCall) answer {
	typ := c.r.URL.Query().Get("type")
	up, found := parseUpload(c.r, c.body)
	if typ != "image" && typ != "thumb" {
		return fail(40004, fmt.Sprintf("invalid media type %q: the sandbox takes image and thumb", typ))
	}
	if !found || len(up.data) == 0 {
		return fail(41005, "media data missing (multipart field \"media\")")
	}
	format := imageFormat(up.data)
	switch typ {
	case "image":
		if len(up.data) > maxImage {
			return fail(40009, fmt.Sprintf("invalid image size: %d bytes, images are at most 10 MB", len(up.data)))
		}
		if format == "" || extFormat(up.filename) != format {
			return fail(40005, fmt.Sprintf("invalid file type: image material is bmp/png/jpeg/gif (file %q looks like %q)", up.filename, format))
		}
	case "thumb":
		if len(up.data) > maxThumb {
			return fail(40012, fmt.Sprintf("invalid thumb size: %d bytes, thumbs are at most 64 KB", len(up.data)))
		}
		if format != "jpeg" || extFormat(up.filename) != "jpeg" {
			return fail(40005, fmt.Sprintf("invalid file type: thumb material is JPG (file %q looks like %q)", up.filename, format))
		}
	}
	_, u := s.storeMedia(c, up.data)
	mediaID := randomToken("SBX_MAT_", 24)
	s.st.materials[mediaID] = &material{Type: typ, URL: u, Size: len(up.data)}
	return ok(map[string]any{"media_id": mediaID, "url": u})
}

var (
	scriptRe   = regexp.MustCompile(`(?i)<\s*script|<\s*style|javascript:`)
	imgSrcRe   = regexp.MustCompile(`(?i)<img[^>]*?\ssrc\s*=\s*["']?([^"'\s>]+)`)
	anchorRe   = regexp.MustCompile(`(?i)<a[^>]*?\shref\s*=\s*["']?([^"'\s>]+)`)
	tagRe      = regexp.MustCompile(`<[^>]*>`)
	spaceRunRe = regexp.MustCompile(`\s+`)
)

// validateArticle checks one article the way draft/add does. The sandbox
// is stricter than WeChat on content: WeChat silently strips scripts,
// <style>, external links and foreign images; the sandbox refuses them
// (45166) so a rendering mistake shows in tests instead of in subscribers' phones.
func (s *Server) validateArticle(i int, a *Article) *answer {
	bad := func(code int, format string, args ...any) *answer {
		r := fail(code, fmt.Sprintf("article %d: ", i)+fmt.Sprintf(format, args...))
		return &r
	}
	if strings.TrimSpace(a.Title) == "" {
		return bad(44003, "empty news data: title is required")
	}
	if n := utf8.RuneCountInString(a.Title); n > maxTitle {
		return bad(45003, "title size out of limit: %d characters, at most %d", n, maxTitle)
	}
	if n := utf8.RuneCountInString(a.Author); n > maxAuthor {
		return bad(45110, "author size out of limit: %d characters, at most %d", n, maxAuthor)
	}
	if n := utf8.RuneCountInString(a.Digest); n > maxDigest {
		return bad(45004, "description size out of limit: digest has %d characters, at most %d", n, maxDigest)
	}
	if strings.TrimSpace(a.Content) == "" {
		return bad(44003, "empty news data: content is required")
	}
	// "Under 20,000 characters and under 1 MB": the characters are the
	// text's (the HTML's inline styles alone would use up 20,000), the
	// megabyte is the HTML's.
	if n := utf8.RuneCountInString(visibleText(a.Content)); n >= maxContentChars {
		return bad(45002, "content size out of limit: %d characters of text, under %d", n, maxContentChars)
	}
	if n := len(a.Content); n >= maxContentBytes {
		return bad(45002, "content size out of limit: %d bytes, under 1 MB", n)
	}
	if n := len(a.ContentSourceURL); n > maxSourceURL {
		return bad(45005, "url size out of limit: content_source_url has %d bytes, at most %d", n, maxSourceURL)
	}
	if a.ContentSourceURL != "" {
		if u, err := url.Parse(a.ContentSourceURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return bad(40039, "invalid url: content_source_url %q", a.ContentSourceURL)
		}
	}
	if a.ThumbMediaID == "" {
		return bad(40007, "invalid media_id: thumb_media_id is required")
	}
	if m := s.st.materials[a.ThumbMediaID]; m == nil || (m.Type != "thumb" && m.Type != "image") {
		return bad(40007, "invalid media_id: thumb_media_id %q is not a permanent image or thumb material", a.ThumbMediaID)
	}
	if a.NeedOpenComment != 0 && a.NeedOpenComment != 1 {
		return bad(40035, "invalid args: need_open_comment must be 0 or 1")
	}
	if a.OnlyFansCanComment != 0 && a.OnlyFansCanComment != 1 {
		return bad(40035, "invalid args: only_fans_can_comment must be 0 or 1")
	}
	if loc := scriptRe.FindStringIndex(a.Content); loc != nil {
		return bad(45166, "invalid content: %q is not allowed (scripts and <style> are stripped by WeChat)", a.Content[loc[0]:min(loc[1]+8, len(a.Content))])
	}
	for _, m := range imgSrcRe.FindAllStringSubmatch(a.Content, -1) {
		src := m[1]
		if !s.st.images[src] && !strings.Contains(src, "mmbiz.qpic.cn") {
			return bad(45166, "invalid content: image %q was not uploaded with media/uploadimg", src)
		}
	}
	for _, m := range anchorRe.FindAllStringSubmatch(a.Content, -1) {
		href := m[1]
		if strings.HasPrefix(href, "#") {
			continue
		}
		if u, err := url.Parse(href); err == nil && u.Host == "mp.weixin.qq.com" {
			continue
		}
		return bad(45166, "invalid content: external link %q (only mp.weixin.qq.com articles may be linked; use footnotes)", href)
	}
	if a.Digest == "" {
		// WeChat fills an empty digest with the start of the text.
		text := strings.TrimSpace(spaceRunRe.ReplaceAllString(visibleText(a.Content), " "))
		if r := []rune(text); len(r) > 54 {
			text = string(r[:54])
		}
		a.Digest = text
	}
	return nil
}

// visibleText is the content without tags, entities decoded.
func visibleText(content string) string {
	return html.UnescapeString(tagRe.ReplaceAllString(content, ""))
}

func (s *Server) handleDraftAdd(c *apiCall) answer {
	var req struct {
		Articles []Article `json:"articles"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	if len(req.Articles) == 0 {
		return fail(44003, "empty news data: no articles")
	}
	if len(req.Articles) > maxArticles {
		return fail(45008, fmt.Sprintf("article size out of limit: %d articles, at most %d", len(req.Articles), maxArticles))
	}
	for i := range req.Articles {
		if a := s.validateArticle(i, &req.Articles[i]); a != nil {
			return *a
		}
	}
	id := randomToken("SBX_DRAFT_", 24)
	s.st.drafts[id] = &Draft{MediaID: id, Articles: req.Articles, Created: c.now, Updated: c.now}
	return answer{json: map[string]any{"media_id": id}}
}

// liveDraft is a draft still in the drafts box.
func (s *Server) liveDraft(mediaID string) (*Draft, *answer) {
	d := s.st.drafts[mediaID]
	if d == nil || d.Used != "" {
		why := "no such draft"
		if d != nil {
			why = "the draft was " + d.Used + " and left the drafts box"
		}
		a := fail(40007, fmt.Sprintf("invalid media_id %q: %s", mediaID, why))
		return nil, &a
	}
	return d, nil
}

func (s *Server) handleDraftUpdate(c *apiCall) answer {
	var req struct {
		MediaID  string   `json:"media_id"`
		Index    *int     `json:"index"`
		Articles *Article `json:"articles"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	d, bad := s.liveDraft(req.MediaID)
	if bad != nil {
		return *bad
	}
	if req.Index == nil || *req.Index < 0 || *req.Index >= len(d.Articles) {
		return fail(40060, fmt.Sprintf("invalid article idx: the draft has %d articles (index is 0-based)", len(d.Articles)))
	}
	if req.Articles == nil {
		return fail(44003, "empty news data: articles is required")
	}
	if a := s.validateArticle(*req.Index, req.Articles); a != nil {
		return *a
	}
	d.Articles[*req.Index] = *req.Articles
	d.Updated = c.now
	return ok(nil)
}

func (s *Server) handleDraftGet(c *apiCall) answer {
	var req struct {
		MediaID string `json:"media_id"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	d, bad := s.liveDraft(req.MediaID)
	if bad != nil {
		return *bad
	}
	items := make([]map[string]any, 0, len(d.Articles))
	for i, a := range d.Articles {
		items = append(items, map[string]any{
			"title": a.Title, "author": a.Author, "digest": a.Digest, "content": a.Content,
			"content_source_url": a.ContentSourceURL, "thumb_media_id": a.ThumbMediaID,
			"need_open_comment": a.NeedOpenComment, "only_fans_can_comment": a.OnlyFansCanComment,
			"pic_crop_235_1": a.PicCrop2351, "pic_crop_1_1": a.PicCrop11,
			"url": fmt.Sprintf("%s/sandbox/drafts/%s/%d", c.host, d.MediaID, i),
		})
	}
	return answer{json: map[string]any{"news_item": items}}
}

func (s *Server) handleDraftDelete(c *apiCall) answer {
	var req struct {
		MediaID string `json:"media_id"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	if _, bad := s.liveDraft(req.MediaID); bad != nil {
		return *bad
	}
	delete(s.st.drafts, req.MediaID)
	return ok(nil)
}

// articleURLs makes permanent article links in WeChat's shape.
func (s *Server) articleURLs(mid int64, n int) []string {
	biz := base64.StdEncoding.EncodeToString([]byte(s.opts.AppID))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://mp.weixin.qq.com/s?__biz=%s&mid=%d&idx=%d&sn=%s", url.QueryEscape(biz), mid, i+1, randomHex(16))
	}
	return out
}

func (s *Server) handlePublishSubmit(c *apiCall) answer {
	if s.opts.Unverified {
		return fail(48001, "api unauthorized: unverified accounts cannot publish")
	}
	var req struct {
		MediaID string `json:"media_id"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	d, bad := s.liveDraft(req.MediaID)
	if bad != nil {
		return *bad
	}
	d.Used = "published"
	mid := s.st.id()
	p := &publication{
		ID:          strconv.FormatInt(mid, 10),
		MediaID:     d.MediaID,
		Submitted:   c.now,
		Done:        c.now.Add(s.opts.PushDelay),
		ArticleID:   randomToken("", 24),
		ArticleURLs: s.articleURLs(mid, len(d.Articles)),
		Status:      s.opts.PublishStatus,
		FailIdx:     []int{},
	}
	if p.Status != 0 {
		p.ArticleID, p.ArticleURLs = "", nil
		for i := range d.Articles {
			p.FailIdx = append(p.FailIdx, i+1)
		}
	}
	s.st.publications[p.ID] = p
	s.st.publishOrder = append(s.st.publishOrder, p.ID)
	a := ok(map[string]any{"publish_id": p.ID, "msg_data_id": strconv.FormatInt(s.st.id(), 10)})
	a.after = func() { s.schedulePush(publishEventXML(*p)) }
	return a
}

func (s *Server) handlePublishGet(c *apiCall) answer {
	var req struct {
		PublishID flexID `json:"publish_id"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	if a := s.dailyLimit(c, "freepublish/get", s.opts.PublishGetPerDay); a != nil {
		return *a
	}
	p := s.st.publications[string(req.PublishID)]
	if p == nil {
		return fail(40007, fmt.Sprintf("invalid publish_id %q", req.PublishID))
	}
	if c.now.Before(p.Done) {
		return answer{json: map[string]any{"publish_id": p.ID, "publish_status": 1, "fail_idx": []int{}}}
	}
	if p.Status != 0 {
		return answer{json: map[string]any{"publish_id": p.ID, "publish_status": p.Status, "fail_idx": p.FailIdx}}
	}
	items := make([]map[string]any, len(p.ArticleURLs))
	for i, u := range p.ArticleURLs {
		items[i] = map[string]any{"idx": i + 1, "article_url": u}
	}
	return answer{json: map[string]any{
		"publish_id": p.ID, "publish_status": 0, "article_id": p.ArticleID,
		"article_detail": map[string]any{"count": len(items), "item": items},
		"fail_idx":       []int{},
	}}
}

// dailyLimit counts a call of endpoint on its Beijing day and answers
// 45009 past limit calls, as WeChat does for its daily quotas.
func (s *Server) dailyLimit(c *apiCall, endpoint string, limit int) *answer {
	key := endpoint + " " + c.now.In(shanghai).Format(time.DateOnly)
	s.st.dailyCalls[key]++
	if s.st.dailyCalls[key] > limit {
		a := fail(45009, fmt.Sprintf("reach max api daily quota limit: %s at most %d times a day", endpoint, limit))
		return &a
	}
	return nil
}

// flexID reads an id sent as a JSON string or number.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	*f = flexID(s)
	return nil
}
