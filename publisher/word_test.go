package publisher

import (
	"context"
	"os"
	"strings"
	"testing"
)

// A Word issue's pictures are uploaded from inside the file
// (word/media/…); nothing beside it is read.
func TestWordIssuePicturesUploaded(t *testing.T) {
	e := newEnv(t)
	data, err := os.ReadFile("../newsletter/testdata/word/newsletter-no55.docx")
	if err != nil {
		t.Fatal(err)
	}
	path := e.write("no55.docx", data)
	res, err := e.publisher("cli").Publish(context.Background(), e.request(path, GoalDraft))
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.State != StateDrafted || len(res.Record.Images) != 1 || e.calls("media/uploadimg") != 1 {
		t.Fatalf("state %s, images %v, %d uploads", res.Record.State, res.Record.Images, e.calls("media/uploadimg"))
	}
	for src := range res.Record.Images {
		if !strings.HasPrefix(src, "word/media/") {
			t.Errorf("image src %q", src)
		}
	}
	// A reference to a part that is not a picture, or outside the
	// document, is refused.
	r := &run{p: e.publisher("cli"), ctx: context.Background(), rec: &Record{Number: 55, Dir: e.dir, File: path, Source: data}}
	for _, src := range []string{"word/document.xml", "../no55.docx", "images/miit-batch4.png"} {
		if _, err := r.fetch(src); err == nil {
			t.Errorf("fetch(%q) from a Word issue: no error", src)
		}
	}
}
