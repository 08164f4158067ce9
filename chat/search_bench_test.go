package chat

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/newsletter"
)

// syntheticArchive builds an archive of n issues from the two examples,
// renumbered 1…n; every item title gets a number of its own so the
// vocabulary grows with the archive as a real one does.
func syntheticArchive(tb testing.TB, n int) *archive.Snapshot {
	tb.Helper()
	var base []*newsletter.Issue
	for _, name := range []string{"newsletter-no54.md", "newsletter-no55.md"} {
		data, err := examples.FS.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		iss, _, err := newsletter.Parse(name, data)
		if err != nil {
			tb.Fatal(err)
		}
		base = append(base, iss)
	}
	issues := make([]*newsletter.Issue, n)
	for i := range issues {
		src := base[i%len(base)]
		iss := *src
		iss.Number = i + 1
		iss.Sections = make([]newsletter.Section, len(src.Sections))
		for si, s := range src.Sections {
			s.Items = append([]newsletter.Item(nil), s.Items...)
			for ii := range s.Items {
				s.Items[ii].TitleZH = fmt.Sprintf("%s（第%d号）", s.Items[ii].TitleZH, i*10+ii)
				s.Items[ii].TitleEN = fmt.Sprintf("%s (case %d)", s.Items[ii].TitleEN, i*10+ii)
			}
			iss.Sections[si] = s
		}
		issues[i] = &iss
	}
	return archive.NewSnapshot(1, issues, nil)
}

var searchQueries = []string{"GDPR", "个人信息保护", "数据安全法", "personal information protection"}

// BenchmarkSearch is the chat's search at 10, 100 and 1,000 issues, beside
// the reference: a plain scan that lower-cases every item and looks for the
// query with strings.Contains (what a search without an index does).
// Compare the two in one run:
//
//	go test ./chat -run '^$' -bench 'Search|BuildIndex' -benchmem
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		snap := syntheticArchive(b, n)
		ix := buildIndex(snap)
		b.Run(fmt.Sprintf("index/issues=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if hits := ix.search(searchQueries[i%len(searchQueries)]); len(hits) == 0 {
					b.Fatal("no hits")
				}
				i++
			}
		})
		// What a question costs once its page has been asked for before:
		// the formatted answer from the index's cache.
		b.Run(fmt.Sprintf("answer-cached/issues=%d", n), func(b *testing.B) {
			for _, q := range searchQueries {
				ix.answer(q, 1, 5, LangZH, false)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if a := ix.answer(searchQueries[i%len(searchQueries)], 1, 5, LangZH, false); a.hits == 0 {
					b.Fatal("no hits")
				}
				i++
			}
		})
		// The same page formatted afresh: search, sort, format.
		b.Run(fmt.Sprintf("answer-uncached/issues=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if a := ix.format(searchQueries[i%len(searchQueries)], 1, 5, LangZH, false); a.hits == 0 {
					b.Fatal("no hits")
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("reference-scan/issues=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if hits := scanSearch(snap, searchQueries[i%len(searchQueries)]); hits == 0 {
					b.Fatal("no hits")
				}
				i++
			}
		})
	}
}

// BenchmarkBuildIndex is the cost paid once per archive change.
func BenchmarkBuildIndex(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		snap := syntheticArchive(b, n)
		b.Run(fmt.Sprintf("issues=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buildIndex(snap)
			}
		})
	}
}

func scanSearch(snap *archive.Snapshot, q string) int {
	q = strings.ToLower(q)
	hits := 0
	for _, iss := range snap.All() {
		for _, s := range iss.Sections {
			for _, it := range s.Items {
				text := strings.ToLower(it.TitleZH + " " + it.TitleEN + " " + strings.Join(it.BodyZH, " ") + " " + strings.Join(it.BodyEN, " "))
				if strings.Contains(text, q) {
					hits++
				}
			}
		}
	}
	return hits
}

// TestSyntheticArchiveSearch keeps the benchmark honest: the index finds
// what the scan finds for a one-word query, at every size.
func TestSyntheticArchiveSearch(t *testing.T) {
	for _, n := range []int{10, 100} {
		snap := syntheticArchive(t, n)
		ix := buildIndex(snap)
		if got, want := len(ix.search("GDPR")), scanSearch(snap, "GDPR"); got < want || want == 0 {
			t.Errorf("%d issues: index finds %d items for GDPR, the scan %d", n, got, want)
		}
		if snap.Len() != n {
			t.Errorf("archive of %d holds %d", n, snap.Len())
		}
	}
}
