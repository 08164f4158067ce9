package render

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/lifang/wxbot/newsletter"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// templates are parsed once; they hold no state, the theme comes in the data.
var templates = template.Must(template.ParseFS(templateFS, "templates/*.tmpl"))

// renderer renders one issue with one set of options.
type renderer struct {
	issue  *newsletter.Issue
	opts   Options
	st     *styles
	notes  []string
	noUp   []string // images without an uploaded URL, in order
	noUpOK map[string]bool
	// parsed caches each paragraph's inline Markdown: planning renders
	// an article several times over.
	parsed map[string][]newsletter.Inline
	// itemNotes are the footnotes of the item being rendered.
	itemNotes []newsletter.Note
}

func newRenderer(issue *newsletter.Issue, opts Options) (*renderer, error) {
	th, err := opts.Theme.validate()
	if err != nil {
		return nil, err
	}
	switch opts.Layout {
	case "":
		opts.Layout = LayoutSingle
	case LayoutSingle, LayoutSections:
	default:
		return nil, fmt.Errorf("render: layout %q: want %q or %q", opts.Layout, LayoutSingle, LayoutSections)
	}
	if len(opts.SourceURL) > MaxSourceURL {
		return nil, fmt.Errorf("render: source URL is %d bytes, WeChat allows %d", len(opts.SourceURL), MaxSourceURL)
	}
	return &renderer{issue: issue, opts: opts, st: newStyles(th), noUpOK: map[string]bool{}, parsed: map[string][]newsletter.Inline{}}, nil
}

// unit is a run of one section's items shown together in one article:
// Items[from:to] of Sections[sec].
type unit struct{ sec, from, to int }

func (r *renderer) whole(sec int) unit {
	return unit{sec, 0, len(r.issue.Sections[sec].Items)}
}

// plan groups the issue's items into articles. Sections stay whole when
// they fit; a section too long for one article is spread over several,
// item by item. The single layout fills each article; the sections layout
// starts a new article at each section, unless that needs more than
// WeChat's 8 articles, when it falls back to filling.
func (r *renderer) plan() ([][]unit, error) {
	n := len(r.issue.Sections)
	var all []unit
	for s := range n {
		all = append(all, r.whole(s))
	}

	if r.opts.Layout == LayoutSections {
		arts, err := r.pack(true)
		if err != nil {
			return nil, err
		}
		if len(arts) <= MaxArticles {
			r.notef("layout sections: %d %s, one per section", len(arts), plural(len(arts), "article", "articles"))
			r.noteSpread(arts)
			return arts, nil
		}
		r.notef("layout sections would need %d articles, more than WeChat's %d: sections share articles instead", len(arts), MaxArticles)
	}
	arts, err := r.pack(false)
	if err != nil {
		return nil, err
	}
	if len(arts) > MaxArticles {
		return nil, fmt.Errorf("render: issue No.%d needs %d articles of fewer than %d characters each, and WeChat allows %d; shorten the issue or split it in two: %w",
			r.issue.Number, len(arts), MaxContentChars, MaxArticles, ErrTooLong)
	}
	if len(arts) > 1 {
		oneSize, _ := r.size(all, true)
		r.notef("issue No.%d is too long for one article (%d characters; WeChat allows fewer than %d): split into %d articles by section",
			r.issue.Number, oneSize, MaxContentChars, len(arts))
		r.noteSpread(arts)
	}
	return arts, nil
}

// pack fills articles in order; breakEach starts a new one at each section.
func (r *renderer) pack(breakEach bool) ([][]unit, error) {
	var arts [][]unit
	var cur []unit
	lead := func() bool { return len(arts) == 0 }
	closeCur := func() {
		if len(cur) > 0 {
			arts = append(arts, cur)
			cur = nil
		}
	}
	for s, sec := range r.issue.Sections {
		if breakEach {
			closeCur()
		}
		u := r.whole(s)
		if r.fits(append(cur[:len(cur):len(cur)], u), lead()) {
			cur = append(cur, u)
			continue
		}
		if len(cur) > 0 && r.fits([]unit{u}, false) {
			closeCur()
			cur = []unit{u}
			continue
		}
		// Too long for any one article: item by item.
		for j := range sec.Items {
			try := append(cur[:len(cur):len(cur)], unit{s, j, j + 1})
			if k := len(cur) - 1; k >= 0 && cur[k].sec == s && cur[k].to == j {
				try = append(cur[:k:k], unit{s, cur[k].from, j + 1})
			}
			if r.fits(try, lead()) {
				cur = try
				continue
			}
			closeCur()
			cur = []unit{{s, j, j + 1}}
			if !r.fits(cur, lead()) && lead() {
				// The table of contents leaves no room for this item: the
				// lead article is masthead and contents alone.
				arts = append(arts, nil)
			}
			if !r.fits(cur, lead()) {
				size, _ := r.size(cur, lead())
				return nil, fmt.Errorf("render: the item %q alone is %d characters of article content, more than WeChat's limit of %d; shorten it: %w",
					sec.Items[j].TitleZH, size, MaxContentChars, ErrTooLong)
			}
		}
	}
	closeCur()
	return arts, nil
}

