package newsletter

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark/ast"
	gmparser "github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// InlineKind says what an Inline is.
type InlineKind int

// The inline Markdown the editors write inside paragraphs.
const (
	InlineText   InlineKind = iota // plain text (Text)
	InlineEmph                     // *x* or _x_ (Children)
	InlineStrong                   // **x** or __x__ (Children)
	InlineCode                     // `x` (Text)
	InlineLink                     // [x](url) or <https://…> (Children, URL)
	InlineImage                    // ![alt](src) (Text = alt, URL = src)
	InlineNote                     // a footnote reference [^id] (Text = id; the note is in Item.Notes)
)

// Inline is one piece of a paragraph. Item paragraphs keep their inline
// Markdown as written; ParseInline turns it into this tree for the renderer,
// and PlainText flattens it for chat replies and digests.
type Inline struct {
	Kind     InlineKind
	Text     string
	URL      string
	Children []Inline
}

// maxInlineDepth bounds the depth of the tree handed out (emphasis in
// emphasis in a link …): deeper structure is flattened to its text.
const maxInlineDepth = 8

// inlineParser is a CommonMark inline parser (goldmark) restricted to
// what a paragraph of an issue holds: one paragraph, no block structure
// (a line starting "# " or "1. " inside a body is text, the line logic of
// parse.go has already decided what each line is), no raw HTML ("<b>" is
// text, like "&" and "<" anywhere else), and no reference definitions.
// goldmark's parser is safe for concurrent use once built.
var inlineParser = gmparser.NewParser(
	gmparser.WithBlockParsers(util.Prioritized(gmparser.NewParagraphParser(), 100)),
	gmparser.WithInlineParsers(
		util.Prioritized(gmparser.NewCodeSpanParser(), 100),
		util.Prioritized(noteRefParser{}, 150),
		util.Prioritized(gmparser.NewLinkParser(), 200),
		util.Prioritized(gmparser.NewAutoLinkParser(), 300),
		util.Prioritized(gmparser.NewEmphasisParser(), 500),
	),
)

// parseMarkdown parses one paragraph into goldmark's tree.
func parseMarkdown(src []byte) ast.Node {
	return inlineParser.Parse(text.NewReader(src))
}

// maxInlineBytes and maxLinkTails bound the paragraphs read as Markdown.
// goldmark is linear in most input, but it reads a link's
// "(destination "title")" afresh at every "](" whose label is open,
// scanning to the end of the line when it does not close, so 512 KB of
// "[a](" would cost 128 K scans of up to 512 KB. No paragraph an editor
// writes comes near either bound: WeChat takes at most 20,000 characters
// in a whole article (the renderer refuses a longer one, naming the item),
// and a paragraph has a handful of links. A paragraph over a bound is
// kept as plain text, as written, so its cost is at most that of 64
// scans of 64 KB.
const (
	maxInlineBytes = 64 << 10
	maxLinkTails   = 64
)

// tooHostile reports a paragraph not read as Markdown (see maxInlineBytes).
func tooHostile(s string) bool {
	return len(s) > maxInlineBytes || strings.Count(s, "](") > maxLinkTails
}

// ParseInline parses a paragraph's inline Markdown: backslash escapes,
// entities, code spans, images, links, autolinks, emphasis and footnote
// references, as CommonMark defines them, in time linear in the paragraph.
// Raw HTML is not interpreted. Text that is not well-formed Markdown stays
// as it is, and so does a paragraph over the bounds of maxInlineBytes.
func ParseInline(s string) []Inline {
	if tooHostile(s) {
		return []Inline{{Kind: InlineText, Text: s}}
	}
	src := []byte(s)
	return inlines(parseMarkdown(src), src)
}

// inlines converts a parsed paragraph.
func inlines(doc ast.Node, src []byte) []Inline {
	c := converter{src: src}
	for b := doc.FirstChild(); b != nil; b = b.NextSibling() {
		if b != doc.FirstChild() {
			c.text.WriteByte(' ')
		}
		c.children(b)
	}
	return c.done()
}

// converter turns goldmark's inline nodes into Inlines. Adjacent text is
// collected in a builder: hostile input is thousands of unmatched
// brackets, each its own text node, and joining them one by one would be
// quadratic.
type converter struct {
	src   []byte
	depth int
	out   []Inline
	text  strings.Builder
}

func (c *converter) add(in Inline) {
	c.flush()
	c.out = append(c.out, in)
}

func (c *converter) flush() {
	if c.text.Len() > 0 {
		c.out = append(c.out, Inline{Kind: InlineText, Text: c.text.String()})
		c.text.Reset()
	}
}

func (c *converter) done() []Inline {
	c.flush()
	return c.out
}

// sub converts n's children one level deeper.
func (c *converter) sub(n ast.Node) []Inline {
	d := converter{src: c.src, depth: c.depth + 1}
	d.children(n)
	return d.done()
}

func (c *converter) children(n ast.Node) {
	for k := n.FirstChild(); k != nil; k = k.NextSibling() {
		c.node(k)
	}
}

