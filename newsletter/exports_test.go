package newsletter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The converters' exports in testdata/exports (pandoc from Word, Typora,
// an HTML-to-Markdown converter, a paste from WeChat's editor) parse
// without errors, and the spellings they use come out clean: section
// titles without their Chinese numbering, no pandoc attributes, no TOC
// page numbers, footnote markers not shown literally, the same section
// not reported as two.
func TestConverterExports(t *testing.T) {
	files, err := filepath.Glob("testdata/exports/*.md")
	if err != nil || len(files) < 4 {
		t.Fatalf("export samples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			iss, warns, err := Parse(f, data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, w := range warns {
				if strings.Contains(w.String(), "in the body but under") {
					t.Errorf("spurious section warning: %s", w)
				}
			}
			if iss.Number <= 0 || len(iss.Sections) == 0 {
				t.Fatalf("number %d, %d sections", iss.Number, len(iss.Sections))
			}
			items, notes := 0, 0
			for _, s := range iss.Sections {
				for _, bad := range []string{"一、", "二、", "（一）", "{#", "\t"} {
					if strings.Contains(s.TitleZH, bad) || strings.Contains(s.TitleEN, bad) {
						t.Errorf("section title %q / %q keeps %q", s.TitleZH, s.TitleEN, bad)
					}
				}
				for _, it := range s.Items {
					items++
					notes += len(it.Notes)
					if strings.HasPrefix(it.TitleZH, "1\\.") || strings.HasPrefix(it.TitleZH, "**") {
						t.Errorf("item title %q keeps its numbering or bold", it.TitleZH)
					}
					body := strings.Join(append(append([]string{}, it.BodyZH...), it.BodyEN...), "\n")
					for _, bad := range []string{"{width=", "{.underline}"} {
						if strings.Contains(body, bad) && !strings.Contains(string(data), "`"+bad) {
							t.Errorf("item %q shows %q in its body", it.TitleZH, bad)
						}
					}
				}
			}
			if items == 0 {
				t.Fatal("no items")
			}
			// The pandoc export's footnotes become the items' notes.
			if strings.Contains(string(data), "\n[^1]:") && notes == 0 {
				t.Error("footnote definitions were dropped")
			}
		})
	}
}
