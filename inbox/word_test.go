package inbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/internal/issuetest"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/newsletter"
)

// The inbox takes Word files (*.docx) beside Markdown ones; Word's lock
// file (~$…docx) is not an issue.
func TestLoaderTakesWordFiles(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	data, err := os.ReadFile("../newsletter/testdata/word/newsletter-no53.docx")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"no53.docx", "~$no53.docx", ".no53.docx"} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeExample(t, dir, "no54.md", 54)
	a := archive.New(archive.Options{Redis: srv.Client(), Keys: keys})
	l := New(Options{Archive: a, Dir: dir, Parse: newsletter.Parse})
	if err := l.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := l.Problems(); len(p) != 0 {
		t.Fatalf("problems: %v", p)
	}
	if got := issuetest.Numbers(a.All()); got != "54 53" {
		t.Fatalf("loaded %s", got)
	}
	// A .doc is a problem that says what to do.
	if err := os.WriteFile(filepath.Join(dir, "old.doc"), []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := l.Problems(); len(p) != 1 || !strings.Contains(p[0].Error(), "save it as Word Document (.docx)") {
		t.Fatalf("problems: %v", p)
	}
	if !issueFile("no53.DOCX") || issueFile("~$no53.docx") || !issueFile("old.doc") {
		t.Error("issueFile and Word names")
	}
}
