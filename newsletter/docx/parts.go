package docx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of XML elements read: Word nests a dozen
// deep; a file nesting thousands deep is not a document.
const maxDepth = 256

// tokens walks an XML part token by token with a depth bound. Namespaces
// are resolved by encoding/xml; WordprocessingML's are matched by their
// local names, which do not collide in the elements read here.
type tokens struct {
	d     *xml.Decoder
	depth int
}

func newTokens(b []byte) *tokens {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii":
			return r, nil
		}
		return nil, errors.New("the part is not UTF-8 (" + label + ")")
	}
	return &tokens{d: d}
}

var errTooDeep = errors.New("elements nested more than 256 deep")

// next returns the next token (copied), io.EOF at the end.
func (t *tokens) next() (xml.Token, error) {
	tok, err := t.d.Token()
	if err != nil {
		return nil, err
	}
	switch tok.(type) {
	case xml.StartElement:
		t.depth++
		if t.depth > maxDepth {
			return nil, errTooDeep
		}
	case xml.EndElement:
		t.depth--
	}
	return tok, nil
}

// skip skips to the end of the element just started.
func (t *tokens) skip() error {
	start := t.depth
	for t.depth >= start {
		if _, err := t.next(); err != nil {
			return err
		}
	}
	return nil
}

// attr returns the value of the attribute with this local name.
func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// onOff reads a toggle property (<w:b/>, <w:b w:val="false"/>).
func onOff(e xml.StartElement) bool {
	switch attr(e, "val") {
	case "0", "false", "off", "none":
		return false
	}
	return true
}

// mainPart finds the main document part in [Content_Types].xml.
func mainPart(ct []byte) string {
	t := newTokens(ct)
	for {
		tok, err := t.next()
		if err != nil {
			return ""
		}
		if e, ok := tok.(xml.StartElement); ok && e.Name.Local == "Override" {
			if strings.Contains(attr(e, "ContentType"), "wordprocessingml.document.main+xml") ||
				strings.Contains(attr(e, "ContentType"), "wordprocessingml.template.main+xml") ||
				strings.Contains(attr(e, "ContentType"), "ms-word.document.macroEnabled.main+xml") {
				p := strings.TrimPrefix(path.Clean("/"+attr(e, "PartName")), "/")
				if strings.HasSuffix(p, ".xml") {
					return p
				}
			}
		}
	}
}

// rel is one relationship of the document part.
type rel struct {
	typ, target string
	external    bool
}

// parseRels reads a .rels part; internal targets are resolved against dir.
func parseRels(b []byte, dir string) (map[string]rel, error) {
	out := map[string]rel{}
	t := newTokens(b)
	for {
		tok, err := t.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e, ok := tok.(xml.StartElement)
		if !ok || e.Name.Local != "Relationship" {
			continue
		}
		r := rel{typ: attr(e, "Type"), target: attr(e, "Target"), external: strings.EqualFold(attr(e, "TargetMode"), "External")}
		if !r.external {
			tg := r.target
			if strings.HasPrefix(tg, "/") {
				tg = path.Clean(tg)
			} else {
				tg = path.Clean("/" + dir + "/" + tg)
			}
			r.target = strings.TrimPrefix(tg, "/")
		}
		if id := attr(e, "Id"); id != "" {
			out[id] = r
		}
	}
}

// relTarget is the internal target of the relationship whose type ends
// with suffix, or def.
func relTarget(rels map[string]rel, suffix, def string) string {
	for _, r := range rels {
		if !r.external && strings.HasSuffix(r.typ, suffix) {
			return r.target
		}
	}
	return def
}

// style is what matters of a paragraph style: its kind, by name.
type style struct {
	name    string // lower case: "heading 1", "title", "toc 1", "list paragraph"
	basedOn string
	outline int // w:outlineLvl + 1, 0 for none
}

func parseStyles(b []byte) (map[string]style, error) {
	out := map[string]style{}
	t := newTokens(b)
	var id string
	var cur style
	in := false
	for {
		tok, err := t.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch e := tok.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "style":
				in, id, cur = true, attr(e, "styleId"), style{}
			case "name":
				if in {
					cur.name = strings.ToLower(strings.TrimSpace(attr(e, "val")))
				}
			case "basedOn":
				if in {
					cur.basedOn = attr(e, "val")
				}
			case "outlineLvl":
				if in {
					if n, err := strconv.Atoi(attr(e, "val")); err == nil && n >= 0 && n < 9 {
						cur.outline = n + 1
					}
				}
			}
		case xml.EndElement:
			if e.Name.Local == "style" && in {
				if id != "" {
					out[id] = cur
				}
				in = false
			}
		}
	}
}

// kind is how a paragraph style reads: a heading level (1-6), the title,
// a table of contents entry, a list item, or body text.
type kind struct {
	heading int
	title   bool
	toc     bool
	list    bool
}

// styleKind resolves a style id by its name, following basedOn a few steps
// (a "My Heading" based on "heading 1" is a heading).
func styleKind(styles map[string]style, id string) kind {
	for range 8 {
		if id == "" {
			return kind{}
		}
		s, ok := styles[id]
		name := s.name
		if !ok {
			// Without styles.xml, the built-in ids: Heading1, Title, TOC1.
			name = strings.ToLower(id)
		}
		if k, ok := kindOfName(name); ok {
			return k
		}
		if ok && s.outline > 0 {
			return kind{heading: min(s.outline, 6)}
		}
		if !ok {
			return kind{}
		}
		id = s.basedOn
	}
	return kind{}
}

func kindOfName(name string) (kind, bool) {
	n := strings.ReplaceAll(name, " ", "")
	switch {
	case n == "title":
		return kind{title: true}, true
	case n == "subtitle":
		return kind{title: true}, true
	case strings.HasPrefix(n, "heading") && len(n) == len("heading")+1 && n[7] >= '1' && n[7] <= '9':
		return kind{heading: min(int(n[7]-'0'), 6)}, true
	case strings.HasPrefix(n, "toc") && len(n) == 4 && n[3] >= '1' && n[3] <= '9':
		return kind{toc: true}, true
	case n == "tocheading":
		return kind{heading: 1}, true
	case n == "listparagraph", n == "listbullet", n == "listnumber", strings.HasPrefix(n, "listbullet"), strings.HasPrefix(n, "listnumber"):
		return kind{list: true}, true
	}
	return kind{}, false
}
