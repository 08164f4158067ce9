package newsletter

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lifang/wxbot/examples"
)

// samplePath is the real issue No.53 shared beside the repository.
const samplePath = "../../shared/samples/newsletter-no53.md"

func readSample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(samplePath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not present", samplePath)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t testing.TB, name string, data []byte) (*Issue, []Warning) {
	t.Helper()
	is, warns, err := Parse(name, data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return is, warns
}

func TestParseSample(t *testing.T) {
	is, warns := mustParse(t, "newsletter-no53.md", readSample(t))
	if len(warns) != 0 {
		t.Errorf("warnings on the sample: %v", warns)
	}
	if is.Number != 53 || is.NewsletterNumber != 233 || is.Month != "2021-04" {
		t.Errorf("masthead = No.%d / No.%d / %q, want No.53 / No.233 / 2021-04", is.Number, is.NewsletterNumber, is.Month)
	}
	if is.TitleZH != "立方网络安全与数据合规周报" || is.TitleEN != "Weekly Cybersecurity and Data Protection Review" {
		t.Errorf("titles = %q / %q", is.TitleZH, is.TitleEN)
	}
	if len(is.Sections) != 2 {
		t.Fatalf("got %d sections, want 2", len(is.Sections))
	}
	for i, want := range []struct {
		zh, en string
		items  int
	}{{"国内要闻", "Domestic News", 6}, {"海外动态", "Overseas News", 3}} {
		s := is.Sections[i]
		if s.TitleZH != want.zh || s.TitleEN != want.en || len(s.Items) != want.items {
			t.Errorf("section %d = %q %q with %d items, want %q %q with %d", i, s.TitleZH, s.TitleEN, len(s.Items), want.zh, want.en, want.items)
		}
	}
	wantDates := []string{"2021-04-26", "2021-04-23", "2021-04-23", "2021-04-22", "2021-04-22", "2021-04-19", "2021-04-22", "2021-04-21", "2021-04-20"}
	var dates []string
	for _, s := range is.Sections {
		for _, it := range s.Items {
			dates = append(dates, it.Date)
			if it.LinkZH != "" || it.LinkEN != "" {
				t.Errorf("%s: links %q %q, want the # placeholder as \"\"", it.TitleZH, it.LinkZH, it.LinkEN)
			}
			for _, p := range append(slices.Clone(it.BodyZH), it.BodyEN...) {
				if strings.Contains(p, "查看更多") || strings.Contains(p, "[More]") || strings.Contains(p, "(#)") {
					t.Errorf("%s: More link left in %q", it.TitleZH, p[max(0, len(p)-60):])
				}
			}
		}
	}
	if !slices.Equal(dates, wantDates) {
		t.Errorf("dates = %v, want %v", dates, wantDates)
	}

	first := is.Sections[0].Items[0]
	if first.TitleZH != "工信部就《移动互联网应用程序个人信息保护管理暂行规定》征求意见" ||
		first.TitleEN != "MIIT Seeks Advice on the Interim Regulations on the Management of Personal Information Protection for Mobile Internet Applications" {
		t.Errorf("first item titles = %q / %q", first.TitleZH, first.TitleEN)
	}
	if len(first.BodyZH) != 1 || !strings.HasSuffix(first.BodyZH[0], "取得同意后方可处理敏感个人信息。") {
		t.Errorf("first item body_zh = %q", first.BodyZH)
	}
	if len(first.BodyEN) != 1 || !strings.HasSuffix(first.BodyEN[0], "after they obtain consent.") ||
		!strings.Contains(first.BodyEN[0], "*Interim Regulations on the Management of Personal Information Protection for Mobile Internet Applications (Exposure Draft)*") {
		t.Errorf("first item body_en keeps its emphasis and loses its link: %q", first.BodyEN)
	}
	ningbo := is.Sections[0].Items[5]
	if len(ningbo.BodyEN) != 2 || !strings.HasPrefix(ningbo.BodyEN[1], "Previously, on April 14 and April 15") || !strings.HasSuffix(ningbo.BodyEN[1], "personal information rights.") {
		t.Errorf("Ningbo item: want two English paragraphs, got %q", ningbo.BodyEN)
	}
	last := is.Sections[1].Items[2]
	if last.TitleZH != "欧盟将成立网络安全能力中心" || len(last.BodyZH) != 1 || !strings.HasSuffix(last.BodyZH[0], "关于网络安全的专业知识。") {
		t.Errorf("last item: the More link alone in its paragraph should vanish, got %q", last.BodyZH)
	}
	if !strings.HasPrefix(is.DisclaimerZH, "立方律师事务所编写《立方观评》") || !strings.HasSuffix(is.DisclaimerZH, "上述内容仅供参考。") {
		t.Errorf("disclaimer_zh = %q", is.DisclaimerZH)
	}
	if !strings.HasPrefix(is.DisclaimerEN, "This Newsletter has been prepared") || !strings.HasSuffix(is.DisclaimerEN, "in individual cases.") {
		t.Errorf("disclaimer_en = %q", is.DisclaimerEN)
	}
}

func TestParseExamples(t *testing.T) {
	entries, err := examples.FS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	parsed := map[string]*Issue{}
	for _, e := range entries {
		data, err := examples.FS.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		is, warns := mustParse(t, e.Name(), data)
		if len(warns) != 0 {
			t.Errorf("%s: warnings %v", e.Name(), warns)
		}
		parsed[e.Name()] = is
	}
	if len(parsed) < 2 {
		t.Fatalf("want at least two examples, got %d", len(parsed))
	}

	no54 := parsed["newsletter-no54.md"]
	if no54 == nil || no54.Number != 54 || no54.NewsletterNumber != 234 || no54.Month != "2021-05" {
		t.Fatalf("No.54 masthead: %+v", no54)
	}
	counts := []int{}
	for _, s := range no54.Sections {
		counts = append(counts, len(s.Items))
	}
	if !slices.Equal(counts, []int{3, 2, 2}) || no54.Sections[2].TitleZH != "执法动态" || no54.Sections[2].TitleEN != "Enforcement Actions" {
		t.Errorf("No.54 sections: %v items, third %q %q", counts, no54.Sections[2].TitleZH, no54.Sections[2].TitleEN)
	}
	eo := no54.Sections[1].Items[0]
	wantEO := "https://www.whitehouse.gov/briefing-room/presidential-actions/2021/05/12/executive-order-on-improving-the-nations-cybersecurity/"
	if eo.LinkZH != wantEO || eo.LinkEN != wantEO || eo.Date != "2021-05-12" || len(eo.BodyEN) != 2 ||
		!strings.Contains(eo.BodyEN[0], "government & the private sector") {
		t.Errorf("No.54 executive order item: %+v", eo)
	}
	colonial := no54.Sections[1].Items[1]
	if len(colonial.BodyZH) != 1 || colonial.LinkZH != "https://en.wikipedia.org/wiki/Colonial_Pipeline_ransomware_attack" ||
		!strings.Contains(colonial.BodyEN[1], "(<1 of thousands of credentials)") {
		t.Errorf("No.54 Colonial item (link alone in its paragraph, text with <): %+v", colonial)
	}
	if rd := no54.Sections[2].Items[1]; rd.TitleZH != "某市网安部门对未履行数据安全保护义务的R&D公司作出行政处罚" {
		t.Errorf("No.54 title with &: %q", rd.TitleZH)
	}

	no55 := parsed["newsletter-no55.md"]
	if no55 == nil || no55.Number != 55 || no55.NewsletterNumber != 235 || len(no55.Sections) != 1 {
		t.Fatalf("No.55: %+v", no55)
	}
	sec := no55.Sections[0]
	if sec.TitleZH != "立法与监管" || sec.TitleEN != "Legislation & Regulation" || len(sec.Items) != 4 {
		t.Errorf("No.55 section %q %q with %d items", sec.TitleZH, sec.TitleEN, len(sec.Items))
	}
	if it := sec.Items[1]; len(it.BodyZH) != 3 || it.BodyZH[1] != "![工信部通报的App问题类型分布](images/miit-batch4.png)" || !strings.Contains(it.BodyZH[2], "<48小时") {
		t.Errorf("No.55 image item body_zh = %q", it.BodyZH)
	}
	if it := sec.Items[2]; it.LinkEN != "https://en.wikipedia.org/wiki/Conti_(ransomware)" || it.TitleEN != "Ireland's Health Service Executive Hit by Conti Ransomware" {
		t.Errorf("No.55 link with parentheses: %q, title %q", it.LinkEN, it.TitleEN)
	}
	if it := sec.Items[3]; it.Date != "" || it.LinkZH != "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:52021PC0206&qid=1620000000000" {
		t.Errorf("No.55 last item: date %q (want none: only a month is given), link %q", it.Date, it.LinkZH)
	}
	if it := sec.Items[0]; !strings.Contains(it.BodyZH[0], "[《数据安全法（草案二次审议稿）》](http://www.npc.gov.cn/flcaw/)") || !strings.Contains(it.BodyEN[0], "**classified and graded data protection**") {
		t.Errorf("No.55 first item keeps inline links and emphasis: %q", it.BodyZH[0])
	}
}

// TestParseVariants checks that the sample parses to the same issue however
// it is saved or decorated.
func TestParseVariants(t *testing.T) {
	data := readSample(t)
	want, _ := mustParse(t, "sample", data)

	titles := map[string]string{} // plain line → how the decorated variant writes it
	for _, s := range want.Sections {
		titles[s.TitleZH+" "+s.TitleEN] = "## %s"
		for _, it := range s.Items {
			titles[it.TitleZH] = "**%s**"
			titles[it.TitleEN] = "**%s**"
		}
	}
	decorate := func(style func(line string, n int) string) []byte {
		lines := strings.Split(string(data), "\n")
		seen := map[string]int{}
		for i, l := range lines {
			if _, ok := titles[l]; ok {
				seen[l]++
				lines[i] = style(l, seen[l])
			}
		}
		return []byte(strings.Join(lines, "\n"))
	}

	variants := map[string][]byte{
		"CRLF":             []byte(strings.ReplaceAll(string(data), "\n", "\r\n")),
		"CR":               []byte(strings.ReplaceAll(string(data), "\n", "\r")),
		"BOM":              append([]byte("\uFEFF"), data...),
		"trailing spaces":  []byte(strings.ReplaceAll(string(data), "\n", "  \n")),
		"no blank lines":   []byte(strings.ReplaceAll(strings.ReplaceAll(string(data), "\n\n", "\n"), "\n\n", "\n")),
		"masthead heading": []byte(strings.Replace(string(data), "立方网络安全与数据合规周报\n", "# 立方网络安全与数据合规周报\n", 1)),
		"bold TOC, ### body": decorate(func(l string, n int) string {
			if strings.HasPrefix(titles[l], "##") {
				return "## " + l
			}
			if n == 1 {
				return "**" + l + "**"
			}
			return "### " + l
		}),
		"headings with closing #s and CRLF": []byte(strings.ReplaceAll(string(decorate(func(l string, n int) string {
			if strings.HasPrefix(titles[l], "##") {
				return "# " + l + " #"
			}
			return "### **" + l + "**"
		})), "\n", "\r\n")),
		"underscores": decorate(func(l string, n int) string { return "__" + l + "__" }),
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			got, _ := mustParse(t, "variant", v)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("variant parses differently:\n got %+v\nwant %+v", summary(got), summary(want))
			}
		})
	}
}