func (c *converter) node(n ast.Node) {
	src := c.src
	switch n := n.(type) {
	case *ast.Text:
		c.text.WriteString(textValue(n.Segment.Value(src)))
		if n.SoftLineBreak() || n.HardLineBreak() {
			c.text.WriteByte(' ')
		}
	case *ast.String:
		c.text.Write(n.Value)
	case *ast.CodeSpan:
		c.add(Inline{Kind: InlineCode, Text: plainCode(n, src)})
	case *ast.Emphasis:
		if c.depth >= maxInlineDepth {
			c.text.WriteString(plainOf(n, src))
			return
		}
		kind := InlineEmph
		if n.Level >= 2 {
			kind = InlineStrong
		}
		children := c.sub(n)
		// ***x*** is <em><strong>x</strong></em> in CommonMark; the
		// renderer has always shown it as strong around emphasis.
		if kind == InlineEmph && len(children) == 1 && children[0].Kind == InlineStrong {
			children = []Inline{{Kind: InlineEmph, Children: children[0].Children}}
			kind = InlineStrong
		}
		c.add(Inline{Kind: kind, Children: children})
	case *ast.Link:
		if c.depth >= maxInlineDepth {
			c.text.WriteString(plainOf(n, src))
			return
		}
		c.add(Inline{Kind: InlineLink, URL: textValue(n.Destination), Children: c.sub(n)})
	case *ast.AutoLink:
		u := string(n.URL(src))
		if n.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(strings.ToLower(u), "mailto:") {
			u = "mailto:" + u
		}
		c.add(Inline{Kind: InlineLink, URL: u, Children: []Inline{{Kind: InlineText, Text: string(n.Label(src))}}})
	case *ast.Image:
		c.add(Inline{Kind: InlineImage, Text: plainOf(n, src), URL: textValue(n.Destination)})
	case *noteRef:
		c.add(Inline{Kind: InlineNote, Text: n.id})
	default:
		c.children(n)
	}
}

// textValue resolves backslash escapes and entity references, as a
// CommonMark renderer does when it writes text.
func textValue(b []byte) string {
	if bytes.IndexByte(b, '\\') >= 0 {
		b = util.UnescapePunctuations(b)
	}
	if bytes.IndexByte(b, '&') >= 0 {
		b = util.ResolveEntityNames(util.ResolveNumericReferences(b))
	}
	return string(b)
}

// plainOf is the text of n's descendants without their Markdown. It walks
// the tree without recursion: hostile input can nest emphasis very deeply.
func plainOf(n ast.Node, src []byte) string {
	var b strings.Builder
	c := n.FirstChild()
	for c != nil {
		switch c := c.(type) {
		case *ast.Text:
			b.WriteString(textValue(c.Segment.Value(src)))
		case *ast.String:
			b.Write(c.Value)
		case *ast.AutoLink:
			b.Write(c.Label(src))
		}
		if _, code := c.(*ast.CodeSpan); code {
			b.WriteString(plainCode(c, src))
		} else if first := c.FirstChild(); first != nil {
			c = first
			continue
		}
		for c != n && c.NextSibling() == nil {
			c = c.Parent()
		}
		if c == n {
			break
		}
		c = c.NextSibling()
	}
	return b.String()
}

// plainCode is a code span's text, as written.
func plainCode(c ast.Node, src []byte) string {
	var b strings.Builder
	for t := c.FirstChild(); t != nil; t = t.NextSibling() {
		if t, ok := t.(*ast.Text); ok {
			b.Write(t.Segment.Value(src))
		}
	}
	return b.String()
}

// PlainText is a paragraph's text without its Markdown: emphasis markers
// and escapes go, a link becomes its text, an image its alt text, a
// footnote reference nothing.
func PlainText(s string) string {
	var b strings.Builder
	writePlain(&b, ParseInline(s))
	return b.String()
}

func writePlain(b *strings.Builder, ins []Inline) {
	for _, in := range ins {
		switch in.Kind {
		case InlineText, InlineCode, InlineImage:
			b.WriteString(in.Text)
		case InlineNote:
		default:
			writePlain(b, in.Children)
		}
	}
}

// noteRef is a pandoc/GFM footnote reference, [^id].
type noteRef struct {
	ast.BaseInline
	id string
}

var kindNoteRef = ast.NewNodeKind("NoteRef")

func (n *noteRef) Kind() ast.NodeKind { return kindNoteRef }

func (n *noteRef) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

// maxNoteID bounds a footnote label: pandoc numbers them, editors name them.
const maxNoteID = 40

// noteRefParser reads [^id], where id has no spaces or brackets. It runs
// before the link parser, so "[^1]" is never a link label; "[^1](url)" and
// "[^1]:" (a definition, handled by the line parser) are left alone.
type noteRefParser struct{}

func (noteRefParser) Trigger() []byte { return []byte{'['} }

func (noteRefParser) Parse(parent ast.Node, block text.Reader, pc gmparser.Context) ast.Node {
	line, _ := block.PeekLine()
	id, ok := noteRefAt(line)
	if !ok {
		return nil
	}
	block.Advance(len(id) + 3)
	return &noteRef{id: id}
}

// noteRefAt reads a footnote reference at the start of b.
func noteRefAt(b []byte) (string, bool) {
	if len(b) < 4 || b[0] != '[' || b[1] != '^' {
		return "", false
	}
	end := bytes.IndexByte(b[2:min(len(b), maxNoteID+3)], ']')
	if end <= 0 {
		return "", false
	}
	id := b[2 : 2+end]
	if bytes.ContainsAny(id, " \t[^\\") {
		return "", false
	}
	if rest := b[3+end:]; len(rest) > 0 && (rest[0] == '(' || rest[0] == ':' || rest[0] == '[') {
		return "", false
	}
	return string(id), true
}