// noteSpread says which sections were spread over several articles.
func (r *renderer) noteSpread(arts [][]unit) {
	first := map[int]int{}
	last := map[int]int{}
	for a, units := range arts {
		for _, u := range units {
			if _, ok := first[u.sec]; !ok {
				first[u.sec] = a
			}
			last[u.sec] = a
		}
	}
	for s, sec := range r.issue.Sections {
		if last[s] > first[s] {
			r.notef("section %s %s is too long for one article: its items run over articles %d–%d", sec.TitleZH, sec.TitleEN, first[s]+1, last[s]+1)
		}
	}
}

// fits reports whether units make an article within WeChat's limits.
// Follow-up articles are measured as part 8 of 8: part numbers have one
// digit, so the measure is exact.
func (r *renderer) fits(units []unit, lead bool) bool {
	chars, bytes := r.size(units, lead)
	return chars < MaxContentChars && bytes < MaxContentBytes
}

func (r *renderer) size(units []unit, lead bool) (chars, bytes int) {
	idx := MaxArticles - 1
	if lead {
		idx = 0
	}
	content, err := r.content(units, idx, MaxArticles, true)
	if err != nil {
		return MaxContentChars, MaxContentBytes
	}
	return utf8.RuneCountInString(content), len(content)
}

// article renders one planned article with its title, digest and settings.
func (r *renderer) article(units []unit, idx, total int) (Article, error) {
	content, err := r.content(units, idx, total, false)
	if err != nil {
		return Article{}, err
	}
	if n := utf8.RuneCountInString(content); n >= MaxContentChars || len(content) >= MaxContentBytes {
		return Article{}, fmt.Errorf("render: article %d is %d characters (%d bytes), over WeChat's limit", idx+1, n, len(content))
	}
	a := Article{
		Author:             cut(r.opts.Author, MaxAuthor),
		Content:            content,
		NeedOpenComment:    boolInt(r.opts.OpenComment),
		OnlyFansCanComment: boolInt(r.opts.OnlyFansCanComment),
	}
	var titles []string
	for _, u := range units {
		for _, it := range r.issue.Sections[u.sec].Items[u.from:u.to] {
			titles = append(titles, newsletter.PlainText(it.TitleZH))
		}
	}
	if idx == 0 {
		a.Title = leadTitle(r.issue)
		a.ContentSourceURL = r.opts.SourceURL
		var all []string
		for _, s := range r.issue.Sections {
			for _, it := range s.Items {
				all = append(all, newsletter.PlainText(it.TitleZH))
			}
		}
		a.Digest = cut(fmt.Sprintf("No.%d · %s｜本期：%s", r.issue.Number, monthDots(r.issue.Month), strings.Join(all, "；")), MaxDigest)
	} else {
		label := r.sectionLabel(units)
		a.Title = cut(label, MaxTitle-utf8.RuneCountInString(fmt.Sprintf(" | No.%d", r.issue.Number))) + fmt.Sprintf(" | No.%d", r.issue.Number)
		a.Digest = cut(label+"："+strings.Join(titles, "；"), MaxDigest)
	}
	if total > 1 {
		// WeChat shows a digest only for a single-article message; in a
		// multi-article one it would be written and never seen.
		a.Digest = ""
	}
	return a, nil
}

// sectionLabel names a follow-up article by its sections: "海外动态 Overseas
// News" for one, "海外动态、执法动态" for several, "（续）" when it goes on
// from the previous article.
func (r *renderer) sectionLabel(units []unit) string {
	var zh []string
	for _, u := range units {
		s := r.issue.Sections[u.sec]
		name := s.TitleZH
		if u.from > 0 {
			name += "（续）"
		}
		zh = append(zh, name)
	}
	if len(units) == 1 {
		s := r.issue.Sections[units[0].sec]
		full := zh[0] + " " + s.TitleEN
		if utf8.RuneCountInString(full)+len(fmt.Sprintf(" | No.%d", r.issue.Number)) <= MaxTitle {
			return full
		}
	}
	return strings.Join(zh, "、")
}