// summary is a short form of an issue for failure messages.
func summary(is *Issue) string {
	var b strings.Builder
	b.WriteString(is.Month)
	for _, s := range is.Sections {
		b.WriteString(" [" + s.TitleZH)
		for _, it := range s.Items {
			b.WriteString(" {" + it.TitleZH + " " + it.Date + " zh" + strings.Repeat("¶", len(it.BodyZH)) + " en" + strings.Repeat("¶", len(it.BodyEN)) + "}")
		}
		b.WriteString("]")
	}
	return b.String()
}

// mini is a small well-formed issue, one paragraph per element; element k is
// on line 2k+1 of the joined file.
func mini() []string {
	return []string{
		"No.240",  // 1
		"2021.06", // 3
		"立方网络安全与数据合规周报",                                   // 5
		"Weekly Cybersecurity and Data Protection Review", // 7
		"No.60",                            // 9
		"国内要闻 Domestic News",               // 11
		"网信办发布汽车数据规定",                      // 13
		"CAC Issues Automobile Data Rules", // 15
		"工信部通报违规App",                       // 17
		"MIIT Names Infringing Apps",       // 19
		"国内要闻 Domestic News",               // 21
		"网信办发布汽车数据规定",                      // 23
		"2021年6月1日，网信办发布规定。[\\(查看更多\\)](https://www.cac.gov.cn/a?x=1&y=2)", // 25
		"CAC Issues Automobile Data Rules", // 27
		"On June 1, 2021, the CAC issued the rules. ([More](https://www.cac.gov.cn/a?x=1&y=2))", // 29
		"工信部通报违规App",                                                       // 31
		"2021年6月2日，工信部通报了一批App。",                                           // 33
		"MIIT Names Infringing Apps",                                       // 35
		"On June 2, 2021, MIIT named a batch of Apps.",                     // 37
		"本文仅供参考，不构成法律意见。",                                                  // 39
		"This newsletter is for information only and is not legal advice.", // 41
	}
}

