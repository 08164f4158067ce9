package newsletter

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxTitleBytes is longer than any title, heading or table of contents
// line; longer lines are paragraphs and are not normalised for comparison.
const maxTitleBytes = 600

// MaxFileSize bounds what Parse accepts. A real issue is tens of kilobytes;
// anything near this is the wrong file.
const MaxFileSize = 4 << 20

// Parse reads one issue in the editors' Markdown export format (see
// docs/newsletter-format.md). name is used only in messages. On success
// it returns the issue and any warnings; on failure a nil issue and an error
// joining one *ParseError per problem found, in line order.
//
// The format, top to bottom: a masthead (the firm-wide number "No.233", the
// month "2021.04", the Chinese and English titles, the series number
// "No.53"); a table of contents of section headings ("国内要闻 Domestic
// News") each followed by its items' Chinese and English titles; the body,
// where each section heading comes again and each item gives its Chinese
// title, Chinese paragraphs, English title and English paragraphs; then the
// disclaimer in Chinese and English and a footer, which is ignored. Any line
// may carry Markdown decoration (# headings, **bold**).
func Parse(name string, data []byte) (*Issue, []Warning, error) {
	if isWord(name, data) {
		return parseWord(name, data)
	}
	return parseMarkdownText(name, data)
}

func parseMarkdownText(name string, data []byte) (*Issue, []Warning, error) {
	p := &parser{file: name}
	if err := p.readLines(data); err != nil {
		return nil, nil, err
	}
	p.parse()
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *ParseError) int { return cmp.Compare(a.Line, b.Line) })
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, p.warns, errors.Join(errs...)
	}
	slices.SortStableFunc(p.warns, func(a, b Warning) int { return cmp.Compare(a.Line, b.Line) })
	return &p.issue, p.warns, nil
}

// line is one non-blank line of the file.
type line struct {
	num       int    // 1-based, in the file
	raw       string // as written, without surrounding spaces
	text      string // without Markdown decoration
	key       string // for comparing titles, see key()
	decorated bool   // a # heading or wholly bold
}

// tocEntry is one item listed in the table of contents.
type tocEntry struct {
	zh, en       string
	zhKey, enKey string
	line, enLine int // of the Chinese and English titles
	section      int // index into parser.tocSections
	found        int // line of the item in the body, 0 until found (-1: a duplicate entry)
}

type tocSection struct {
	zh, en, key string
	line        int
}

type parser struct {
	file  string
	lines []line
	errs  []*ParseError
	warns []Warning
	issue Issue

	tocSections []tocSection
	entries     []*tocEntry
	byZH, byEN  map[string]*tocEntry
	sectionKeys map[string]int // TOC section key → index
	count       map[string]int // how often each line key occurs in the file

	notes     map[string]*footnote // footnote definitions [^id]: text, by id
	noteOrder []*footnote
}

// footnote is a footnote definition, "[^1]: text" (pandoc, GFM).
type footnote struct {
	id, text string
	line     int
	used     bool
}

