package newsletter

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lifang/wxbot/newsletter/docx"
)

// MaxWordFileSize bounds the Word files Parse accepts, pictures included.
const MaxWordFileSize = docx.MaxFileSize

// isWord reports a Word document: a file named .docx (or .doc), or one
// whose content is a zip archive or an OLE compound file (a .doc).
func isWord(name string, data []byte) bool {
	ext := strings.ToLower(name)
	return strings.HasSuffix(ext, ".docx") || strings.HasSuffix(ext, ".docm") || strings.HasSuffix(ext, ".doc") ||
		docx.IsZip(data) || docx.IsOLE(data)
}

var lineRef = regexp.MustCompile(`\bline [0-9]+\b`)

// IsWord reports whether Parse reads this file as a Word document.
func IsWord(name string, data []byte) bool { return isWord(name, data) }

// parseWord reads a .docx: the docx package turns it into the lines the
// Markdown reader takes (one per paragraph), and the same parser decides
// the issue's structure. Problems are located by paragraph
// ("FILE.docx: paragraph 37: …"), counting every paragraph of the
// document in order, empty ones included.
func parseWord(name string, data []byte) (*Issue, []Warning, error) {
	doc, err := docx.Read(data, docx.Limits{Text: MaxFileSize})
	if err != nil {
		pe := &ParseError{File: name, Msg: err.Error()}
		var de *docx.Error
		if errors.As(err, &de) {
			pe.Msg = de.Msg
			if de.Para > 0 {
				pe.Line, pe.Where = de.Para, fmt.Sprintf("paragraph %d", de.Para)
			}
		}
		return nil, nil, pe
	}
	if len(doc.Lines) == 0 {
		return nil, nil, &ParseError{File: name, Msg: "the Word document has no text: an issue needs a masthead (No.233, 2021.04, the titles, No.53), a table of contents and the news items"}
	}
	var b strings.Builder
	where := make([]string, 0, len(doc.Lines)+1)
	paras := make([]int, 0, len(doc.Lines)+1)
	where, paras = append(where, ""), append(paras, 1) // lines count from 1
	for _, l := range doc.Lines {
		b.WriteString(l.Text)
		b.WriteByte('\n')
		w := fmt.Sprintf("paragraph %d", l.Para)
		if l.Note > 0 {
			w = fmt.Sprintf("footnote %d (referred to in paragraph %d)", l.Note, l.Para)
		}
		where, paras = append(where, w), append(paras, l.Para)
	}
	at := func(line int) (int, string) {
		if line >= 1 && line < len(where) {
			return paras[line], where[line]
		}
		return paras[len(paras)-1], where[len(where)-1]
	}
	// Messages refer to other lines ("also on line 12"): name their paragraphs.
	relocate := func(msg string) string {
		return lineRef.ReplaceAllStringFunc(msg, func(m string) string {
			n, err := strconv.Atoi(strings.TrimPrefix(m, "line "))
			if err != nil {
				return m
			}
			_, w := at(n)
			return w
		})
	}
	iss, warns, err := parseMarkdownText(name, []byte(b.String()))
	for i := range warns {
		warns[i].Line, warns[i].Where = at(warns[i].Line)
		warns[i].Msg = relocate(warns[i].Msg)
	}
	if err != nil {
		var all []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			all = j.Unwrap()
		} else {
			all = []error{err}
		}
		for _, e := range all {
			if pe, ok := e.(*ParseError); ok {
				pe.Line, pe.Where = at(pe.Line)
				pe.Msg = relocate(pe.Msg)
			}
		}
		return nil, warns, err
	}
	return iss, warns, nil
}

// WordMedia returns the bytes of a picture a Word issue's paragraphs
// refer to (the src of its ![](word/media/…) images), at most limit bytes.
func WordMedia(data []byte, src string, limit int64) ([]byte, error) {
	return docx.Media(data, src, limit)
}
