package newsletter

import (
	"strings"
	"unicode"
	"unicode/utf8"
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

// maxInlineDepth bounds nested emphasis so hostile input cannot recurse deeply.
const maxInlineDepth = 8

// ParseInline parses a paragraph's inline Markdown: backslash escapes, code
// spans, images, links, autolinks and emphasis. Raw HTML is not
// interpreted: "<b>" is text, like "&" and "<" anywhere else. Text that is
// not well-formed Markdown stays as it is.
func ParseInline(s string) []Inline {
	return parseInline(s, 0)
}

func parseInline(s string, depth int) []Inline {
	var out []Inline
	var text strings.Builder
	emit := func() {
		if text.Len() > 0 {
			out = append(out, Inline{Kind: InlineText, Text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			text.WriteByte(s[i+1])
			i += 2
			continue
		case c == '`':
			n := runLen(s, i, '`')
			end := skipCode(s, i)
			if end > i+n {
				emit()
				code := s[i+n : end-n]
				if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.TrimSpace(code) != "" {
					code = code[1 : len(code)-1]
				}
				out = append(out, Inline{Kind: InlineCode, Text: code})
				i = end
				continue
			}
			text.WriteString(s[i : i+n])
			i += n
			continue
		case c == '!' && i+1 < len(s) && s[i+1] == '[':
			if l, ok := linkAt(s, i+1); ok {
				emit()
				out = append(out, Inline{Kind: InlineImage, Text: PlainText(l.label), URL: l.dest})
				i = l.end
				continue
			}
		case c == '[':
			if l, ok := linkAt(s, i); ok {
				emit()
				out = append(out, Inline{Kind: InlineLink, URL: l.dest, Children: parseInline(l.label, depth+1)})
				i = l.end
				continue
			}
		case c == '<':
			if url, end, ok := autolink(s, i); ok {
				emit()
				out = append(out, Inline{Kind: InlineLink, URL: url, Children: []Inline{{Kind: InlineText, Text: url}}})
				i = end
				continue
			}
		case (c == '*' || c == '_') && depth < maxInlineDepth:
			n := runLen(s, i, c)
			if n <= 3 && opens(s, i, n, c) {
				if j, ok := closer(s, i+n, n, c); ok {
					emit()
					inner := parseInline(s[i+n:j], depth+1)
					switch n {
					case 1:
						out = append(out, Inline{Kind: InlineEmph, Children: inner})
					case 2:
						out = append(out, Inline{Kind: InlineStrong, Children: inner})
					default:
						out = append(out, Inline{Kind: InlineStrong, Children: []Inline{{Kind: InlineEmph, Children: inner}}})
					}
					i = j + n
					continue
				}
			}
			text.WriteString(s[i : i+n])
			i += n
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		text.WriteString(s[i : i+size])
		i += size
	}
	emit()
	return out
}

func runLen(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

// opens reports whether the delimiter run s[i:i+n] can open emphasis: it
// is followed by text, and an underscore does not sit inside a word
// (snake_case stays as it is).
func opens(s string, i, n int, c byte) bool {
	if i+n >= len(s) {
		return false
	}
	next, _ := utf8.DecodeRuneInString(s[i+n:])
	if unicode.IsSpace(next) {
		return false
	}
	if c == '_' && i > 0 {
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(prev) || unicode.IsDigit(prev) {
			return false
		}
	}
	return true
}

// closer finds the run of exactly n delimiters c, from 'from' on, that
// closes emphasis: preceded by text, and for '_' not followed by a letter.
// Escapes, code spans and links are skipped over.
func closer(s string, from, n int, c byte) (int, bool) {
	for j := from; j < len(s); {
		switch s[j] {
		case '\\':
			j += 2
			continue
		case '`':
			j = skipCode(s, j)
			continue
		case '[':
			if l, ok := linkAt(s, j); ok {
				j = l.end
				continue
			}
		case c:
			m := runLen(s, j, c)
			if m == n && j > from {
				prev, _ := utf8.DecodeLastRuneInString(s[:j])
				ok := !unicode.IsSpace(prev)
				if c == '_' && j+m < len(s) {
					next, _ := utf8.DecodeRuneInString(s[j+m:])
					ok = ok && !unicode.IsLetter(next) && !unicode.IsDigit(next)
				}
				if ok {
					return j, true
				}
			}
			j += m
			continue
		}
		j++
	}
	return 0, false
}

// autolink reads <https://…>, <http://…> or <mailto:…> at i.
func autolink(s string, i int) (url string, end int, ok bool) {
	e := strings.IndexByte(s[i:], '>')
	if e < 0 {
		return "", 0, false
	}
	u := s[i+1 : i+e]
	if strings.ContainsAny(u, " \t<") {
		return "", 0, false
	}
	lower := strings.ToLower(u)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "mailto:") {
		return "", 0, false
	}
	return u, i + e + 1, true
}

// PlainText is a paragraph's text without its Markdown: emphasis markers
// and escapes go, a link becomes its text, an image its alt text.
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
		default:
			writePlain(b, in.Children)
		}
	}
}
