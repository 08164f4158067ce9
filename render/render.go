// Package render turns a newsletter issue into WeChat draft articles and
// into the phone-width preview page of those articles.
//
// The articles follow the platform's rules (../shared/WECHAT.md §5): inline
// styles only (no <style>, class, id or scripts), no hyperlinks — every
// link becomes a numbered footnote with its URL shown as text in a
// 参考链接 / References list — all text HTML-escaped, titles within 32
// characters, digests within 128, authors within 16, and each article's
// content under 20,000 characters and 1 MB. An issue too long for one
// article is split by section into at most 8 articles; nothing is ever
// truncated or dropped. The look (brand colour, text colour, fonts) comes
// from the render.theme.* configuration through html/template templates.
package render

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/newsletter"
)

// WeChat's limits for a draft/add article, in characters (runes) and bytes.
const (
	MaxTitle        = 32
	MaxDigest       = 128
	MaxAuthor       = 16
	MaxContentChars = 20000 // content must be shorter than this
	MaxContentBytes = 1 << 20
	MaxArticles     = 8
	MaxSourceURL    = 1024 // bytes
)

// Layouts.
const (
	// LayoutSingle renders the whole issue as one article, split by
	// section only when it would exceed WeChat's size limit.
	LayoutSingle = "single"
	// LayoutSections renders one article per section; the first one also
	// carries the masthead and the table of contents.
	LayoutSections = "sections"
)

// ErrTooLong is wrapped by Render's error when an issue cannot fit WeChat's
// limits without truncation: more than 8 articles, or one item longer than
// an article.
var ErrTooLong = errors.New("too long for a WeChat draft")

// Article is one article of a draft, exactly as WeChat's draft/add takes it.
type Article struct {
	Title              string `json:"title"`
	Author             string `json:"author"`
	Digest             string `json:"digest"`
	Content            string `json:"content"`
	ContentSourceURL   string `json:"content_source_url"`
	ThumbMediaID       string `json:"thumb_media_id"`
	NeedOpenComment    int    `json:"need_open_comment"`
	OnlyFansCanComment int    `json:"only_fans_can_comment"`
}

// Draft is the body of WeChat's draft/add: {"articles":[…]}.
type Draft struct {
	Articles []Article `json:"articles"`
}

// Theme is the visual identity of the articles.
type Theme struct {
	Color      string // brand colour: headings, markers, rules (#rrggbb)
	TextColor  string // body text (#rrggbb)
	FontFamily string // CSS font-family list
	FontSize   string // body font size, e.g. 15px
}

// Options says how to render.
type Options struct {
	Layout             string // LayoutSingle (default) or LayoutSections
	Author             string // cut to 16 characters
	Footer             string // closing line of every article (follow-us); "" for none
	SourceURL          string // the lead article's "阅读原文" link; "" for none
	OpenComment        bool
	OnlyFansCanComment bool
	Theme              Theme
	// ImageURLs maps an image's Markdown src to the URL WeChat's
	// media/uploadimg returned for it. An image not in the map keeps its
	// src (WeChat will not show it) and Render says so in its notes; upload
	// ImageSources(issue) first.
	ImageURLs map[string]string
}

// DefaultTheme is the theme of the configuration defaults.
var DefaultTheme = Theme{
	Color:      config.DefaultThemeColor,
	TextColor:  config.DefaultThemeTextColor,
	FontFamily: config.DefaultThemeFontFamily,
	FontSize:   config.DefaultThemeFontSize,
}

// OptionsFrom builds Options from the render.* configuration.
func OptionsFrom(cfg config.RenderConfig) Options {
	return Options{
		Layout:             cfg.Layout,
		Author:             cfg.Author,
		Footer:             cfg.Footer,
		SourceURL:          cfg.SourceURL,
		OpenComment:        cfg.OpenComment,
		OnlyFansCanComment: cfg.OnlyFansCanComment,
		Theme: Theme{
			Color:      cfg.Theme.Color,
			TextColor:  cfg.Theme.TextColor,
			FontFamily: cfg.Theme.FontFamily,
			FontSize:   cfg.Theme.FontSize,
		},
	}
}

// ImageSources lists the src of every image in the issue's paragraphs, in
// order of appearance, each once: what the publisher uploads to
// media/uploadimg before rendering with Options.ImageURLs.
func ImageSources(issue *newsletter.Issue) []string {
	var out []string
	seen := map[string]bool{}
	var walk func([]newsletter.Inline)
	walk = func(ins []newsletter.Inline) {
		for _, in := range ins {
			if in.Kind == newsletter.InlineImage && in.URL != "" && !seen[in.URL] {
				seen[in.URL] = true
				out = append(out, in.URL)
			}
			walk(in.Children)
		}
	}
	for _, s := range issue.Sections {
		for _, it := range s.Items {
			for _, p := range it.BodyZH {
				walk(newsletter.ParseInline(p))
			}
			for _, p := range it.BodyEN {
				walk(newsletter.ParseInline(p))
			}
		}
	}
	return out
}

// Render turns an issue into a draft. The notes say what the reader of the
// command should know: a split, images not uploaded, a field cut to its
// limit. The error is for what cannot be rendered at all: an empty issue,
// a bad theme, or an issue too long even for 8 articles.
func Render(issue *newsletter.Issue, opts Options) (*Draft, []string, error) {
	if issue == nil || len(issue.Sections) == 0 {
		return nil, nil, errors.New("render: the issue has no sections")
	}
	r, err := newRenderer(issue, opts)
	if err != nil {
		return nil, nil, err
	}
	plan, err := r.plan()
	if err != nil {
		return nil, r.notes, err
	}
	d := &Draft{Articles: make([]Article, 0, len(plan))}
	for i, units := range plan {
		a, err := r.article(units, i, len(plan))
		if err != nil {
			return nil, r.notes, err
		}
		d.Articles = append(d.Articles, a)
	}
	r.noteImages()
	if a := cut(opts.Author, MaxAuthor); a != opts.Author {
		r.notef("author %q is longer than WeChat's %d characters: cut to %q", opts.Author, MaxAuthor, a)
	}
	return d, r.notes, nil
}

// cut shortens s to at most n characters, ending with "…" when it had to
// cut, never inside a character.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ，、；:;,") + "…"
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// seriesName is how the issue names itself: its Chinese title, else the English one.
func seriesName(is *newsletter.Issue) string {
	switch {
	case is.TitleZH != "":
		return is.TitleZH
	case is.TitleEN != "":
		return is.TitleEN
	}
	return "周报"
}

// leadTitle names the series and the number, shortening the name (never
// the number) to fit WeChat's 32 characters.
func leadTitle(is *newsletter.Issue) string {
	num := fmt.Sprintf(" No.%d", is.Number)
	return cut(seriesName(is), MaxTitle-utf8.RuneCountInString(num)) + num
}
