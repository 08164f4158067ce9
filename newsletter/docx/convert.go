package docx

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// seg is a piece of a paragraph: text with its formatting, or Markdown
// already written (a picture, a footnote reference).
type seg struct {
	text   string
	b, i   bool
	link   string // target of the hyperlink it is in ("#anchor" for a bookmark), or ""
	md     bool   // text is Markdown, not to be escaped
	pageNo bool   // a page number (PAGEREF result) in a table of contents
	alt    string // a picture's description
}

// plain is a paragraph's text without its pictures and notes.
func plain(p *para) string {
	var b strings.Builder
	for _, s := range p.segs {
		if !s.md {
			b.WriteString(s.text)
		}
	}
	return b.String()
}

type para struct {
	num   int
	style string
	list  bool
	toc   bool // in a TOC field, or a "toc N" style
	segs  []seg
}

// field is a complex field (fldChar begin … separate … end) or a fldSimple.
type field struct {
	instr     strings.Builder
	sep       bool
	simple    bool
	parsed    bool
	name, url string
}

// kind is the field's name (HYPERLINK, TOC, PAGEREF) and, for a
// hyperlink, its target; "" until its instruction is complete.
func (f *field) kind() (string, string) {
	if !f.sep {
		return "", ""
	}
	if !f.parsed {
		f.parsed = true
		f.name, f.url = parseInstr(f.instr.String())
	}
	return f.name, f.url
}

