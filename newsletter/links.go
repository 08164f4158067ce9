package newsletter

import (
	"strings"
	"unicode"

	"github.com/yuin/goldmark/ast"
)

// mdLink is an inline Markdown link or image found in a paragraph.
type mdLink struct {
	start, end int    // byte span in the paragraph, "[" (or "!") through ")"
	label      string // as written, escapes kept
	dest       string // escapes resolved, <…> removed
	image      bool
}

// scanLinks finds the inline links [label](dest "title") and images
// ![alt](src) of a paragraph, left to right, as CommonMark reads them
// (goldmark finds them, in linear time; a link inside a link's label is
// part of that link). Destinations may hold balanced parentheses
// (https://en.wikipedia.org/wiki/Conti_(ransomware)) or be written <…>.
// Anything that is not a well-formed link is skipped.
func scanLinks(s string) []mdLink {
	if !strings.Contains(s, "](") || tooHostile(s) {
		return nil // see maxInlineBytes
	}
	src := []byte(s)
	doc := parseMarkdown(src)
	var links []mdLink
	n := doc.FirstChild()
	for n != nil {
		descend := true
		switch n.(type) {
		case *ast.Link, *ast.Image:
			descend = false
			// goldmark knows where the link starts; its end, label and
			// destination as written are read from there. The label is
			// at most 999 bytes (CommonMark's limit), so this is cheap.
			at := n.Pos()
			_, image := n.(*ast.Image)
			if image {
				at++
			}
			if at >= 0 && at < len(s) {
				if l, ok := linkAt(s, at); ok {
					if image {
						l.start, l.image = at-1, true
					}
					links = append(links, l)
				}
			}
		}
		if first := n.FirstChild(); descend && first != nil {
			n = first
			continue
		}
		for n != doc && n.NextSibling() == nil {
			n = n.Parent()
		}
		if n == doc {
			break
		}
		n = n.NextSibling()
	}
	return links
}

// linkAt parses a link whose "[" is at i.
func linkAt(s string, i int) (mdLink, bool) {
	// The label: brackets nest, escapes do not count.
	depth, j := 0, i
	for ; j < len(s); j++ {
		c := s[j]
		if c == '\\' {
			j++
			continue
		}
		if c == '[' {
			depth++
		} else if c == ']' {
			depth--
			if depth == 0 {
				break
			}
		}
	}
	if j >= len(s) || j+1 >= len(s) || s[j+1] != '(' {
		return mdLink{}, false
	}
	label := s[i+1 : j]
	k := j + 2
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	var dest string
	if k < len(s) && s[k] == '<' {
		e := strings.IndexByte(s[k:], '>')
		if e < 0 {
			return mdLink{}, false
		}
		dest = s[k+1 : k+e]
		k += e + 1
	} else {
		start, paren := k, 0
		for ; k < len(s); k++ {
			c := s[k]
			if c == '\\' && k+1 < len(s) {
				k++
				continue
			}
			if c == ' ' || c == '\t' {
				break
			}
			if c == '(' {
				paren++
			} else if c == ')' {
				if paren == 0 {
					break
				}
				paren--
			}
		}
		dest = s[start:k]
	}
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	if k < len(s) && (s[k] == '"' || s[k] == '\'') { // an optional title
		e := strings.IndexByte(s[k+1:], s[k])
		if e < 0 {
			return mdLink{}, false
		}
		k += e + 2
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
	}
	if k >= len(s) || s[k] != ')' {
		return mdLink{}, false
	}
	return mdLink{start: i, end: k + 1, label: label, dest: unescape(dest)}, true
}

// moreLabels are the words of a "read more" link, compared after
// unescaping, unwrapping parentheses and lower-casing.
var moreLabels = map[string]bool{
	"查看更多": true, "更多": true, "阅读更多": true, "了解更多": true, "阅读原文": true,
	"查看原文": true, "原文": true, "原文链接": true, "详情": true, "查看详情": true,
	"more": true, "read more": true, "learn more": true, "more info": true,
	"details": true, "source": true, "full text": true, "original": true,
}

func isMoreLabel(label string) bool {
	l := strings.TrimSpace(unescape(label))
	for {
		inner, ok := unwrapParens(l)
		if !ok {
			break
		}
		l = strings.TrimSpace(inner)
	}
	l = strings.Trim(l, "*_ ")
	// "查看更多>>", "more>>", "Read more »", "阅读原文→", ">>More".
	l = strings.TrimSpace(strings.Trim(l, ">»›→…. "))
	l = strings.Trim(l, "*_ ")
	for {
		inner, ok := unwrapParens(l)
		if !ok {
			break
		}
		l = strings.TrimSpace(inner)
	}
	return moreLabels[strings.ToLower(l)]
}

func unwrapParens(s string) (string, bool) {
	for _, p := range [][2]string{{"(", ")"}, {"（", "）"}, {"[", "]"}, {"【", "】"}} {
		if strings.HasPrefix(s, p[0]) && strings.HasSuffix(s, p[1]) && len(s) >= len(p[0])+len(p[1]) {
			return s[len(p[0]) : len(s)-len(p[1])], true
		}
	}
	return "", false
}

// cutMoreLinks removes every (查看更多)/(More) link of a paragraph, with the
// parentheses around it in any of the editors' spellings:
//
//	…。[\(查看更多\)](#)   …。（[查看更多](#)）   … ([More](#))   … [\(More\)](#)
//	…。【[查看更多](#)】   …。[查看更多>>](#)   … [Read more »](#)   [阅读原文](#)
//
// It returns the text left and the links' destinations in order. A link
// followed by more prose is cut just the same; the prose is kept.
func cutMoreLinks(p string) (string, []string) {
	links := scanLinks(p)
	var dests []string
	var b strings.Builder
	last := 0
	for _, l := range links {
		if l.image || !isMoreLabel(l.label) {
			continue
		}
		start, end := l.start, l.end
		// Parentheses written around the link: "([More](#))", "（[查看更多](#)）".
		before := strings.TrimRight(p[last:start], " \t")
		after := p[end:]
		for _, pair := range [][2]string{{"(", ")"}, {"（", "）"}, {"【", "】"}, {"[", "]"}, {"〔", "〕"}} {
			if strings.HasSuffix(before, pair[0]) && strings.HasPrefix(strings.TrimLeft(after, " \t"), pair[1]) {
				start = last + len(before) - len(pair[0])
				end += len(after) - len(strings.TrimLeft(after, " \t")) + len(pair[1])
				break
			}
		}
		b.WriteString(strings.TrimRight(p[last:start], " \t"))
		last = end
		dests = append(dests, l.dest)
	}
	if dests == nil {
		return p, nil
	}
	// Prose after the link goes on after a space, punctuation right away.
	rest := strings.TrimLeft(p[last:], " \t")
	if r := firstRune(rest); b.Len() > 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) && !isCJK(r) {
		b.WriteByte(' ')
	}
	b.WriteString(rest)
	return strings.TrimSpace(b.String()), dests
}

// linkTarget turns a More link's destination into the item's link: "" for
// the "#" placeholder and for in-document anchors.
func linkTarget(dest string) string {
	d := strings.TrimSpace(dest)
	if d == "" || strings.HasPrefix(d, "#") {
		return ""
	}
	return d
}
