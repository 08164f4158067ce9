package newsletter

import (
	"strings"
	"testing"
	"time"
)

// hostile are the runs that made the old inline parser quadratic, and
// others of the kind: unclosed brackets, link openings, delimiters,
// backticks, autolink and footnote openings.
var hostile = map[string]string{
	"[":        "[",
	"![":       "![",
	"[a](":     "[a](",
	"*_":       "*_",
	"_*":       "_*",
	"**a":      "**a ",
	"](":       "](",
	"[]":       "[]",
	"[[]](":    "[[]](",
	"[a](<":    "[a](<",
	"[a](b \"": "[a](b \"",
	"`":        "`",
	"`` `":     "`` `",
	"<":        "<",
	"<http:":   "<http:",
	"[^":       "[^",
	"[^1]":     "[^1]",
	"\\[":      "\\[",
	"*[*](":    "*[*](",
	"(([More":  "(([More](#",
	"mixed":    "[![*_`<[a](",
}

// large repeats unit to about n bytes.
func large(unit string, n int) string { return strings.Repeat(unit, n/len(unit)+1)[:n] }

// TestLargeInputsAreLinear parses 512 KB of each hostile run as a
// paragraph, inside an item's body and as a whole file: each must finish
// (or fail cleanly) well under a second. The old hand-written parser took
// 13.7 s on 128 KB of brackets.
func TestLargeInputsAreLinear(t *testing.T) {
	const size = 512 << 10
	limit := time.Second
	if raceEnabled {
		limit = 4 * time.Second // the race detector slows everything ~5-10×
	}
	m := mini()
	for name, unit := range hostile {
		s := large(unit, size)
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_ = ParseInline(s)
			_ = PlainText(s)
			_, _ = cutMoreLinks(s)
			if d := time.Since(start); d > limit {
				t.Errorf("inline: %v for 512 KB", d)
			}

			start = time.Now()
			is, _, err := Parse("issue.md", join(with(m, 14, "On June 1, 2021, the CAC issued the rules. "+s)))
			if d := time.Since(start); d > limit {
				t.Errorf("in a body: %v for 512 KB", d)
			}
			if err != nil {
				t.Fatalf("in a body: %v", err)
			}
			if got := is.Sections[0].Items[0].BodyEN[0]; len(got) < size {
				t.Errorf("in a body: the paragraph lost text: %d bytes", len(got))
			}

			start = time.Now()
			_, _, _ = Parse("issue.md", []byte(s))
			if d := time.Since(start); d > limit {
				t.Errorf("as the file: %v for 512 KB", d)
			}
		})
	}
}

// TestInlineAtTheBound parses 64 KB of each hostile run, the most that is
// read as Markdown: goldmark's work is then bounded (a few tens of
// milliseconds; the old parser took 13.7 s on 128 KB of brackets).
func TestInlineAtTheBound(t *testing.T) {
	limit := 300 * time.Millisecond
	if raceEnabled {
		limit = 4 * time.Second
	}
	for name, unit := range hostile {
		s := large(unit, maxInlineBytes)
		start := time.Now()
		ParseInline(s)
		cutMoreLinks(s)
		if d := time.Since(start); d > limit {
			t.Errorf("%q: 64 KB in %v", name, d)
		}
	}
}

// TestInlineWorstWithinBounds: the most link tails allowed, each failing
// to close across the largest paragraph parsed, still cost little.
func TestInlineWorstWithinBounds(t *testing.T) {
	s := strings.Repeat("[a](", maxLinkTails) + large("x", maxInlineBytes-4*maxLinkTails)
	if tooHostile(s) {
		t.Fatal("the worst case should be within the bounds")
	}
	start := time.Now()
	ParseInline(s)
	cutMoreLinks(s)
	limit := time.Second
	if raceEnabled {
		limit = 4 * time.Second
	}
	if d := time.Since(start); d > limit {
		t.Errorf("%d failing link tails over %d KB: %v", maxLinkTails, len(s)>>10, d)
	}
}

func BenchmarkParseInlineBrackets(b *testing.B) {
	for _, name := range []string{"[", "![", "[a](", "*_", "mixed"} {
		s := large(hostile[name], maxInlineBytes)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				ParseInline(s)
			}
		})
	}
}

// FuzzParseInline: no paragraph panics, plain text is never longer than
// the paragraph, and a paragraph over the bounds is kept whole as text.
func FuzzParseInline(f *testing.F) {
	for _, unit := range hostile {
		f.Add(large(unit, 200))
		f.Add(large(unit, 100) + "[a](b) [c](<d(>) [^1] ![e](f \"t\")")
	}
	for _, s := range []string{
		"[x](<a](\" >)", "[a](b (c)) [d](e 'f') [g]( h )", `[a\](b)](c) \[d](e)`, "[`]`](x) `[`y](z)",
		"see [the *law*](https://e.x/a_(b)) now", "[a](b) [c](d(e) f)", "[[a](b)](c)", "![[a](b)](c)",
		"[a]()", "[a](   )", "[a](<>)", "[a](\n)", "[a](b\n\"t\")", "(([More](#)))", "[查看更多>>](https://e.x)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tooHostile(s) {
			if got := ParseInline(s); len(got) != 1 || got[0].Text != s {
				t.Fatalf("a paragraph over the bounds was not kept as written")
			}
			return
		}
		got := ParseInline(s)
		if plain := PlainText(s); len(plain) > len(s) {
			t.Fatalf("plain text of %q is longer than the paragraph: %q", s, plain)
		}
		_, _ = cutMoreLinks(s)
		_ = got
	})
}