func join(paras []string) []byte { return []byte(strings.Join(paras, "\n\n") + "\n") }

// without returns paras minus the elements at the given indexes.
func without(paras []string, idx ...int) []string {
	var out []string
	for i, p := range paras {
		if !slices.Contains(idx, i) {
			out = append(out, p)
		}
	}
	return out
}

func with(paras []string, i int, s string) []string {
	out := slices.Clone(paras)
	out[i] = s
	return out
}

func TestParseMini(t *testing.T) {
	is, warns := mustParse(t, "mini.md", join(mini()))
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	it := is.Sections[0].Items[0]
	if it.LinkZH != "https://www.cac.gov.cn/a?x=1&y=2" || it.LinkEN != it.LinkZH || it.Date != "2021-06-01" ||
		!slices.Equal(it.BodyZH, []string{"2021年6月1日，网信办发布规定。"}) || !slices.Equal(it.BodyEN, []string{"On June 1, 2021, the CAC issued the rules."}) {
		t.Errorf("item = %+v", it)
	}
	if is.DisclaimerZH != "本文仅供参考，不构成法律意见。" || is.Number != 60 || is.NewsletterNumber != 240 || is.Month != "2021-06" {
		t.Errorf("issue = %+v", is)
	}
}

func TestParseErrors(t *testing.T) {
	m := mini()
	tests := []struct {
		name string
		data []byte
		want []string // "LINE: substring", in order
	}{
		{"empty file", nil, []string{"1: the file is empty"}},
		{"only blank lines", []byte("\n  \n\t\n"), []string{"1: the file is empty"}},
		{"only a BOM", []byte("\uFEFF\r\n"), []string{"1: the file is empty"}},
		{"GBK bytes", []byte(strings.Replace(string(join(m)), "工信部通报违规App", "\xb9\xa4\xd0\xc5\xb2\xbf", 1)), []string{"17: the file is not UTF-8 text"}},
		{"UTF-16", []byte{0xFF, 0xFE, 'N', 0, 'o', 0}, []string{"1: the file is saved as UTF-16"}},
		{"binary", []byte("No.1\n\n2021.04\n\x00\x01\x02"), []string{"4: this line holds binary data"}},
		{"no sections", join(without(m, 5, 10)), []string{"37: no sections found"}},
		{"no masthead numbers", join(without(m, 0, 4)), []string{"7: the masthead above this line has no issue numbers"}},
		{"one masthead number", join(without(m, 0)), []string{"7: the masthead has only one issue number (No.60)"}},
		{"no month", join(without(m, 1)), []string{"9: the masthead above this line has no month"}},
		{"no masthead at all", join(m[5:]), []string{"1: the masthead above this line has no issue numbers", "1: the masthead above this line has no month"}},
		{"TOC entry without body", join(without(m, 15, 16, 17, 18)), []string{`17: the table of contents lists "工信部通报违规App" but no item with that title follows in the body`}},
		{"body item not in TOC", join(without(m, 8, 9)), []string{`27: the body has an item "工信部通报违规App" that is not in the table of contents`}},
		{"body item right after heading not in TOC", join(without(m, 6, 7)), []string{`19: the body has an item "网信办发布汽车数据规定" that is not in the table of contents`}},
		{"TOC without any body", join(m[:10]), []string{
			`13: the table of contents lists "网信办发布汽车数据规定" but no item`,
			`17: the table of contents lists "工信部通报违规App" but no item`}},
		{"English title differs", join(with(m, 17, "MIIT Names Infringing Applications")), []string{`35: the English title of "工信部通报违规App" here is "MIIT Names Infringing Applications", but the table of contents (line 19) lists "MIIT Names Infringing Apps"`}},
		{"item without English part", join(without(m, 13, 14)), []string{`23: the item "网信办发布汽车数据规定" has no English part`}},
		{"item twice in body", join(append(slices.Clone(m[:19]), append(slices.Clone(m[15:19]), m[19:]...)...)), []string{`39: the item "工信部通报违规App" appears twice in the body (also on line 31)`}},
		// A title listed twice reads as the body starting early: the second
		// listing is taken for the item, and the real item is reported.
		{"TOC entry twice", join(append(slices.Clone(m[:10]), append([]string{m[6], m[7]}, m[10:]...)...)), []string{`27: the item "网信办发布汽车数据规定" appears twice in the body (also on line 21)`}},
		{"TOC entry without English title", join(without(m, 7)), []string{`13: the table of contents lists "网信办发布汽车数据规定" without an English title`}},
		{"TOC English title without Chinese", join(without(m, 6)), []string{
			`13: the table of contents lists the English title "CAC Issues Automobile Data Rules" without a Chinese title`,
			`21: the body has an item "网信办发布汽车数据规定" that is not in the table of contents`}},
		{"no table of contents", join(append(slices.Clone(m[:5]), m[10:]...)), []string{"15: this line reads like an item's text, but the table of contents is expected here"}},
		{"empty body section", join(append(slices.Clone(m[:11]), append([]string{"海外动态 Overseas News"}, m[11:]...)...)), []string{`21: the section "国内要闻 Domestic News" has no items in the body`}},
		{"several problems, in line order", join(without(with(m, 17, "MIIT Names Other Apps"), 0, 13)), []string{
			"7: the masthead has only one issue number",
			`21: the item "网信办发布汽车数据规定" has no English part`,
			`31: the English title of "工信部通报违规App" here is "MIIT Names Other Apps"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is, _, err := Parse("issue.md", tt.data)
			if err == nil {
				t.Fatalf("no error; parsed %s", summary(is))
			}
			if is != nil {
				t.Errorf("a partial issue came back with the error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], "issue.md:"+w) {
					t.Errorf("problem %d:\n got %s\nwant issue.md:%s…", i, lines[i], w)
				}
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "issue.md" || pe.Line < 1 {
				t.Errorf("error is not a located *ParseError: %#v", err)
			}
		})
	}
}

// TestParseSampleBroken breaks the real sample the way an editor might.
func TestParseSampleBroken(t *testing.T) {
	data := string(readSample(t))
	lines := strings.Split(data, "\n")
	cut := func(from, to int) []byte { // drop lines from..to (1-based, inclusive)
		out := append(slices.Clone(lines[:from-1]), lines[to:]...)
		return []byte(strings.Join(out, "\n"))
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"last body item removed", cut(133, 142), `issue.md:59: the table of contents lists "欧盟将成立网络安全能力中心" but no item with that title follows in the body`},
		{"TOC entry removed", cut(29, 32), `issue.md:69: the body has an item "工信部向社会通报主流应用平台问题数量占比" that is not in the table of contents`},
		{"masthead numbers removed", cut(13, 14), "issue.md:1"}, // checked below
	}
	for _, tt := range tests[:2] {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("issue.md", tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
	_, _, err := Parse("issue.md", tests[2].data)
	if err == nil || err.Error() != "issue.md:19: the masthead has only one issue number (No.53); it needs two: the firm-wide newsletter number (a line like No.233, before the month) and the weekly series number (a line like No.53, after the English title)" {
		t.Errorf("masthead number removed: %v", err)
	}
}

func TestParseWarnings(t *testing.T) {
	m := mini()
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"dates disagree", join(with(m, 14, "On June 3, 2021, the CAC issued the rules.")), "issue.md:27: warning: the item \"网信办发布汽车数据规定\" is dated 2021-06-01 in Chinese but 2021-06-03 in English"},
		{"no disclaimer", join(m[:19]), "warning: no Chinese disclaimer"},
		{"text after the disclaimer", join(append(slices.Clone(m), "Some stray paragraph that nobody expected here at all.")), "issue.md:43: warning: text after the disclaimer is ignored"},
		{"body has no section headings", join(without(m, 10)), "issue.md:21: warning: the body has no section heading before its first item"},
		{"English disclaimer alone", join(without(m, 19)), "issue.md:39: warning: no Chinese disclaimer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warns := mustParse(t, "issue.md", tt.data)
			var got []string
			for _, w := range warns {
				got = append(got, w.String())
			}
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tt.want) }) {
				t.Errorf("warnings %q\nwant one containing %q", got, tt.want)
			}
		})
	}
}

func TestParseTail(t *testing.T) {
	m := mini()
	// A heading over the disclaimers, and only the English one.
	is, _ := mustParse(t, "issue.md", join(append(slices.Clone(m[:19]), "**免责声明 Disclaimer**", m[20], "Subscribe to our WeChat community", "北京 | 上海 | 武汉")))
	last := is.Sections[0].Items[1]
	if len(last.BodyEN) != 1 || is.DisclaimerEN != m[20] || is.DisclaimerZH != "" {
		t.Errorf("last item body_en %q, disclaimers %q / %q", last.BodyEN, is.DisclaimerZH, is.DisclaimerEN)
	}
	is, _ = mustParse(t, "issue.md", join(without(m, 19)))
	if last := is.Sections[0].Items[1]; len(last.BodyEN) != 1 || is.DisclaimerEN != m[20] {
		t.Errorf("English disclaimer right after the last item was taken as its text: %q", last.BodyEN)
	}
}

func TestCutMoreLinks(t *testing.T) {
	tests := []struct {
		in, text string
		dests    []string
	}{
		{`正文。[\(查看更多\)](#)`, "正文。", []string{"#"}},
		{`正文。（[查看更多](#)）`, "正文。", []string{"#"}},
		{`正文。 ([查看更多](#))`, "正文。", []string{"#"}},
		{`Text. ([More](#))`, "Text.", []string{"#"}},
		{`Text. [\(More\)](#)`, "Text.", []string{"#"}},
		{`([查看更多](#))`, "", []string{"#"}},
		{`Text. ([More](https://e.x/a_(b)?c=1&d=2))`, "Text.", []string{"https://e.x/a_(b)?c=1&d=2"}},
		{`Text. [More](<https://e.x/a b> "title")`, "Text.", []string{"https://e.x/a b"}},
		{`Text ([Read more](https://e.x)). Then more.`, "Text. Then more.", []string{"https://e.x"}},
		{`See [the law](https://e.x/law) for *details*.`, `See [the law](https://e.x/law) for *details*.`, nil},
		{`![More](img.png)`, `![More](img.png)`, nil},
		{"`[More](#)` in code", "`[More](#)` in code", nil},
		{`Broken [More](#`, `Broken [More](#`, nil},
		{`\[More](#) escaped`, `\[More](#) escaped`, nil},
	}
	for _, tt := range tests {
		text, dests := cutMoreLinks(tt.in)
		if text != tt.text || !slices.Equal(dests, tt.dests) {
			t.Errorf("cutMoreLinks(%q) = %q, %q; want %q, %q", tt.in, text, dests, tt.text, tt.dests)
		}
	}
}

func TestDates(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2021年4月26日，工信部", "2021-04-26"},
		{"2021 年 4 月 6 日，", "2021-04-06"},
		{"**2021年12月1日**，", "2021-12-01"},
		{"2021年2月30日，", ""},
		{"2021年5月，欧盟", ""},
		{"近日，", ""},
		{"On April 26, 2021, MIIT", "2021-04-26"},
		{"On 26 April 2021, the", "2021-04-26"},
		{"April 3, 2021, the", "2021-04-03"},
		{"On Sept. 30, 2021, the", "2021-09-30"},
		{"On April 31, 2021,", ""},
		{"In May 2021, the", ""},
		{"Once upon a time", ""},
	}
	for _, tt := range tests {
		got, _ := chineseDate(tt.in)
		if got == "" {
			got, _ = englishDate(tt.in)
		}
		if got != tt.want {
			t.Errorf("date of %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMastheadOnOneLine(t *testing.T) {
	m := mini()
	is, _ := mustParse(t, "issue.md", join(append([]string{"**No.240 | 2021.06**", m[2], m[3], "No. 60"}, m[5:]...)))
	if is.NewsletterNumber != 240 || is.Month != "2021-06" || is.Number != 60 || is.TitleZH != m[2] || is.TitleEN != m[3] {
		t.Errorf("masthead = %d %q %d %q %q", is.NewsletterNumber, is.Month, is.Number, is.TitleZH, is.TitleEN)
	}
}

// The Chinese forms: 第60期 for the series, 总第240期 for the firm-wide
// number, which also wins when it comes second on the line.
func TestMastheadChineseNumbers(t *testing.T) {
	m := mini()
	for _, head := range [][]string{
		{"总第240期", "2021.06", m[2], m[3], "第60期"},
		{"2021.06", m[2], m[3], "第60期 总第240期"},
		{"2021.06", m[2], m[3], "No.60 | 总第240期"},
	} {
		is, _ := mustParse(t, "issue.md", join(append(head, m[5:]...)))
		if is.NewsletterNumber != 240 || is.Month != "2021-06" || is.Number != 60 || is.TitleZH != m[2] || is.TitleEN != m[3] {
			t.Errorf("%q: masthead = %d %q %d %q %q", head, is.NewsletterNumber, is.Month, is.Number, is.TitleZH, is.TitleEN)
		}
	}
}

func TestMastheadLines(t *testing.T) {
	for in, want := range map[string]int{"No.233": 233, "No. 53": 53, "NO.7": 7, "No 12": 12, "№5": 5, "No.": 0, "Notes": 0, "No.5a": 0, "No.0": 0,
		"第53期": 53, "总第233期": 233, "第期": 0, "第五十三期": 0, "第53": 0, "53期": 0} {
		if got, _ := issueNumber(in); got != want {
			t.Errorf("issueNumber(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]string{"2021.04": "2021-04", "2021.4": "2021-04", "2021-12": "2021-12", "2021/1": "2021-01", "2021年5月": "2021-05", "2021.13": "", "21.04": "", "2021.04.01": ""} {
		if got, _ := monthLine(in); got != want {
			t.Errorf("monthLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitHeading(t *testing.T) {
	tests := []struct{ in, zh, en string }{
		{"国内要闻 Domestic News", "国内要闻", "Domestic News"},
		{"执法动态 Enforcement Actions", "执法动态", "Enforcement Actions"},
		{"立法与监管 Legislation & Regulation", "立法与监管", "Legislation & Regulation"},
		{"海外动态 | Overseas News", "海外动态", "Overseas News"},
		{"GDPR专栏 GDPR Column", "GDPR专栏", "GDPR Column"},
		{"EDPB发布关于向社交媒体用户定向推广的指南", "", ""},
		{"LIFANG & PARTNERS 立方观评", "", ""},
		{"美国燃油管道运营商Colonial Pipeline遭勒索软件攻击", "", ""},
		{"立方网络安全与数据合规周报", "", ""},
		{"Weekly Cybersecurity and Data Protection Review", "", ""},
	}
	for _, tt := range tests {
		zh, en, _ := splitHeading(tt.in)
		if zh != tt.zh || en != tt.en {
			t.Errorf("splitHeading(%q) = %q, %q; want %q, %q", tt.in, zh, en, tt.zh, tt.en)
		}
	}
}

func TestStrip(t *testing.T) {
	tests := []struct {
		in, text  string
		decorated bool
	}{
		{"## 国内要闻 Domestic News", "国内要闻 Domestic News", true},
		{"# Title #", "Title", true},
		{"### **标题**", "标题", true},
		{"__Title__", "Title", true},
		{"**A** and **B**", "A and B", false},
		{"**国内要闻** Domestic News", "国内要闻 Domestic News", false},
		{"a ** b", "a ** b", false},
		{"[标题](#item-1)", "标题", false},
		{"- 标题", "标题", false},
		{`LAC\: a \*b\*`, "LAC: a *b*", false},
		{"#hashtag", "#hashtag", false},
	}
	for _, tt := range tests {
		got := strip(tt.in)
		if got.text != tt.text || got.decorated != tt.decorated {
			t.Errorf("strip(%q) = %+v, want %q decorated=%v", tt.in, got, tt.text, tt.decorated)
		}
	}
}
