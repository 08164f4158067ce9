package newsletter

import (
	"strings"
	"testing"
)

// A body title a character or two away from its table of contents entry
// is one error saying which characters differ, not "not in the table of
// contents" plus "no item follows".
func TestTitleTypoSaysWhatDiffers(t *testing.T) {
	m := mini()
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"a changed character", join(with(m, 15, "工信部通告违规App")),
			`31: the item title "工信部通告违规App" differs slightly from the table of contents' "工信部通报违规App" (line 17): after "工信部通", this line has "告" where the table of contents has "报"; make the two the same`},
		{"a missing character", join(with(m, 15, "工信部通报违App")),
			`after "工信部通报违", this line has nothing where the table of contents has "规"`},
		{"the English title", join(with(m, 17, "MIIT Names Infringing Appz")),
			`(after "…ging App", this line has "z" where the table of contents has "s")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse("mini.md", c.data)
			if err == nil {
				t.Fatal("no error")
			}
			msgs := strings.Split(err.Error(), "\n")
			if len(msgs) != 1 || !strings.Contains(msgs[0], c.want) {
				t.Errorf("errors:\n%s\nwant one containing:\n%s", err, c.want)
			}
		})
	}
	// Far from every entry: still "not in the table of contents".
	_, _, err := Parse("mini.md", join(with(m, 15, "欧盟发布人工智能条例草案")))
	if err == nil || !strings.Contains(err.Error(), "that is not in the table of contents") {
		t.Errorf("unrelated title: %v", err)
	}
}

func TestDescribeDiff(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{"abc", "abd", `after "ab", this line has "c" where the table of contents has "d"`},
		{"xbc", "abc", `at the start, this line has "x" where the table of contents has "a"`},
		{"abc", "abcd", `after "abc", this line has nothing where the table of contents has "d"`},
		{"一二三四五六七八九十", "一二三四五六七八九拾", `after "…二三四五六七八九", this line has "十" where the table of contents has "拾"`},
	} {
		if got := describeDiff(c.a, c.b); got != c.want {
			t.Errorf("describeDiff(%q, %q) = %s, want %s", c.a, c.b, got, c.want)
		}
	}
	if d := editDistance([]rune("kitten"), []rune("sitting"), 5); d != 3 {
		t.Errorf("editDistance = %d", d)
	}
	if d := editDistance([]rune(strings.Repeat("a", 50)), []rune(strings.Repeat("b", 50)), 2); d != 3 {
		t.Errorf("bounded editDistance = %d, want limit+1", d)
	}
}

// Titles typed with different quotes and brackets, full-width forms,
// spacing and trailing punctuation in the table of contents and the body
// are the same title.
func TestQuoteFolding(t *testing.T) {
	for _, c := range []struct{ toc, body string }{
		{"网信办发布《汽车数据规定》", "网信办发布“汽车数据规定”"},
		{"网信办发布“汽车数据规定”", "网信办发布「汽车数据规定」"},
		{"网信办发布‘汽车数据规定’", "网信办发布\"汽车数据规定\""},
		{"网信办发布『汽车数据规定』", "网信办发布'汽车数据规定'"},
		{"网信办发布汽车数据规定（试行）", "网信办发布汽车数据规定(试行)"},
		{"网信办发布汽车数据规定", "网信办发布 汽车数据 规定。"},
		{"网信办发布ＡＢＣ规定", "网信办发布ABC规定"},
	} {
		m := mini()
		m[6], m[11] = c.toc, c.body
		iss, _, err := Parse("mini.md", join(m))
		if err != nil {
			t.Errorf("TOC %q, body %q: %v", c.toc, c.body, err)
			continue
		}
		if got := iss.Sections[0].Items[0].TitleZH; got != strings.TrimSuffix(c.body, "。") {
			t.Errorf("title %q, want the body's %q", got, c.body)
		}
	}
	// English quotes too.
	m := mini()
	m[7], m[13] = "CAC Issues “Automobile Data” Rules", `CAC Issues "Automobile Data" Rules`
	if _, _, err := Parse("mini.md", join(m)); err != nil {
		t.Errorf("English quotes: %v", err)
	}
}
