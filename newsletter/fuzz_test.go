package newsletter_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/render"
)

// FuzzParse feeds the parser arbitrary bytes (seeded with the sample, the
// examples and the corpus in testdata/fuzz/FuzzParse). It must never panic;
// it returns either an issue or located errors, never both; and whatever it
// accepts the renderer must turn into WeChat-sized articles.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../../shared/samples/newsletter-no53.md"); err == nil {
		f.Add(data)
	}
	entries, err := examples.FS.ReadDir(".")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := examples.FS.ReadFile(e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// A paragraph of ampersands is five times longer as HTML: a refusal.
	f.Add([]byte("No.1\n\nNo.2\n\n2021.01\n\n国内要闻 Domestic News\n\n标题\n\nTitle\n\n国内要闻 Domestic News\n\n标题\n\n" + strings.Repeat("&", 4500) + "\n\nTitle\n\nText.\n"))
	// Large hostile paragraphs (issue 10: 128 KB of brackets took 13.7 s;
	// 512 KB, minutes), alone and inside an item; TestLargeInputsAreLinear
	// has the 512 KB ones, which would slow the fuzzer down.
	for _, unit := range []string{"[", "![", "[a](", "*_", "[^1]", "`` `", "(([More](#"} {
		run := strings.Repeat(unit, (128<<10)/len(unit))
		f.Add([]byte(run))
		f.Add([]byte("No.1\n\nNo.2\n\n2021.01\n\n国内要闻 Domestic News\n\n标题\n\nTitle\n\n国内要闻 Domestic News\n\n标题\n\n正文。" + run + "\n\nTitle\n\nText.\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		is, _, err := newsletter.Parse("fuzz.md", data)
		if err != nil {
			if is != nil {
				t.Fatalf("an issue came back with the error %v", err)
			}
			lines := strings.Count(string(data), "\n") + strings.Count(string(data), "\r") + 1
			for _, msg := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(msg, "fuzz.md:") {
					t.Fatalf("error line %q is not FILE:LINE: message", msg)
				}
			}
			var pe *newsletter.ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > lines {
				t.Fatalf("error %v is not located inside the file (%d lines)", err, lines)
			}
			return
		}
		if is == nil || len(is.Sections) == 0 {
			t.Fatalf("success without sections")
		}
		for _, s := range is.Sections {
			if len(s.Items) == 0 {
				t.Fatalf("section %q without items", s.TitleZH)
			}
			for _, it := range s.Items {
				if it.TitleZH == "" || it.BodyZH == nil || it.BodyEN == nil {
					t.Fatalf("item without a title or with null bodies: %+v", it)
				}
			}
		}
		d, _, err := render.Render(is, render.Options{})
		if err != nil {
			if errors.Is(err, render.ErrTooLong) {
				return // a refusal that names the item or the count, not a failure
			}
			t.Fatalf("render: %v", err)
		}
		for _, a := range d.Articles {
			if utf8.RuneCountInString(a.Title) > render.MaxTitle || utf8.RuneCountInString(a.Digest) > render.MaxDigest ||
				utf8.RuneCountInString(a.Content) >= render.MaxContentChars || !utf8.ValidString(a.Content) {
				t.Fatalf("article over WeChat's limits: title %q", a.Title)
			}
			if strings.Contains(a.Content, "<script") || strings.Contains(a.Content, "<a ") {
				t.Fatalf("unsafe content")
			}
		}
	})
}