// defineNote records a footnote definition; a second one with the same id
// replaces the first, with a warning.
func (p *parser) defineNote(id, text string, line int) *footnote {
	if p.notes == nil {
		p.notes = map[string]*footnote{}
	}
	if prev, dup := p.notes[id]; dup {
		p.warnf(line, "the footnote [^%s] is defined twice (also on line %d); using this one", id, prev.line)
	}
	n := &footnote{id: id, text: strings.TrimSpace(text), line: line}
	p.notes[id] = n
	p.noteOrder = append(p.noteOrder, n)
	return n
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(line int, format string, args ...any) {
	p.warns = append(p.warns, Warning{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// readLines checks that the file is non-empty UTF-8 text and splits it into
// its non-blank lines. The problems it finds stop the parse at once: nothing
// else can be said about a file that is not text.
func (p *parser) readLines(data []byte) error {
	fail := func(line int, format string, args ...any) error {
		return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxFileSize {
		return fail(1, "the file is %.1f MB, far more than an issue; an issue file is at most %d MB — is this the right file?",
			float64(len(data))/(1<<20), MaxFileSize>>20)
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return fail(1, "the file is saved as UTF-16 text; save it again as UTF-8")
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	num := 1
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\n':
			num++
			i++
		case c < 0x20 && c != '\t' && c != '\r' && c != '\f' && c != '\v':
			return fail(num, "this line holds binary data (control byte 0x%02X): the file is not a text file; export the issue as Markdown text (.md)", c)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return fail(num, "the file is not UTF-8 text (byte 0x%02X on this line); save it again as UTF-8 — it may have been saved as GBK or another encoding", c)
			}
			i += size
		}
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var note *footnote // the definition being read: indented lines continue it
	for i, raw := range strings.Split(text, "\n") {
		indented := strings.HasPrefix(raw, "    ") || strings.HasPrefix(raw, "\t")
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		if id, body, ok := noteDefinition(raw); ok {
			note = p.defineNote(id, body, i+1)
			continue
		}
		if note != nil && indented {
			note.text = strings.TrimSpace(note.text + " " + raw)
			continue
		}
		note = nil
		if isThematicBreak(raw) {
			continue // "---" between the table of contents and the body
		}
		raw = stripAttributes(raw)
		s := strip(raw)
		k := raw // a paragraph: never compared as a title, longer than any key
		if len(raw) <= maxTitleBytes {
			k = key(s.text)
			if zh, en, ok := splitHeading(s.text); ok {
				// "国内要闻 | Domestic News" and "国内要闻 Domestic News" are one section.
				k = key(zh + " " + en)
			}
		}
		p.lines = append(p.lines, line{num: i + 1, raw: raw, text: s.text, key: k, decorated: s.decorated})
	}
	if len(p.lines) == 0 {
		return fail(1, "the file is empty: an issue needs a masthead (No.233, 2021.04, the titles, No.53), a table of contents and the news items")
	}
	return nil
}

func (p *parser) parse() {
	start := p.findTOC()
	end := start
	if start < 0 {
		end = len(p.lines)
	}
	p.masthead(end)
	if start < 0 {
		p.errorf(p.lines[len(p.lines)-1].num, "no sections found: after the masthead, the table of contents and the body must group the items under section headings in the form \"国内要闻 Domestic News\" (Chinese name, a space, English name)")
		return
	}
	body, ok := p.toc(start)
	if !ok {
		return
	}
	p.body(body)
}

// findTOC returns the index of the table of contents' first section heading:
// the first "中文 English" line followed by a Chinese title that occurs again
// later (in the body). Without such a line it falls back to the first
// heading-shaped line followed by Chinese text, and -1 means none.
func (p *parser) findTOC() int {
	p.count = make(map[string]int, len(p.lines))
	for _, l := range p.lines {
		p.count[l.key]++
	}
	first := -1
	for i := 0; i+1 < len(p.lines); i++ {
		if _, _, ok := splitHeading(p.lines[i].text); !ok {
			continue
		}
		next := p.lines[i+1]
		if p.count[p.lines[i].key] >= 2 && !isProse(next) || isChinese(next.text) && p.count[next.key] >= 2 {
			return i
		}
		if first < 0 && isChinese(next.text) {
			first = i
		}
	}
	return first
}

// masthead reads the issue numbers, month and titles from lines[:end].
func (p *parser) masthead(end int) {
	at := p.lines[len(p.lines)-1].num
	if end < len(p.lines) {
		at = p.lines[end].num
	}
	type number struct{ n, idx int }
	var nums []number
	monthIdx := -1
	firmWide := -1 // index in nums of a number marked 总第…期
	for i, l := range p.lines[:end] {
		// A line holds one token, or several ("No.233 | 2021.04").
		for _, tok := range mastheadTokens(l.text) {
			if n, ok := issueNumber(tok); ok {
				if firmWideNumber(tok) && firmWide < 0 {
					firmWide = len(nums)
				}
				nums = append(nums, number{n, i})
			} else if m, ok := monthLine(tok); ok && monthIdx < 0 {
				p.issue.Month, monthIdx = m, i
			}
		}
	}
	if firmWide > 0 {
		// "No.53 总第233期": the marked number is the newsletter's, first.
		nums[0], nums[firmWide] = nums[firmWide], nums[0]
	}
	switch len(nums) {
	case 0:
		p.errorf(at, "the masthead above this line has no issue numbers: add the firm-wide newsletter number (a line like No.233) and the weekly series number (a line like No.53, after the English title)")
	case 1:
		p.errorf(p.lines[nums[0].idx].num, "the masthead has only one issue number (No.%d); it needs two: the firm-wide newsletter number (a line like No.233, before the month) and the weekly series number (a line like No.53, after the English title)", nums[0].n)
	default:
		p.issue.NewsletterNumber = nums[0].n
		p.issue.Number = nums[len(nums)-1].n
		if len(nums) > 2 {
			p.warnf(p.lines[nums[1].idx].num, "the masthead has %d issue numbers; using the first (No.%d) as the newsletter number and the last (No.%d) as the series number", len(nums), nums[0].n, nums[len(nums)-1].n)
		}
	}
	if monthIdx < 0 {
		p.errorf(at, "the masthead above this line has no month: add a line like 2021.04 (year.month) after the newsletter number")
	}

	// The titles sit between the two numbers; without both (or with both on
	// one line), anywhere above, the nearest the body winning.
	from, to := 0, end
	if len(nums) >= 2 && nums[0].idx != nums[len(nums)-1].idx {
		from, to = nums[0].idx+1, nums[len(nums)-1].idx
	}
	for i := from; i < to; i++ {
		l := p.lines[i]
		if i == monthIdx || len(mastheadTokens(l.text)) > 0 || isContentsHeading(l.text) {
			continue
		}
		if isChinese(l.text) {
			p.issue.TitleZH = l.text
		} else if hasLetter(l.text) {
			p.issue.TitleEN = l.text
		}
	}
	if p.issue.TitleZH == "" && from > 0 {
		// A title heading above the numbers ("# 立方…周报", then "No.241 | 2021.07").
		for i := from - 2; i >= 0; i-- {
			if l := p.lines[i]; isChinese(l.text) && len(mastheadTokens(l.text)) == 0 && !isContentsHeading(l.text) {
				p.issue.TitleZH = l.text
				break
			}
		}
	}
	if p.issue.TitleZH == "" {
		p.warnf(at, "the masthead has no Chinese title (like 立方网络安全与数据合规周报) between the two issue numbers")
	}
	if p.issue.TitleEN == "" {
		p.warnf(at, "the masthead has no English title (like Weekly Cybersecurity and Data Protection Review) between the two issue numbers")
	}
}

// mastheadTokens returns the issue numbers and month of a masthead line:
// the whole line when it is one ("No.233"), or its parts when every part of
// it is one ("No.233 | 2021.04"); nil for any other line.
func mastheadTokens(s string) []string {
	isToken := func(t string) bool {
		_, num := issueNumber(t)
		_, month := monthLine(t)
		return num || month
	}
	if isToken(s) {
		return []string{s}
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '|' || r == '｜' || r == '·' || r == '/' || r == '\t' })
	if len(parts) < 2 {
		return nil
	}
	// "No. 233" splits into "No." and "233": join a bare "No." with its number.
	var toks []string
	for i := 0; i < len(parts); i++ {
		t := parts[i]
		if i+1 < len(parts) && strings.EqualFold(strings.TrimRight(t, ".:"), "no") {
			t += parts[i+1]
			i++
		}
		if !isToken(t) {
			return nil
		}
		toks = append(toks, t)
	}
	return toks
}

func hasLetter(s string) bool {
	for _, r := range s {
		if isASCIILetter(r) {
			return true
		}
	}
	return false
}

// toc reads the table of contents from lines[start] and returns the index
// where the body starts. ok is false when there is no usable table of
// contents, after reporting why.
func (p *parser) toc(start int) (body int, ok bool) {
	p.byZH = map[string]*tocEntry{}
	p.byEN = map[string]*tocEntry{}
	p.sectionKeys = map[string]int{}
	var pending *tocEntry // its English title comes next
	i := start
	for ; i < len(p.lines); i++ {
		l := p.lines[i]
		if pending != nil {
			pending = nil
			if isChinese(l.text) && isProse(l) {
				// Prose where titles belong: the table of contents is missing
				// and the body has begun.
				p.errorf(l.num, "this line reads like an item's text, but the table of contents is expected here: list each item's Chinese and English titles under the section headings before the first item")
				return 0, false
			}
			if !isChinese(l.text) {
				e := p.entries[len(p.entries)-1]
				e.en, e.enKey, e.enLine = l.text, l.key, l.num
				if prev, dup := p.byEN[l.key]; dup {
					p.errorf(l.num, "the table of contents lists the English title %q twice (also on line %d); each item needs its own title", l.text, prev.enLine)
				} else {
					p.byEN[l.key] = e
				}
				continue
			}
			e := p.entries[len(p.entries)-1]
			p.errorf(e.line, "the table of contents lists %q without an English title on the line after it", e.zh)
		}
		if p.bodyStartsAt(i) {
			break
		}
		if zh, en, ok := splitHeading(l.text); ok && i+1 < len(p.lines) && (isChinese(p.lines[i+1].text) || p.count[l.key] >= 2) {
			if _, dup := p.sectionKeys[l.key]; !dup {
				p.sectionKeys[l.key] = len(p.tocSections)
			}
			p.tocSections = append(p.tocSections, tocSection{zh: zh, en: en, key: l.key, line: l.num})
			continue
		}
		if isChinese(l.text) {
			if isProse(l) {
				p.errorf(l.num, "this line reads like an item's text, but the table of contents is expected here: list each item's Chinese and English titles under the section headings before the first item")
				return 0, false
			}
			e := &tocEntry{zh: l.text, zhKey: l.key, line: l.num, section: len(p.tocSections) - 1}
			if prev, dup := p.byZH[l.key]; dup {
				p.errorf(l.num, "the table of contents lists %q twice (also on line %d); each item needs its own title", l.text, prev.line)
				e.found = -1 // reported: not also "no item follows"
			} else {
				p.byZH[l.key] = e
			}
			p.entries = append(p.entries, e)
			pending = e
			continue
		}
		p.errorf(l.num, "the table of contents lists the English title %q without a Chinese title on the line before it", l.text)
	}
	if pending != nil {
		p.errorf(pending.line, "the table of contents lists %q without an English title on the line after it", pending.zh)
	}
	for k, s := range p.tocSections {
		if !slices.ContainsFunc(p.entries, func(e *tocEntry) bool { return e.section == k }) {
			p.warnf(s.line, "the table of contents lists no items under the section %q", s.zh+" "+s.en)
		}
	}
	return i, true
}

// bodyStartsAt reports whether the body begins at lines[i]: a section
// heading from the table of contents comes again, or a heading is followed
// by a title already listed, or a listed title comes again.
func (p *parser) bodyStartsAt(i int) bool {
	l := p.lines[i]
	if _, ok := p.byZH[l.key]; ok {
		return true
	}
	if _, _, ok := splitHeading(l.text); !ok {
		return false
	}
	if _, ok := p.sectionKeys[l.key]; ok {
		return true
	}
	if i+1 < len(p.lines) {
		_, ok := p.byZH[p.lines[i+1].key]
		return ok
	}
	return false
}

// bodyState is where the body parser is.
type bodyState int

const (
	atSection bodyState = iota // after a section heading: an item title comes next
	inZH                       // in an item's Chinese paragraphs
	inEN                       // in an item's English paragraphs
	skipping                   // after an unlisted item: until the next listed title
	inTail                     // disclaimers and footer
)

// para is a paragraph being collected.
type para struct {
	text string
	line int
}

// itemRef locates the item being read and where its parts were found.
type itemRef struct {
	sec, item      int
	entry          *tocEntry
	zhLine, enLine int
	links          [2][]para // More link targets (zh, en) with their lines
}

// bodyParser reads the body line by line: section headings, item titles
// (Chinese, then English), their paragraphs, then the disclaimer and footer.
type bodyParser struct {
	p        *parser
	state    bodyState
	cur      *itemRef
	secLines []int // line of each body section heading
	buf      para
	tail     []para
	headless bool // no section heading before the first item
}

func (p *parser) body(start int) {
	b := &bodyParser{p: p, state: atSection}
	for i := start; i < len(p.lines); i++ {
		if b.line(i) {
			continue
		}
		// Each line is a paragraph: the editors' export writes one per line,
		// and the footer's office lists are consecutive lines.
		l := p.lines[i]
		b.flush()
		b.buf = para{text: l.raw, line: l.num}
	}
	b.flush()
	b.endItem()
	b.checkLastSection()
	for _, e := range p.entries {
		if e.found == 0 {
			p.errorf(e.line, "the table of contents lists %q but no item with that title follows in the body", e.zh)
		}
	}
	p.tail(b.tail, p.lines[len(p.lines)-1].num)
	p.attachNotes()
}

// line handles line i when it is a heading, a title or a line the state
// skips, and reports whether it did; otherwise the line is a paragraph.
func (b *bodyParser) line(i int) bool {
	p := b.p
	l := p.lines[i]
	if zh, en, ok := splitHeading(l.text); ok && p.isBodyHeading(i) {
		b.sectionHeading(l, zh, en)
		return true
	}
	if e, ok := p.byZH[l.key]; ok {
		b.itemTitle(l, e)
		return true
	}
	switch b.state {
	case inZH:
		return b.inChinese(l)
	case inEN, atSection:
		return b.inEnglish(l)
	case skipping:
		// The unlisted item's own Chinese paragraphs read like the
		// disclaimer, so only the footer or disclaimer words end it.
		if !isFooterLine(l.text) && !hasDisclaimerWord(l.text) {
			return true
		}
		b.state = inTail
	}
	return false
}

func (b *bodyParser) item() *Item { return &b.p.issue.Sections[b.cur.sec].Items[b.cur.item] }

// flush ends the paragraph being collected.
func (b *bodyParser) flush() {
	if b.buf.text == "" {
		return
	}
	switch b.state {
	case inZH, inEN:
		lang := 0
		if b.state == inEN {
			lang = 1
		}
		text, dests := cutMoreLinks(b.buf.text)
		for _, d := range dests {
			b.cur.links[lang] = append(b.cur.links[lang], para{linkTarget(d), b.buf.line})
		}
		if text != "" {
			if lang == 0 {
				b.item().BodyZH = append(b.item().BodyZH, text)
			} else {
				b.item().BodyEN = append(b.item().BodyEN, text)
			}
		}
	case inTail:
		b.tail = append(b.tail, b.buf)
	}
	b.buf = para{}
}

func (b *bodyParser) endItem() {
	if b.cur != nil && b.state == inZH {
		e := b.cur.entry
		b.p.errorf(b.cur.zhLine, "the item %q has no English part: the English title %q from the table of contents (line %d) should follow its Chinese paragraphs", e.zh, e.en, e.enLine)
	}
	if b.cur != nil {
		b.p.finishItem(b.cur)
	}
	b.cur = nil
}

// checkLastSection reports a section left without items.
func (b *bodyParser) checkLastSection() {
	if n := len(b.p.issue.Sections); n > 0 && len(b.p.issue.Sections[n-1].Items) == 0 {
		s := b.p.issue.Sections[n-1]
		b.p.errorf(b.secLines[n-1], "the section %q has no items in the body", s.TitleZH+" "+s.TitleEN)
	}
}

func (b *bodyParser) newSection(zh, en string, line int) {
	b.checkLastSection()
	b.p.issue.Sections = append(b.p.issue.Sections, Section{TitleZH: zh, TitleEN: en, Items: []Item{}})
	b.secLines = append(b.secLines, line)
}

// endBefore ends the paragraph and the item before a section heading or an
// item title (what); in the disclaimer or footer it reports the line as
// misplaced instead and is false.
func (b *bodyParser) endBefore(l line, what string) bool {
	b.flush()
	if b.state == inTail {
		b.p.errorf(l.num, "the %s %q comes after the disclaimer or footer (line %d); move it above the disclaimer", what, l.text, b.tail[0].line)
		return false
	}
	b.endItem()
	return true
}

func (b *bodyParser) sectionHeading(l line, zh, en string) {
	p := b.p
	if !b.endBefore(l, "section") {
		return
	}
	if _, listed := p.sectionKeys[l.key]; !listed {
		p.warnf(l.num, "the section %q is not in the table of contents", l.text)
	}
	b.newSection(zh, en, l.num)
	b.state = atSection
}

// itemTitle starts the item whose Chinese title (from the table of
// contents) is line l.
func (b *bodyParser) itemTitle(l line, e *tocEntry) {
	p := b.p
	if !b.endBefore(l, "item") {
		return
	}
	if e.found != 0 {
		p.errorf(l.num, "the item %q appears twice in the body (also on line %d); remove one of them", l.text, e.found)
		b.state = skipping
		return
	}
	e.found = l.num
	if len(p.issue.Sections) == 0 || b.headless && p.tocSections[e.section].key != key(p.issue.Sections[len(p.issue.Sections)-1].TitleZH+p.issue.Sections[len(p.issue.Sections)-1].TitleEN) {
		// No heading in the body: group items as the table of contents does.
		if !b.headless {
			p.warnf(l.num, "the body has no section heading before its first item; using the sections of the table of contents")
		}
		b.headless = true
		s := p.tocSections[e.section]
		b.newSection(s.zh, s.en, l.num)
	}
	sec := len(p.issue.Sections) - 1
	if s := p.issue.Sections[sec]; !b.headless && e.section >= 0 && key(s.TitleZH+s.TitleEN) != p.tocSections[e.section].key {
		t := p.tocSections[e.section]
		p.warnf(l.num, "the item %q is under the section %q in the body but under %q in the table of contents", l.text, s.TitleZH+" "+s.TitleEN, t.zh+" "+t.en)
	}
	p.issue.Sections[sec].Items = append(p.issue.Sections[sec].Items, Item{TitleZH: titleText(l.text), BodyZH: []string{}, BodyEN: []string{}})
	b.cur = &itemRef{sec: sec, item: len(p.issue.Sections[sec].Items) - 1, entry: e, zhLine: l.num}
	b.state = inZH
}

// startEnglish makes line l the current item's English title.
func (b *bodyParser) startEnglish(l line) {
	b.flush()
	b.item().TitleEN = titleText(l.text)
	b.cur.enLine = l.num
	b.state = inEN
}

// inChinese handles line l in an item's Chinese paragraphs when it is an
// English title (the item's, another's, or a mismatched one).
func (b *bodyParser) inChinese(l line) bool {
	p, cur := b.p, b.cur
	if l.key == cur.entry.enKey {
		b.startEnglish(l)
		return true
	}
	if other, ok := p.byEN[l.key]; ok {
		p.errorf(l.num, "the English title %q belongs to the item %q in the table of contents (line %d), but the Chinese part above it is %q (line %d)", l.text, other.zh, other.line, cur.entry.zh, cur.zhLine)
		b.flush()
		b.state = skipping
		b.cur = nil
		return true
	}
	if looksLikeENTitle(l) && cur.entry.enKey == "" {
		// The table of contents lacks this English title (reported there).
		b.startEnglish(l)
		return true
	}
	if looksLikeENTitle(l) {
		p.errorf(l.num, "the English title of %q here is %q, but the table of contents (line %d) lists %q (%s); make the two the same", cur.entry.zh, l.text, cur.entry.enLine, cur.entry.en, describeDiff(l.text, cur.entry.en))
		b.startEnglish(l)
		return true
	}
	return false
}

// inEnglish handles line l after a section heading or in an item's English
// paragraphs when it is a stray title, the start of the tail, or an
// English sub-heading.
func (b *bodyParser) inEnglish(l line) bool {
	p := b.p
	if other, ok := p.byEN[l.key]; ok {
		p.errorf(l.num, "the English title %q appears here without its Chinese title %q (listed on line %d) above it", l.text, other.zh, other.line)
		b.flush()
		b.endItem()
		b.state = skipping
		return true
	}
	if startsTail(l) {
		b.flush()
		b.endItem()
		b.state = inTail
		return false
	}
	if b.state == inEN && l.decorated && !isChinese(l.text) && !isMoreOnly(l.raw) && p.byEN[l.key] == nil {
		// A sub-heading inside the English text ("**Key
		// measures**", "### Key measures"): kept as a strong
		// paragraph of that text.
		b.flush()
		b.buf = para{text: "**" + escapeEmphasis(l.text) + "**", line: l.num}
		return true
	}
	if b.state == atSection || looksLikeZHTitle(l) || l.decorated && !isMoreOnly(l.raw) {
		if e := p.nearEntry(l); e != nil {
			// A typo on one side: say where the two differ, once
			// (not also "no item follows" for the entry).
			e.found = -1
			p.errorf(l.num, "the item title %q differs slightly from the table of contents' %q (line %d): %s; make the two the same", clip(l.text, 60), clip(e.zh, 60), e.line, describeDiff(l.text, e.zh))
		} else {
			p.errorf(l.num, "the body has an item %q that is not in the table of contents; add its Chinese and English titles to the table of contents, or correct the title here to match it", clip(l.text, 60))
		}
		b.flush()
		b.endItem()
		b.state = skipping
		return true
	}
	return false
}

// attachNotes gives each item the footnotes its paragraphs refer to, in
// the order of first reference, and warns about references without a
// definition and definitions never referred to.
func (p *parser) attachNotes() {
	for s := range p.issue.Sections {
		for i := range p.issue.Sections[s].Items {
			it := &p.issue.Sections[s].Items[i]
			seen := map[string]bool{}
			for _, para := range append(slices.Clone(it.BodyZH), it.BodyEN...) {
				if !strings.Contains(para, "[^") {
					continue
				}
				for _, id := range noteRefs(ParseInline(para), nil) {
					if seen[id] {
						continue
					}
					seen[id] = true
					n, ok := p.notes[id]
					if !ok {
						p.warnf(p.itemLine(it), "the item %q refers to the footnote [^%s], which is not defined; add a line \"[^%s]: the note\" at the end of the file", it.TitleZH, id, id)
						continue
					}
					n.used = true
					it.Notes = append(it.Notes, Note{ID: id, Text: n.text})
				}
			}
		}
	}
	for _, n := range p.noteOrder {
		if !n.used && p.notes[n.id] == n {
			p.warnf(n.line, "the footnote [^%s] is not referred to by any item; it is left out", n.id)
		}
	}
}

// itemLine is where an item's Chinese title is, for warnings after the body.
func (p *parser) itemLine(it *Item) int {
	if e, ok := p.byZH[key(it.TitleZH)]; ok && e.found > 0 {
		return e.found
	}
	return 1
}

// noteRefs collects the ids of the footnote references in ins.
func noteRefs(ins []Inline, ids []string) []string {
	for _, in := range ins {
		if in.Kind == InlineNote {
			ids = append(ids, in.Text)
		}
		ids = noteRefs(in.Children, ids)
	}
	return ids
}

// noteDefinition reads a footnote definition line, "[^id]: text".
func noteDefinition(raw string) (id, text string, ok bool) {
	if !strings.HasPrefix(raw, "[^") {
		return "", "", false
	}
	end := strings.Index(raw[:min(len(raw), maxNoteID+4)], "]:")
	if end < 3 || strings.ContainsAny(raw[2:end], " \t[]^\\") {
		return "", "", false
	}
	return raw[2:end], strings.TrimSpace(raw[end+2:]), true
}

// isBodyHeading reports a section heading in the body: one the table of
// contents lists, or any "中文 English" line followed by a listed title.
func (p *parser) isBodyHeading(i int) bool {
	l := p.lines[i]
	if _, ok := p.byZH[l.key]; ok {
		return false
	}
	if _, ok := p.sectionKeys[l.key]; ok {
		return true
	}
	if i+1 < len(p.lines) {
		_, ok := p.byZH[p.lines[i+1].key]
		return ok
	}
	return false
}

// finishItem fills in the item's links and date once all its paragraphs are in.
func (p *parser) finishItem(r *itemRef) {
	it := &p.issue.Sections[r.sec].Items[r.item]
	links := [2]*string{&it.LinkZH, &it.LinkEN}
	for lang, ls := range r.links {
		for _, l := range ls {
			if l.text == "" {
				continue
			}
			if *links[lang] != "" && *links[lang] != l.text {
				p.warnf(l.line, "the item %q has two different links (%s and %s); using the last", it.TitleZH, *links[lang], l.text)
			}
			*links[lang] = l.text
		}
	}
	var zhDate, enDate string
	if len(it.BodyZH) > 0 {
		zhDate, _ = chineseDate(it.BodyZH[0])
	}
	if len(it.BodyEN) > 0 {
		enDate, _ = englishDate(it.BodyEN[0])
	}
	it.Date = zhDate
	if it.Date == "" {
		it.Date = enDate
	}
	if zhDate != "" && enDate != "" && zhDate != enDate {
		p.warnf(r.enLine, "the item %q is dated %s in Chinese but %s in English; using %s", it.TitleZH, zhDate, enDate, zhDate)
	}
	if len(it.BodyZH) == 0 {
		p.warnf(r.zhLine, "the item %q has no Chinese paragraphs", it.TitleZH)
	}
	if len(it.BodyEN) == 0 && r.enLine > 0 {
		p.warnf(r.enLine, "the item %q has no English paragraphs", it.TitleZH)
	}
}

// tail takes the disclaimers from the paragraphs after the last item: the
// first Chinese paragraph and the first English one. The footer (follow-us
// lines, office list) is dropped; other leftover text gets a warning.
func (p *parser) tail(paras []para, last int) {
	for _, t := range paras {
		switch {
		case isFooterLine(t.text), isDisclaimerHeading(t.text):
		case isChinese(t.text) && p.issue.DisclaimerZH == "":
			p.issue.DisclaimerZH = t.text
		case !isChinese(t.text) && p.issue.DisclaimerEN == "" && utf8.RuneCountInString(t.text) >= 40:
			p.issue.DisclaimerEN = t.text
		default:
			p.warnf(t.line, "text after the disclaimer is ignored: %q", clip(t.text, 40))
		}
	}
	at := last
	if len(paras) > 0 {
		at = paras[0].line
	}
	if p.issue.DisclaimerZH == "" {
		p.warnf(at, "no Chinese disclaimer after the last item")
	}
	if p.issue.DisclaimerEN == "" {
		p.warnf(at, "no English disclaimer after the last item")
	}
}

// titleText is an item title as shown: without a full stop or comma an
// editor left at its end ("…通过。"), which the table of contents (where
// titles are compared without it) does not have either.
func titleText(s string) string {
	t := strings.TrimRightFunc(s, func(r rune) bool { return strings.ContainsRune("。，；、：", r) })
	if t == "" {
		return s
	}
	return t
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// startsTail reports a line that ends the items: the Chinese disclaimer or
// the follow-us footer. A short Chinese line without a full stop is a title
// instead (see looksLikeZHTitle).
func startsTail(l line) bool {
	if isFooterLine(l.text) || isDisclaimerHeading(l.text) || isDisclaimerEN(l.text) {
		return true
	}
	return isChinese(l.text) && !looksLikeZHTitle(l) && !isMoreOnly(l.raw)
}

// isDisclaimerHeading reports a heading over the disclaimer ("免责声明", "Disclaimer").
func isDisclaimerHeading(s string) bool {
	if len(s) > 100 {
		return false
	}
	t := strings.ToLower(strip(s).text)
	return utf8.RuneCountInString(t) <= 24 && (strings.Contains(t, "免责") || strings.Contains(t, "disclaimer") || t == "声明" || t == "法律声明")
}

var disclaimerPhrases = []string{"not be relied on as legal advice", "not constitute legal advice", "is not legal advice", "not be regarded as legal advice", "prepared for clients"}

// isDisclaimerEN reports the English disclaimer, for issues whose Chinese
// disclaimer is missing: it must not be taken for the last item's text.
func isDisclaimerEN(s string) bool {
	if !strings.Contains(s, "advice") && !strings.Contains(s, "clients") {
		return false
	}
	t := strings.ToLower(s)
	for _, ph := range disclaimerPhrases {
		if strings.Contains(t, ph) {
			return true
		}
	}
	return false
}

var disclaimerWords = []string{"仅供参考", "法律意见", "免责", "不构成", "不应被看作", "不代表"}

// looksLikeZHTitle reports a short Chinese line that reads like a title:
// after an item's English paragraphs it can only be the next item's title.
func looksLikeZHTitle(l line) bool {
	t := l.text
	if !isChinese(t) || endsSentence(t) || utf8.RuneCountInString(t) > 80 || strings.Contains(l.raw, "](") || isFooterLine(t) {
		return false
	}
	return !hasDisclaimerWord(t)
}

func hasDisclaimerWord(s string) bool {
	for _, w := range disclaimerWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// isProse reports a line that reads like a paragraph rather than a title,
// judged on its text without a trailing (More) link.
func isProse(l line) bool {
	rest, _ := cutMoreLinks(l.raw)
	return rest == "" || endsSentence(rest) || utf8.RuneCountInString(rest) > 100
}

// looksLikeENTitle reports a short English line that reads like a title:
// in an item's Chinese paragraphs it can only be the English title.
func looksLikeENTitle(l line) bool {
	t := l.text
	if isChinese(t) || !hasLetter(t) || endsSentence(t) || utf8.RuneCountInString(t) > 250 {
		return false
	}
	return !strings.Contains(l.raw, "](") && !strings.HasPrefix(l.raw, "(") && !strings.HasPrefix(l.raw, "!") && !strings.HasPrefix(l.raw, "[")
}

// isMoreOnly reports a paragraph that is only a (查看更多)/(More) link.
func isMoreOnly(raw string) bool {
	rest, dests := cutMoreLinks(raw)
	return len(dests) > 0 && rest == ""
}

var footerWords = []string{"扫码关注", "关注公众号", "关注我们", "长按识别", "二维码", "Subscribe to", "Follow us", "follow us", "WeChat community", "WeChat account"}

// isFooterLine reports the follow-us and office lines that close an issue.
func isFooterLine(s string) bool {
	if endsSentence(s) {
		return false
	}
	if strings.Count(s, "|") >= 2 || strings.Count(s, "｜") >= 2 {
		return true
	}
	if utf8.RuneCountInString(s) > 120 {
		return false
	}
	for _, w := range footerWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// isThematicBreak reports a Markdown rule: "---", "***", "___", "- - -".
func isThematicBreak(s string) bool {
	t := strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), "\t", "")
	if len(t) < 3 {
		return false
	}
	return strings.Trim(t, "-") == "" || strings.Trim(t, "*") == "" || strings.Trim(t, "_") == ""
}

// isContentsHeading reports the heading over a table of contents.
func isContentsHeading(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "目录", "本期目录", "目 录", "contents", "table of contents", "目录 contents", "目录 table of contents":
		return true
	}
	return false
}