// The data of templates/article.tmpl.
type (
	articleData struct {
		S                        *styles
		Lead                     bool
		SeriesZH, SeriesEN       string
		SeriesShort              string
		Number, NewsletterNumber int
		Month                    string
		Part, Total              int
		TOC                      []tocSection
		Sections                 []sectionData
		Refs                     []ref
		DisclaimerZH             template.HTML
		DisclaimerEN             template.HTML
		Footer                   template.HTML
	}
	tocSection struct {
		ZH, EN string
		Items  []tocItem
	}
	tocItem struct {
		No     string
		ZH, EN string
	}
	sectionData struct {
		ZH, EN    string
		Continued bool
		Items     []itemData
	}
	itemData struct {
		No             string
		ZH, EN         string
		BodyZH, BodyEN []template.HTML
	}
	ref struct {
		N          int
		Label, URL string
		note       string // the footnote's text, for a note rather than a link
	}
)

// content renders the HTML of an article holding units. idx and total
// number the article; measuring is true while planning (notes about images
// are then not taken).
func (r *renderer) content(units []unit, idx, total int, measuring bool) (string, error) {
	is := r.issue
	fn := &footnotes{}
	d := articleData{
		S:                r.st,
		Lead:             idx == 0,
		SeriesZH:         is.TitleZH,
		SeriesEN:         is.TitleEN,
		SeriesShort:      seriesName(is),
		Number:           is.Number,
		NewsletterNumber: is.NewsletterNumber,
		Month:            monthDots(is.Month),
		Part:             idx + 1,
		Total:            total,
		DisclaimerZH:     r.inline(is.DisclaimerZH, fn, measuring),
		DisclaimerEN:     r.inline(is.DisclaimerEN, fn, measuring),
		Footer:           template.HTML(strings.ReplaceAll(template.HTMLEscapeString(r.opts.Footer), "\n", "<br>")),
	}
	if d.Lead {
		for s, sec := range is.Sections {
			ts := tocSection{ZH: sec.TitleZH, EN: sec.TitleEN}
			for j, it := range sec.Items {
				ts.Items = append(ts.Items, tocItem{No: r.itemNo(s, j), ZH: it.TitleZH, EN: it.TitleEN})
			}
			d.TOC = append(d.TOC, ts)
		}
	}
	for k, u := range units {
		sec := is.Sections[u.sec]
		sd := sectionData{ZH: sec.TitleZH, EN: sec.TitleEN, Continued: u.from > 0}
		if k > 0 && units[k-1].sec == u.sec {
			sd = sectionData{} // the same section goes on: no second heading
		}
		for j := u.from; j < u.to; j++ {
			it := sec.Items[j]
			id := itemData{No: r.itemNo(u.sec, j), ZH: it.TitleZH, EN: it.TitleEN}
			r.itemNotes = it.Notes
			id.BodyZH = r.body(it.BodyZH, it.LinkZH, it.TitleZH, "查看更多", fn, measuring)
			id.BodyEN = r.body(it.BodyEN, it.LinkEN, it.TitleEN, "More", fn, measuring)
			sd.Items = append(sd.Items, id)
		}
		if sd.ZH == "" && len(d.Sections) > 0 {
			last := &d.Sections[len(d.Sections)-1]
			last.Items = append(last.Items, sd.Items...)
			continue
		}
		d.Sections = append(d.Sections, sd)
	}
	r.itemNotes = nil
	d.Refs = fn.refs
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "article", d); err != nil {
		return "", fmt.Errorf("render: article template: %w", err)
	}
	return compact(b.String()), nil
}

// itemNo is an item's number in the whole issue, "01", "02", …, the same
// in the table of contents and in the body.
func (r *renderer) itemNo(sec, item int) string {
	n := item + 1
	for _, s := range r.issue.Sections[:sec] {
		n += len(s.Items)
	}
	return fmt.Sprintf("%02d", n)
}

// body renders an item's paragraphs in one language and, when the item
// has a link, ends the last paragraph with a "查看更多[n]" footnote marker.
func (r *renderer) body(paras []string, link, title, more string, fn *footnotes, measuring bool) []template.HTML {
	out := make([]template.HTML, 0, len(paras)+1)
	for _, p := range paras {
		out = append(out, r.inline(p, fn, measuring))
	}
	if link == "" {
		return out
	}
	n := fn.number(link, newsletter.PlainText(title))
	marker := fmt.Sprintf(`<span style="%s">%s<sup style="%s">[%d]</sup></span>`, r.st.More, more, r.st.Sup, n)
	if len(out) == 0 {
		return append(out, template.HTML(marker))
	}
	out[len(out)-1] += template.HTML(" " + marker)
	return out
}

// inline renders a paragraph's inline Markdown as WeChat-safe HTML: text
// escaped, emphasis kept, links as footnote markers, images from ImageURLs.
func (r *renderer) inline(p string, fn *footnotes, measuring bool) template.HTML {
	ins, ok := r.parsed[p]
	if !ok {
		ins = newsletter.ParseInline(p)
		r.parsed[p] = ins
	}
	var b strings.Builder
	r.writeInline(&b, ins, fn, measuring)
	return template.HTML(b.String())
}