// parseInstr reads a field instruction: HYPERLINK "https://…",
// HYPERLINK \l "_Toc123", TOC \o "1-3" \h, PAGEREF _Toc123 \h.
func parseInstr(s string) (name, url string) {
	var toks []string
	for s = strings.TrimSpace(s); s != "" && len(toks) < 16; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				toks = append(toks, s[1:])
				break
			}
			toks = append(toks, s[1:1+end])
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		toks = append(toks, s[:end])
		s = s[end:]
	}
	if len(toks) == 0 {
		return "", ""
	}
	name = strings.ToUpper(toks[0])
	if name != "HYPERLINK" {
		return name, ""
	}
	anchor := ""
	for i := 1; i < len(toks); i++ {
		switch t := toks[i]; {
		case t == `\l` && i+1 < len(toks):
			anchor = toks[i+1]
			i++
		case t == `\o` || t == `\t`:
			i++ // a screen tip or a target frame
		case strings.HasPrefix(t, `\`):
		case url == "":
			url = t
		}
	}
	if anchor != "" {
		url += "#" + anchor
	}
	return name, url
}

type converter struct {
	rels   map[string]rel
	styles map[string]style
	lim    Limits

	notesMode bool
	noteID    string
	notes     map[string][]*para

	paras int
	stack []*para
	out   []*para

	inPPr, inRPr bool
	rb, ri       bool
	runLink      bool // the run's own character style gave it nothing but counts
	links        []string
	fields       []*field
	textMode     int // 1: w:t, 2: w:instrText
	alt          string

	noteRefs  map[string]int // footnote id → number, by first reference
	noteOrder []string
	notePara  []int
	images    []string
	seenImg   map[string]bool
	size      int
}

func newConverter(rels map[string]rel, styles map[string]style, lim Limits) *converter {
	return &converter{rels: rels, styles: styles, lim: lim, noteRefs: map[string]int{}, seenImg: map[string]bool{}}
}

func (c *converter) cur() *para {
	if len(c.stack) == 0 {
		return nil
	}
	return c.stack[len(c.stack)-1]
}

func (c *converter) errAt(format string, args ...any) error {
	p := c.paras
	if c.notesMode {
		p = 0
		format = "footnote " + c.noteID + ": " + format
	}
	return &Error{Para: p, Msg: fmt.Sprintf(format, args...)}
}

// inField reports whether the text now read is a field's result of kind k.
func (c *converter) inField(k string) bool {
	for _, f := range c.fields {
		if n, _ := f.kind(); n == k && f.sep {
			return true
		}
	}
	return false
}

func (c *converter) inTOC() bool {
	for _, f := range c.fields {
		if n, _ := f.kind(); n == "TOC" || !f.sep && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(f.instr.String())), "TOC") {
			return true
		}
	}
	return false
}

// instr reports text that is a field's instruction (between begin and separate).
func (c *converter) instr() *field {
	if n := len(c.fields); n > 0 && !c.fields[n-1].sep {
		return c.fields[n-1]
	}
	return nil
}

func (c *converter) link() string {
	for i := len(c.fields) - 1; i >= 0; i-- {
		if n, u := c.fields[i].kind(); n == "HYPERLINK" && c.fields[i].sep {
			return u
		}
	}
	if n := len(c.links); n > 0 {
		return c.links[n-1]
	}
	return ""
}

func (c *converter) add(s seg) error {
	p := c.cur()
	if p == nil || s.text == "" {
		return nil
	}
	if c.instr() != nil && !s.md {
		return nil // a field's instruction is not text
	}
	if c.inField("PAGEREF") {
		s.pageNo = true
	}
	c.size += len(s.text)
	if c.size > c.lim.Text {
		return c.errAt("the document's text is more than %d MB, far more than a newsletter issue", c.lim.Text>>20)
	}
	if !s.md {
		s.b, s.i, s.link = c.rb, c.ri, c.link()
	} else {
		s.link = c.link()
	}
	p.segs = append(p.segs, s)
	return nil
}

// document converts word/document.xml (or, in notes mode, footnotes.xml).
func (c *converter) document(b []byte) error {
	t := newTokens(b)
	for {
		tok, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c.errAt("the document's XML is damaged (%v); open it in Word and save it again", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if err := c.start(t, e); err != nil {
				return err
			}
		case xml.EndElement:
			c.end(e)
		case xml.CharData:
			switch c.textMode {
			case 1:
				if err := c.add(seg{text: string(e)}); err != nil {
					return err
				}
			case 2:
				if f := c.instr(); f != nil && f.instr.Len() < 4096 {
					f.instr.Write(e)
				}
			}
		}
	}
	return nil
}

func (c *converter) start(t *tokens, e xml.StartElement) error {
	switch e.Name.Local {
	case "footnote", "endnote":
		if c.notesMode {
			c.noteID = attr(e, "id")
			switch attr(e, "type") {
			case "separator", "continuationSeparator", "continuationNotice":
				return t.skip()
			}
		}
	case "p":
		if !c.notesMode {
			c.paras++
			if c.paras > c.lim.Paras {
				return c.errAt("the document has more than %d paragraphs, far more than a newsletter issue", c.lim.Paras)
			}
		}
		c.stack = append(c.stack, &para{num: c.paras, toc: c.inTOC()})
	case "pPr":
		c.inPPr = true
	case "pStyle":
		if p := c.cur(); p != nil && c.inPPr {
			p.style = attr(e, "val")
		}
	case "numPr":
		if p := c.cur(); p != nil && c.inPPr {
			p.list = true
		}
	case "r":
		c.rb, c.ri = false, false
	case "rPr":
		if !c.inPPr {
			c.inRPr = true
		} else {
			return t.skip() // the paragraph mark's formatting
		}
	case "rStyle":
		if c.inRPr {
			switch strings.ToLower(c.styles[attr(e, "val")].name) {
			case "strong":
				c.rb = true
			case "emphasis":
				c.ri = true
			}
		}
	case "b":
		if c.inRPr {
			c.rb = onOff(e)
		}
	case "i":
		if c.inRPr {
			c.ri = onOff(e)
		}
	case "t":
		c.textMode = 1
	case "instrText":
		c.textMode = 2
	case "Fallback", "del", "moveFrom", "sectPr", "sdtPr", "commentRangeStart", "footnotePr", "endnotePr", "rubyPr", "rt":
		return t.skip()
	default:
		return c.startInline(e)
	}
	return nil
}

// startInline handles what a start element adds to the text: special
// characters, fields, links, footnote references and pictures.
func (c *converter) startInline(e xml.StartElement) error {
	switch e.Name.Local {
	case "tab":
		if !c.inPPr {
			return c.add(seg{text: "\t"})
		}
	case "br", "cr":
		if t := attr(e, "type"); t != "page" && t != "column" {
			return c.add(seg{text: " "})
		}
	case "noBreakHyphen":
		return c.add(seg{text: "-"})
	case "sym":
		if ch := attr(e, "char"); ch != "" {
			if n, err := strconv.ParseUint(ch, 16, 32); err == nil && n >= 0x20 && n < 0xF000 {
				return c.add(seg{text: string(rune(n))})
			}
		}
	case "fldChar":
		return c.fieldChar(e)
	case "fldSimple":
		return c.simpleField(e)
	case "hyperlink":
		return c.hyperlink(e)
	case "footnoteReference":
		return c.noteRef(e)
	case "docPr":
		if a := attr(e, "descr"); a != "" {
			c.alt = a
		} else if a := attr(e, "title"); a != "" && c.alt == "" {
			c.alt = a
		}
	case "blip", "imagedata":
		return c.image(e)
	}
	return nil
}

// fieldChar begins, separates or ends a complex field (TOC, HYPERLINK …).
func (c *converter) fieldChar(e xml.StartElement) error {
	switch attr(e, "fldCharType") {
	case "begin":
		if len(c.fields) >= 32 {
			return c.errAt("fields nested more than 32 deep")
		}
		c.fields = append(c.fields, &field{})
	case "separate":
		if n := len(c.fields); n > 0 {
			c.fields[n-1].sep = true
			if k, _ := c.fields[n-1].kind(); k == "TOC" {
				if p := c.cur(); p != nil {
					p.toc = true
				}
			}
		}
	case "end":
		c.popField(false)
	}
	return nil
}

// simpleField opens a field given whole in its instr attribute.
func (c *converter) simpleField(e xml.StartElement) error {
	if len(c.fields) >= 32 {
		return c.errAt("fields nested more than 32 deep")
	}
	f := &field{sep: true, simple: true}
	f.instr.WriteString(attr(e, "instr"))
	c.fields = append(c.fields, f)
	if p := c.cur(); p != nil {
		if n, _ := f.kind(); n == "TOC" {
			p.toc = true
		}
	}
	return nil
}

// hyperlink opens a link to its relationship's target or anchor.
func (c *converter) hyperlink(e xml.StartElement) error {
	target := ""
	if id := attr(e, "id"); id != "" {
		if r, ok := c.rels[id]; ok && r.external {
			target = r.target
		}
	}
	if a := attr(e, "anchor"); a != "" && target == "" {
		target = "#" + a
	} else if a != "" {
		target += "#" + a
	}
	if len(c.links) >= 32 {
		return c.errAt("hyperlinks nested more than 32 deep")
	}
	c.links = append(c.links, target)
	return nil
}

// noteRef writes a footnote reference, numbered in order of first use.
func (c *converter) noteRef(e xml.StartElement) error {
	if c.notesMode {
		return nil
	}
	id := attr(e, "id")
	n, ok := c.noteRefs[id]
	if !ok {
		n = len(c.noteOrder) + 1
		c.noteRefs[id] = n
		c.noteOrder = append(c.noteOrder, id)
		c.notePara = append(c.notePara, c.paras)
	}
	return c.add(seg{text: "[^" + strconv.Itoa(n) + "]", md: true})
}

// image writes a picture's Markdown and lists the picture for extraction.
func (c *converter) image(e xml.StartElement) error {
	id := attr(e, "embed")
	if e.Name.Local == "imagedata" {
		id = attr(e, "id")
	}
	if id == "" {
		id = attr(e, "link")
	}
	r, ok := c.rels[id]
	if !ok || r.target == "" {
		return nil
	}
	src := r.target
	if !r.external && !c.seenImg[src] {
		c.seenImg[src] = true
		c.images = append(c.images, src)
	}
	alt := c.alt
	c.alt = ""
	return c.add(seg{text: "![" + escapeText(oneLine(alt), false) + "](" + escapeDest(src) + ")", md: true, alt: alt})
}

func (c *converter) popField(simple bool) {
	for i := len(c.fields) - 1; i >= 0; i-- {
		if c.fields[i].simple == simple {
			c.fields = append(c.fields[:i], c.fields[i+1:]...)
			return
		}
	}
}

func (c *converter) end(e xml.EndElement) {
	switch e.Name.Local {
	case "p":
		if n := len(c.stack); n > 0 {
			p := c.stack[n-1]
			c.stack = c.stack[:n-1]
			if c.notesMode {
				c.notes[c.noteID] = append(c.notes[c.noteID], p)
			} else {
				c.out = append(c.out, p)
			}
		}
	case "pPr":
		c.inPPr = false
	case "rPr":
		c.inRPr = false
	case "t", "instrText":
		c.textMode = 0
	case "hyperlink":
		if n := len(c.links); n > 0 {
			c.links = c.links[:n-1]
		}
	case "fldSimple":
		c.popField(true)
	case "drawing", "pict", "object":
		c.alt = ""
	}
}

// parseNotes reads footnotes.xml into each footnote's paragraphs, by id.
func parseNotes(b []byte, rels map[string]rel, styles map[string]style, lim Limits) (map[string][]*para, error) {
	c := newConverter(rels, styles, lim)
	c.notesMode = true
	c.notes = map[string][]*para{}
	if err := c.document(b); err != nil {
		return nil, err
	}
	return c.notes, nil
}

// finish renders the paragraphs as lines.
func (c *converter) finish(notes map[string][]*para) (*Document, error) {
	d := &Document{Images: c.images}
	lastAlt := ""
	for _, p := range c.out {
		// A caption repeating the picture's description above it (pandoc
		// writes the alt text so) is the picture's, not a paragraph.
		if n := c.styles[p.style].name; lastAlt != "" && (n == "image caption" || n == "caption" || p.style == "ImageCaption") &&
			strings.TrimSpace(plain(p)) == lastAlt {
			lastAlt = ""
			continue
		}
		lastAlt = ""
		for _, s := range p.segs {
			if s.alt != "" {
				lastAlt = strings.TrimSpace(s.alt)
			}
		}
		if s := c.render(p); s != "" {
			d.Lines = append(d.Lines, Line{Text: s, Para: p.num})
		}
	}
	for i, id := range c.noteOrder {
		var parts []string
		for _, p := range notes[id] {
			if s := c.render(p); s != "" {
				parts = append(parts, s)
			}
		}
		d.Lines = append(d.Lines, Line{Text: fmt.Sprintf("[^%d]: %s", i+1, strings.Join(parts, " ")), Para: c.notePara[i], Note: i + 1})
	}
	return d, nil
}

// render writes one paragraph as a line of Markdown.
func (c *converter) render(p *para) string {
	k := styleKind(c.styles, p.style)
	if k.toc || p.toc || tocLinks(p) {
		return tocLine(p)
	}
	var b strings.Builder
	segs := merge(p.segs)
	more := trailingMore(segs)
	for i := 0; i < len(segs); {
		j := i
		for j < len(segs) && segs[j].link == segs[i].link {
			j++
		}
		inner := formatted(segs[i:j])
		if l := segs[i].link; l != "" && strings.TrimSpace(inner) != "" {
			if strings.HasPrefix(l, "#") {
				// A link to a bookmark of the document: the place
				// means nothing in an article, the link stays a
				// placeholder ("[(查看更多)](#)").
				l = "#"
			}
			lead := inner[:len(inner)-len(strings.TrimLeft(inner, " \t"))]
			trail := inner[len(strings.TrimRight(inner, " \t")):]
			b.WriteString(lead + "[" + strings.TrimSpace(inner) + "](" + escapeDest(l) + ")" + trail)
		} else {
			b.WriteString(inner)
		}
		i = j
	}
	s := oneLine(b.String())
	if more != "" {
		s = strings.TrimSpace(s) + more
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	switch {
	case k.title:
		return "# " + s
	case k.heading > 0:
		return strings.Repeat("#", k.heading) + " " + s
	case k.list || p.list:
		return "- " + s
	}
	if strings.HasPrefix(s, "#") {
		s = `\` + s
	}
	return s
}

// moreWords are the read-more placeholders Word files carry without a
// hyperlink; written as [(…)](#) they are read as the item's (empty) link.
var moreWords = []string{"(查看更多)", "（查看更多）", "(More)", "（More）", "(more)"}

// trailingMore cuts a read-more placeholder typed without a link off the
// end of segs and returns it written as a placeholder link.
func trailingMore(segs []seg) string {
	n := len(segs)
	if n == 0 || segs[n-1].md || segs[n-1].link != "" {
		return ""
	}
	last := &segs[n-1]
	t := strings.TrimRight(last.text, " \t")
	for _, w := range moreWords {
		if strings.HasSuffix(t, w) {
			last.text = strings.TrimSuffix(t, w)
			inner := w[:len(w)-len(strings.TrimLeft(w, "(（"))]
			inner = strings.TrimSuffix(strings.TrimPrefix(w, inner), ")")
			inner = strings.TrimSuffix(inner, "）")
			return `[\(` + inner + `\)](#)`
		}
	}
	return ""
}

// tocLinks reports a paragraph that is only a link to a heading's _Toc
// bookmark: a table of contents entry whose TOC field was lost (pasted,
// or converted).
func tocLinks(p *para) bool {
	toc, any := true, false
	for _, s := range p.segs {
		if strings.TrimSpace(s.text) == "" {
			continue
		}
		if !strings.HasPrefix(s.link, "#") || s.md {
			return false
		}
		toc = toc && strings.HasPrefix(s.link, "#_Toc")
		any = true
	}
	if !any {
		return false
	}
	if toc {
		return true
	}
	// Links to other bookmarks (a converter renamed them): an entry only
	// when it ends with a page number ("…News<TAB>2", "…News 2").
	t := strings.TrimRight(plain(p), " \t")
	d := strings.TrimRight(t, "0123456789")
	return len(t)-len(d) >= 1 && len(t)-len(d) <= 4 && (strings.HasSuffix(d, " ") || strings.HasSuffix(d, "\t"))
}

// tocLine writes a table of contents entry: its text without the page
// number, the links and the formatting.
func tocLine(p *para) string {
	var b strings.Builder
	for _, s := range p.segs {
		if s.pageNo {
			continue
		}
		if s.md {
			if strings.HasPrefix(s.text, "!") {
				continue
			}
		}
		b.WriteString(s.text)
	}
	t := strings.TrimRight(b.String(), " \t")
	// "国内要闻 Domestic News<TAB>2": the page number after the last tab.
	i := strings.LastIndexByte(t, '\t')
	if i < 0 {
		i = strings.LastIndexByte(t, ' ') // the tab lost: "…News 2"
	}
	if i >= 0 {
		tail := strings.TrimSpace(t[i+1:])
		if tail == "" || strings.Trim(tail, "0123456789") == "" && len(tail) <= 4 ||
			strings.IndexByte(t, '\t') >= 0 && strings.Trim(tail, "ivxlcIVXLC") == "" {
			t = t[:i]
		}
	}
	t = strings.TrimRight(t, " \t.·…")
	return strings.TrimSpace(escapeText(oneLine(t), true))
}

// merge joins adjacent text segments of the same formatting: Word splits
// runs anywhere (spelling marks, revisions).
func merge(segs []seg) []seg {
	var out []seg
	for _, s := range segs {
		if n := len(out); n > 0 && !s.md && !out[n-1].md && out[n-1].b == s.b && out[n-1].i == s.i && out[n-1].link == s.link {
			out[n-1].text += s.text
			continue
		}
		out = append(out, s)
	}
	// Spaces are not worth emphasis: " " in bold between two plain runs.
	for i := range out {
		if !out[i].md && strings.TrimSpace(out[i].text) == "" {
			out[i].b, out[i].i = false, false
		}
	}
	return out
}

// formatted writes segments of one link as Markdown text with emphasis.
func formatted(segs []seg) string {
	var b strings.Builder
	for i := 0; i < len(segs); {
		s := segs[i]
		if s.md {
			b.WriteString(s.text)
			i++
			continue
		}
		// Join runs of the same emphasis (they were merged unless a
		// picture or note sits between).
		j := i + 1
		text := escapeText(s.text, b.Len() == 0)
		for j < len(segs) && !segs[j].md && segs[j].b == s.b && segs[j].i == s.i {
			text += escapeText(segs[j].text, false)
			j++
		}
		mark := ""
		switch {
		case s.b && s.i:
			mark = "***"
		case s.b:
			mark = "**"
		case s.i:
			mark = "*"
		}
		if mark == "" || strings.TrimSpace(text) == "" {
			b.WriteString(text)
		} else {
			lead := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
			trail := text[len(strings.TrimRight(text, " \t")):]
			b.WriteString(lead + mark + strings.TrimSpace(text) + mark + trail)
		}
		i = j
	}
	return b.String()
}

// oneLine turns line breaks and other control characters into spaces.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7F || r == '\u2028' || r == '\u2029' }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7F || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// escapeText writes text so that the Markdown reader reads it back as the
// same text: emphasis, link and code characters are escaped; "_" inside a
// word (snake_case, URLs) is left alone, as CommonMark reads it as text.
func escapeText(s string, lineStart bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	prev := rune(-1)
	for i, r := range s {
		switch r {
		case '\\', '*', '`', '[', ']':
			b.WriteByte('\\')
		case '_':
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if !(isWord(prev) && isWord(next)) {
				b.WriteByte('\\')
			}
		case '<':
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if next < utf8.RuneSelf && (unicode.IsLetter(next) || next == '/' || next == '!' || next == '?') {
				b.WriteByte('\\')
			}
		case '&':
			if looksLikeEntity(s[i:]) {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func isWord(r rune) bool {
	return r >= 0 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func looksLikeEntity(s string) bool {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 32 {
		return false
	}
	for _, c := range s[1:end] {
		if !(c == '#' || c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c))) {
			return false
		}
	}
	return true
}

// escapeDest writes a link target as a Markdown link destination.
func escapeDest(u string) string {
	u = strings.TrimSpace(oneLine(u))
	r := strings.NewReplacer(" ", "%20", "\t", "%09", "<", "%3C", ">", "%3E")
	u = r.Replace(u)
	if strings.Count(u, "(") != strings.Count(u, ")") {
		u = strings.NewReplacer("(", "%28", ")", "%29").Replace(u)
	}
	return u
}
