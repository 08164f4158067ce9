package newsletter

import (
	"encoding/json"
	"errors"
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
	for _, c := range []struct {
		docx, md     string
		extraPicture bool // the Word file has a picture the Markdown lacks
	}{
		{"testdata/word/newsletter-no53.docx", "testdata/word/newsletter-no53.md", false},
		{"testdata/word/newsletter-no54.docx", "testdata/word/newsletter-no54.md", false},
		{"testdata/word/newsletter-no55.docx", "testdata/word/newsletter-no55.md", false},
		// Written by python-docx (Debian python3-docx 0.8.11) with
		// make-python-docx.py: Word's default template and style ids,
		// Title, Heading 1/2, hyperlink relationships, add_picture.
		{"testdata/word/newsletter-no54-python-docx.docx", "testdata/word/newsletter-no54.md", true},
	} {
		t.Run(filepath.Base(c.docx), func(t *testing.T) {
			w, _ := parseFileT(t, c.docx)
			m, _ := parseFileT(t, c.md)
			if c.extraPicture {
				body := &w.Sections[0].Items[0].BodyZH
				if len(*body) != 2 || (*body)[1] != "![](word/media/image1.png)" {
					t.Fatalf("the picture: %q", *body)
				}
				*body = (*body)[:1]
			}
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

// simpleDocx writes paragraphs as a minimal Word document, one w:p each.
func simpleDocx(t testing.TB, paras []string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for _, p := range paras {
		b.WriteString(`<w:p><w:r><w:t xml:space="preserve">` + xmlEscape(p) + `</w:t></w:r></w:p>`)
	}
	b.WriteString(`</w:body></w:document>`)
	return zipParts(t, [][2]string{{"[Content_Types].xml", handmadeContentTypes}, {"word/document.xml", b.String()}})
}

// Problems in a Word issue name the paragraph, counted as Word counts them.
func TestWordErrorsNameParagraphs(t *testing.T) {
	m := mini()
	iss, warns, err := Parse("mini.docx", simpleDocx(t, m))
	// (Markdown typed into Word is text: the links stay as written.)
	if err != nil || len(warns) != 0 || len(iss.Sections[0].Items) != 2 || iss.Sections[0].Items[0].LinkZH != "" {
		t.Fatalf("mini.docx: %v %v %+v", err, warns, iss)
	}
	_, _, err = Parse("mini.docx", simpleDocx(t, with(m, 15, "工信部通告违规App")))
	want := `mini.docx: paragraph 16: the item title "工信部通告违规App" differs slightly from the table of contents' "工信部通报违规App" (paragraph 9): after "工信部通"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v\nwant %s…", err, want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 16 || pe.Where != "paragraph 16" {
		t.Errorf("ParseError %+v", pe)
	}
	// Warnings too.
	_, warns, err = Parse("mini.docx", simpleDocx(t, with(m, 18, "On June 3, 2021, MIIT named a batch of Apps.")))
	if err != nil || len(warns) != 1 || !strings.HasPrefix(warns[0].String(), "mini.docx: paragraph 18: warning: ") {
		t.Errorf("warnings %v (%v)", warns, err)
	}
}

// Files that are not Word documents, or broken ones, get one clear error
// for the file; none panics.
func TestWordBadFiles(t *testing.T) {
	big := strings.Repeat("<w:p><w:r><w:t>a</w:t></w:r></w:p>", (17<<20)/34)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"issue.docx", []byte("No.240\n\n2021.06\n"), "issue.docx: this is not a Word document (.docx): a .docx is a zip archive"},
		{"issue.docx", nil, "issue.docx: this is not a Word document"},
		{"issue.docx", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + strings.Repeat("\x00", 504)), "issue.docx: this is a Word 97-2003 .doc file, not a .docx; open it in Word and save it as Word Document (.docx)"},
		{"issue.md", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + strings.Repeat("\x00", 504)), "issue.md: this is a Word 97-2003 .doc"},
		{"issue.docx", []byte("PK\x03\x04garbage"), "issue.docx: this Word document is damaged"},
		{"issue.docx", zipParts(t, [][2]string{{"hello.txt", "hi"}}), "no [Content_Types].xml"},
		{"issue.docx", zipParts(t, [][2]string{{"[Content_Types].xml", handmadeContentTypes}, {"xl/workbook.xml", "<x/>"}}), "it has no word/document.xml"},
		{"issue.docx", zipParts(t, [][2]string{{"[Content_Types].xml", handmadeContentTypes}, {"word/document.xml", "<w:document><w:body><w:p>"}}), "issue.docx: paragraph 1: the document's XML is damaged"},
		{"issue.docx", zipParts(t, [][2]string{{"[Content_Types].xml", handmadeContentTypes}, {"word/document.xml", `<w:document xmlns:w="x"><w:body></w:body></w:document>`}}), "the Word document has no text"},
		{"issue.docx", zipParts(t, [][2]string{{"[Content_Types].xml", handmadeContentTypes}, {"word/document.xml", strings.Repeat("<a>", 300)}}), "nested more than 256 deep"},
		{"issue.docx", zipParts(t, [][2]string{{"[Content_Types].xml", handmadeContentTypes}, {"word/document.xml", "<w:document><w:body>" + big + "</w:body></w:document>"}}), "the part word/document.xml unpacks to more than 16 MB"},
	} {
		iss, _, err := Parse(c.name, c.data)
		if err == nil || iss != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s (%d bytes): %v\nwant …%s…", c.name, len(c.data), err, c.want)
		}
	}
}