func (r *renderer) writeInline(b *strings.Builder, ins []newsletter.Inline, fn *footnotes, measuring bool) {
	esc := template.HTMLEscapeString
	for _, in := range ins {
		switch in.Kind {
		case newsletter.InlineText:
			b.WriteString(esc(in.Text))
		case newsletter.InlineCode:
			fmt.Fprintf(b, `<code style="%s">%s</code>`, r.st.Code, esc(in.Text))
		case newsletter.InlineEmph:
			b.WriteString("<em>") // italic by default; a style would only add characters
			r.writeInline(b, in.Children, fn, measuring)
			b.WriteString("</em>")
		case newsletter.InlineStrong:
			fmt.Fprintf(b, `<strong style="%s">`, r.st.Strong)
			r.writeInline(b, in.Children, fn, measuring)
			b.WriteString("</strong>")
		case newsletter.InlineLink:
			r.writeInline(b, in.Children, fn, measuring)
			if u := strings.TrimSpace(in.URL); u != "" && !strings.HasPrefix(u, "#") {
				var label strings.Builder
				writePlainInline(&label, in.Children)
				fmt.Fprintf(b, `<sup style="%s">[%d]</sup>`, r.st.Sup, fn.number(u, label.String()))
			}
		case newsletter.InlineNote:
			// A footnote: numbered with the links, its text in the
			// references list. One the parser found no text for (it
			// warned) shows nothing rather than "[^1]".
			for _, n := range r.itemNotes {
				if n.ID == in.Text {
					fmt.Fprintf(b, `<sup style="%s">[%d]</sup>`, r.st.Sup, fn.note(n.Text))
					break
				}
			}
		case newsletter.InlineImage:
			src, ok := r.opts.ImageURLs[in.URL]
			if !ok {
				src = in.URL
				if !measuring && !r.noUpOK[in.URL] {
					r.noUpOK[in.URL] = true
					r.noUp = append(r.noUp, in.URL)
				}
			}
			if !safeURL(src) {
				b.WriteString(esc(in.Text)) // a javascript: or data: source is not an image we show
				continue
			}
			fmt.Fprintf(b, `<img src="%s" alt="%s" style="%s">`, esc(src), esc(in.Text), r.st.Img)
		}
	}
}

func writePlainInline(b *strings.Builder, ins []newsletter.Inline) {
	for _, in := range ins {
		switch in.Kind {
		case newsletter.InlineText, newsletter.InlineCode, newsletter.InlineImage:
			b.WriteString(in.Text)
		default:
			writePlainInline(b, in.Children)
		}
	}
}

// safeURL accepts http(s) URLs and relative paths, nothing with another scheme.
func safeURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		return true
	}
	colon := strings.IndexByte(l, ':')
	return colon < 0 || strings.IndexByte(l[:colon], '/') >= 0
}

func (r *renderer) noteImages() {
	for _, src := range r.noUp {
		r.notef("image %s has no uploaded URL (media/uploadimg): kept as written, and WeChat will not show it", src)
	}
}

// footnotes numbers an article's links: the same URL keeps its number.
type footnotes struct {
	refs []ref
}

func (f *footnotes) number(url, label string) int {
	for _, r := range f.refs {
		if r.URL == url {
			return r.N
		}
	}
	n := len(f.refs) + 1
	f.refs = append(f.refs, ref{N: n, Label: label, URL: url})
	return n
}

// note numbers a footnote's text: its plain text is the reference's
// label, and a link in it (a note citing its source) the URL shown.
func (f *footnotes) note(text string) int {
	for _, r := range f.refs {
		if r.note == text {
			return r.N
		}
	}
	n := len(f.refs) + 1
	f.refs = append(f.refs, ref{N: n, Label: newsletter.PlainText(text), URL: firstLink(newsletter.ParseInline(text)), note: text})
	return n
}

// firstLink is the destination of the first web link in ins, or "".
func firstLink(ins []newsletter.Inline) string {
	for _, in := range ins {
		if in.Kind == newsletter.InlineLink && safeURL(in.URL) && strings.Contains(in.URL, "://") {
			return in.URL
		}
		if u := firstLink(in.Children); u != "" {
			return u
		}
	}
	return ""
}

// layoutSpace is the line breaks and indentation of the template source.
var layoutSpace = regexp.MustCompile(`\n[ \t]*`)

// compact removes the template's own line breaks and indentation, which
// would otherwise count as characters. Text never holds a line break (each
// paragraph is one line, the footer's breaks are <br>), so only layout goes.
func compact(s string) string {
	return layoutSpace.ReplaceAllString(s, "")
}

// monthDots writes 2021-04 as the masthead does: 2021.04.
func monthDots(m string) string { return strings.ReplaceAll(m, "-", ".") }

func (r *renderer) notef(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
