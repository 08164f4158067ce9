package newsletter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var wordImage = regexp.MustCompile(`!\[[^\]]*\]\([^)]*\)`)

// issueJSON is the issue as `wxbot parse --json` prints it, with image
// references reduced to "![](IMAGE)": a Word file's pictures are inside
// it (word/media/…), a Markdown file's beside it.
func issueJSON(t *testing.T, iss *Issue, images bool) string {
	t.Helper()
	b, err := json.MarshalIndent(iss, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !images {
		s = wordImage.ReplaceAllString(s, "![](IMAGE)")
	}
	return s
}

func parseFileT(t *testing.T, path string) (*Issue, []Warning) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	iss, warns, err := Parse(path, data)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return iss, warns
}

// The example issues converted to .docx by pandoc 2.17 (Debian's package:
// pandoc -f markdown-smart -t docx -o X.docx X.md, from copies of
// examples/newsletter-no54.md, no55.md and the sample no53 kept beside
// them in testdata/word) parse to the same issue as their Markdown,
// pictures aside (inside the Word file, beside the Markdown one).
func TestWordSameAsMarkdown(t *testing.T) {
	for _, c := range []struct{ docx, md string }{
		{"testdata/word/newsletter-no53.docx", "testdata/word/newsletter-no53.md"},
		{"testdata/word/newsletter-no54.docx", "testdata/word/newsletter-no54.md"},
		{"testdata/word/newsletter-no55.docx", "testdata/word/newsletter-no55.md"},
	} {
		t.Run(filepath.Base(c.docx), func(t *testing.T) {
			w, _ := parseFileT(t, c.docx)
			m, _ := parseFileT(t, c.md)
			ws, ms := issueJSON(t, w, false), issueJSON(t, m, false)
			if ws != ms {
				wl, ml := strings.Split(ws, "\n"), strings.Split(ms, "\n")
				for i := 0; i < len(wl) || i < len(ml); i++ {
					var a, b string
					if i < len(wl) {
						a = wl[i]
					}
					if i < len(ml) {
						b = ml[i]
					}
					if a != b {
						t.Errorf("line %d:\n docx %s\n md   %s", i+1, a, b)
					}
				}
			}
		})
	}
}
