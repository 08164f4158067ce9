package main

import (
	"os"
	"strings"
	"testing"
)

// wxbot parse and render take Word files: the hand-made fixture prints the
// golden JSON, the pandoc conversion of No.55 renders, and broken Word
// files are one located error with exit status 1.
func TestParseAndRenderWord(t *testing.T) {
	const docx = "../../newsletter/testdata/word/word-handmade.docx"
	stdout, stderr, code := runWxbot(t, "parse", "--json", docx)
	if code != 0 || stderr != "" {
		t.Fatalf("parse: exit %d, stderr %q", code, stderr)
	}
	want, err := os.ReadFile("../../newsletter/testdata/word/word-handmade.json")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Errorf("parse --json:\n got %s\nwant %s", stdout, want)
	}
	stdout, stderr, code = runWxbot(t, "render", "../../newsletter/testdata/word/newsletter-no55.docx")
	if code != 0 || !strings.Contains(stdout, "1 article") {
		t.Errorf("render: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, c := range []struct {
		name    string
		content []byte
		want    string
	}{
		{"old.docx", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + strings.Repeat("\x00", 100)), "old.docx: this is a Word 97-2003 .doc file"},
		{"text.docx", []byte("No.1\n"), "text.docx: this is not a Word document (.docx)"},
	} {
		path := writeIssue(t, c.name, c.content)
		for _, cmd := range []string{"parse", "render"} {
			stdout, stderr, code := runWxbot(t, cmd, path)
			if code != 1 || stdout != "" || !strings.Contains(stderr, c.want) {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q", cmd, c.name, code, stdout, stderr)
			}
		}
	}
}
