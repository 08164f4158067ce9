package render

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lifang/wxbot/examples"
	"github.com/lifang/wxbot/newsletter"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const samplePath = "../../shared/samples/newsletter-no53.md"

// testOptions are the configuration defaults, spelled out so that a change
// of defaults does not silently change the golden files.
func testOptions() Options {
	return Options{
		Layout: LayoutSingle,
		Author: "立方律师事务所",
		Footer: "扫码关注公众号“立方律师事务所” · Follow us on WeChat",
		Theme:  DefaultTheme,
	}
}

// issues returns the sample (when present) and the examples, parsed.
func issues(t testing.TB) map[string]*newsletter.Issue {
	t.Helper()
	out := map[string]*newsletter.Issue{}
	add := func(name string, data []byte) {
		is, _, err := newsletter.Parse(name, data)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		out[strings.TrimSuffix(name, ".md")] = is
	}
	if data, err := os.ReadFile(samplePath); err == nil {
		add("newsletter-no53.md", data)
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	entries, err := examples.FS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := examples.FS.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		add(e.Name(), data)
	}
	return out
}

func mustRender(t testing.TB, is *newsletter.Issue, opts Options) (*Draft, []string) {
	t.Helper()
	d, notes, err := Render(is, opts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return d, notes
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		from := max(0, i-80)
		t.Errorf("%s differs from the golden file at byte %d:\n got …%s…\nwant …%s…\n(run go test ./render -update if the change is intended)",
			path, i, got[from:min(len(got), i+80)], want[from:min(len(want), i+80)])
	}
}

func TestRenderGolden(t *testing.T) {
	cases := []struct {
		name, issue string
		opts        func(*Options)
	}{
		{"no53", "newsletter-no53", nil},
		{"no54", "newsletter-no54", nil},
		{"no54-sections", "newsletter-no54", func(o *Options) { o.Layout = LayoutSections }},
		{"no55", "newsletter-no55", nil},
		{"no55-theme", "newsletter-no55", func(o *Options) {
			o.Theme = Theme{Color: "#8a1538", TextColor: "#222222", FontFamily: "Georgia, serif", FontSize: "16px"}
			o.ImageURLs = map[string]string{"images/miit-batch4.png": "https://mmbiz.qpic.cn/mmbiz_png/abc/0?wx_fmt=png"}
			o.SourceURL = "https://www.lifanglaw.com/newsletter"
			o.OpenComment = true
		}},
	}
	all := issues(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := all[c.issue]
			if is == nil {
				t.Skipf("%s not present", c.issue)
			}
			opts := testOptions()
			if c.opts != nil {
				c.opts(&opts)
			}
			d, notes := mustRender(t, is, opts)
			for i, a := range d.Articles {
				golden(t, fmt.Sprintf("%s-%d.html", c.name, i+1), []byte(a.Content+"\n"))
			}
			// Everything but the content, and the notes, in one reviewable file.
			type meta struct {
				Articles []Article `json:"articles"`
				Notes    []string  `json:"notes"`
			}
			m := meta{Notes: notes}
			for _, a := range d.Articles {
				a.Content = fmt.Sprintf("(%d characters)", utf8.RuneCountInString(a.Content))
				m.Articles = append(m.Articles, a)
			}
			var js bytes.Buffer
			enc := json.NewEncoder(&js)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(m); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name+".json", js.Bytes())
		})
	}
}

// element is an HTML element of rendered content.
type element struct {
	name  string
	attrs []xml.Attr
}

// scan reads rendered HTML with encoding/xml in its lenient HTML mode and
// returns its elements and its text (entities decoded).
func scan(t *testing.T, content string) ([]element, string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader("<root>" + content + "</root>"))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	var els []element
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("content is not well-formed: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if x.Name.Local != "root" {
				els = append(els, element{strings.ToLower(x.Name.Local), x.Attr})
			}
		case xml.CharData:
			text.Write(x)
		}
	}
	return els, text.String()
}

// checkWeChat asserts WeChat's rules on a draft and that every item of the
// issue is in it, once, in order.
func checkWeChat(t *testing.T, is *newsletter.Issue, d *Draft) {
	t.Helper()
	if n := len(d.Articles); n < 1 || n > MaxArticles {
		t.Fatalf("%d articles; WeChat takes 1 to %d", n, MaxArticles)
	}
	allowed := map[string]bool{"section": true, "p": true, "span": true, "strong": true, "em": true, "br": true,
		"h3": true, "h4": true, "sup": true, "img": true, "code": true}
	var texts []string
	for i, a := range d.Articles {
		if n := utf8.RuneCountInString(a.Title); n == 0 || n > MaxTitle {
			t.Errorf("article %d: title %q is %d characters", i+1, a.Title, n)
		}
		if n := utf8.RuneCountInString(a.Digest); n > MaxDigest {
			t.Errorf("article %d: digest is %d characters", i+1, n)
		}
		// WeChat shows a digest only for single-article messages.
		if single := len(d.Articles) == 1; single != (a.Digest != "") {
			t.Errorf("article %d of %d: digest %q (want one only for a single article)", i+1, len(d.Articles), a.Digest)
		}
		if n := utf8.RuneCountInString(a.Author); n > MaxAuthor {
			t.Errorf("article %d: author is %d characters", i+1, n)
		}
		for _, s := range []string{a.Title, a.Digest, a.Author, a.Content} {
			if !utf8.ValidString(s) {
				t.Errorf("article %d: invalid UTF-8 (cut inside a character?)", i+1)
			}
		}
		if n := utf8.RuneCountInString(a.Content); n >= MaxContentChars || len(a.Content) >= MaxContentBytes {
			t.Errorf("article %d: content is %d characters, %d bytes", i+1, n, len(a.Content))
		}
		els, text := scan(t, a.Content)
		for _, el := range els {
			if !allowed[el.name] {
				t.Errorf("article %d: element <%s> is not allowed", i+1, el.name)
			}
			for _, at := range el.attrs {
				switch name := strings.ToLower(at.Name.Local); {
				case name == "style", el.name == "img" && (name == "src" || name == "alt"):
				default:
					t.Errorf("article %d: <%s %s=%q>: only inline styles are allowed", i+1, el.name, name, at.Value)
				}
				if strings.Contains(strings.ToLower(at.Value), "javascript:") || strings.Contains(at.Value, "url(") {
					t.Errorf("article %d: <%s> attribute %q", i+1, el.name, at.Value)
				}
			}
		}
		for _, bad := range []string{"<a ", "<a>", "<style", "<script", " class=", " id=", "href="} {
			if strings.Contains(strings.ToLower(a.Content), bad) {
				t.Errorf("article %d: content contains %q", i+1, bad)
			}
		}
		texts = append(texts, text)
	}

	// Every item's titles and words are in the draft, once, in order.
	joined := strings.Join(texts, "\n")
	pos := 0
	for _, s := range is.Sections {
		for _, it := range s.Items {
			for _, title := range []string{it.TitleZH, it.TitleEN} {
				k := strings.Index(joined[pos:], title)
				if k < 0 {
					t.Fatalf("title %q missing or out of order", title)
				}
				pos += k
			}
			for _, p := range append(slices.Clone(it.BodyZH), it.BodyEN...) {
				for _, leaf := range leaves(newsletter.ParseInline(p)) {
					if !strings.Contains(joined, leaf) {
						t.Errorf("%s: text %q missing", it.TitleZH, leaf)
					}
				}
			}
			for _, link := range []string{it.LinkZH, it.LinkEN} {
				if link != "" && !strings.Contains(joined, link) {
					t.Errorf("%s: link %s not shown as a reference", it.TitleZH, link)
				}
			}
		}
	}
	if is.DisclaimerZH != "" && !strings.Contains(joined, newsletter.PlainText(is.DisclaimerZH)) {
		t.Errorf("Chinese disclaimer missing")
	}
}

// leaves are the text pieces of a paragraph (link and image text included).
func leaves(ins []newsletter.Inline) []string {
	var out []string
	for _, in := range ins {
		switch in.Kind {
		case newsletter.InlineText, newsletter.InlineCode:
			if strings.TrimSpace(in.Text) != "" {
				out = append(out, in.Text)
			}
		default:
			out = append(out, leaves(in.Children)...)
		}
	}
	return out
}

func TestRenderWeChatRules(t *testing.T) {
	for name, is := range issues(t) {
		for _, layout := range []string{LayoutSingle, LayoutSections} {
			t.Run(name+"/"+layout, func(t *testing.T) {
				opts := testOptions()
				opts.Layout = layout
				d, _ := mustRender(t, is, opts)
				checkWeChat(t, is, d)
				lead := d.Articles[0]
				if want := fmt.Sprintf("立方网络安全与数据合规周报 No.%d", is.Number); lead.Title != want {
					t.Errorf("lead title %q, want %q", lead.Title, want)
				}
				if !strings.Contains(lead.Content, fmt.Sprintf("No.%d</span>", is.Number)) || !strings.Contains(lead.Content, "本期目录") {
					t.Errorf("lead article lacks the masthead or the table of contents")
				}
				if layout == LayoutSections && len(d.Articles) != len(is.Sections) {
					t.Errorf("layout sections: %d articles for %d sections", len(d.Articles), len(is.Sections))
				}
				js, err := json.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				var body map[string][]map[string]any
				if err := json.Unmarshal(js, &body); err != nil {
					t.Fatal(err)
				}
				for _, a := range body["articles"] {
					var keys []string
					for k := range a {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					if want := []string{"author", "content", "content_source_url", "digest", "need_open_comment", "only_fans_can_comment", "thumb_media_id", "title"}; !slices.Equal(keys, want) {
						t.Errorf("draft/add article keys %v, want %v", keys, want)
					}
				}
			})
		}
	}
}

func TestRenderEscapesText(t *testing.T) {
	is := tinyIssue(3, 1, 50)
	it := &is.Sections[0].Items[0]
	it.TitleZH = `标题<script>alert(1)</script> & "引号"`
	it.TitleEN = `Title <b>bold</b> & Co's`
	it.BodyZH = []string{`正文 <img src=x onerror=alert(1)> & 1<2 **重点** [链接](javascript:alert(1)) ![图](javascript:alert(2))`}
	it.BodyEN = []string{`R&D <i>raw</i> and *emphasis* with [a link](https://e.x/?a=1&b=<2>)`}
	is.Sections[0].TitleEN = "News & <Views>"
	d, _ := mustRender(t, is, testOptions())
	checkWeChat(t, is, d)
	c := d.Articles[0].Content
	for _, want := range []string{
		"标题&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;引号&#34;",
		"Title &lt;b&gt;bold&lt;/b&gt; &amp; Co&#39;s",
		"正文 &lt;img src=x onerror=alert(1)&gt; &amp; 1&lt;2 <strong",
		"R&amp;D &lt;i&gt;raw&lt;/i&gt; and <em>emphasis</em>",
		"News &amp; &lt;Views&gt;",
		"https://e.x/?a=1&amp;b=&lt;2&gt;",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("content lacks %q", want)
		}
	}
	if strings.Contains(c, "<img") {
		t.Errorf("a javascript: image source became an <img>")
	}
}

// tinyIssue builds an issue of sections × items, each item with paragraphs
// of about words words in each language and a real link.
func tinyIssue(number, sections, words int) *newsletter.Issue {
	is := &newsletter.Issue{Number: number, NewsletterNumber: number + 180, Month: "2021-06",
		TitleZH: "立方网络安全与数据合规周报", TitleEN: "Weekly Cybersecurity and Data Protection Review",
		DisclaimerZH: "本文仅供参考，不构成法律意见。", DisclaimerEN: "This newsletter is not legal advice."}
	n := 0
	for s := range sections {
		sec := newsletter.Section{TitleZH: fmt.Sprintf("栏目%d", s+1), TitleEN: fmt.Sprintf("Column %d", s+1)}
		for j := range 3 {
			n++
			zh := strings.Repeat("数据合规监管动态。", words/5)
			en := strings.Repeat("Regulators published new rules on data. ", words/6)
			sec.Items = append(sec.Items, newsletter.Item{
				TitleZH: fmt.Sprintf("第%d条新闻标题%d-%d", n, s+1, j+1), TitleEN: fmt.Sprintf("News Item %d (%d-%d)", n, s+1, j+1),
				BodyZH: []string{fmt.Sprintf("2021年6月%d日，%s", j+1, zh), zh}, BodyEN: []string{fmt.Sprintf("On June %d, 2021, %s", j+1, en), en},
				LinkZH: fmt.Sprintf("https://example.com/news/%d?lang=zh&x=1", n), LinkEN: fmt.Sprintf("https://example.com/news/%d?lang=en", n),
				Date: fmt.Sprintf("2021-06-%02d", j+1),
			})
		}
		is.Sections = append(is.Sections, sec)
	}
	return is
}

func TestRenderSplit(t *testing.T) {
	tests := []struct {
		name              string
		sections, words   int
		layout            string
		articles          int
		noteHas, titleHas string
	}{
		{"fits in one", 2, 100, LayoutSingle, 1, "", ""},
		{"split by section", 5, 200, LayoutSingle, 0, "split into", " | No.7"},
		{"section longer than an article", 2, 700, LayoutSingle, 0, "its items run over articles", "（续）"},
		{"sections layout", 4, 100, LayoutSections, 4, "one per section", "栏目2 Column 2 | No.7"},
		{"sections layout over 8 sections", 10, 100, LayoutSections, 0, "more than WeChat's 8", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := tinyIssue(7, tt.sections, tt.words)
			opts := testOptions()
			opts.Layout = tt.layout
			d, notes := mustRender(t, is, opts)
			checkWeChat(t, is, d)
			if tt.articles > 0 && len(d.Articles) != tt.articles {
				t.Errorf("%d articles, want %d", len(d.Articles), tt.articles)
			}
			if tt.articles == 0 && len(d.Articles) < 2 {
				t.Errorf("%d articles, want a split", len(d.Articles))
			}
			if tt.noteHas != "" && !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, tt.noteHas) }) {
				t.Errorf("notes %q lack %q", notes, tt.noteHas)
			}
			if tt.noteHas == "" && len(notes) != 0 {
				t.Errorf("unexpected notes %q", notes)
			}
			var titles []string
			for i, a := range d.Articles {
				titles = append(titles, a.Title)
				if i > 0 && !strings.Contains(a.Content, fmt.Sprintf("%d/%d</section>", i+1, len(d.Articles))) {
					t.Errorf("article %d lacks its part header", i+1)
				}
				if i > 0 && strings.Contains(a.Content, "本期目录") {
					t.Errorf("article %d repeats the table of contents", i+1)
				}
			}
			if tt.titleHas != "" && !slices.ContainsFunc(titles, func(s string) bool { return strings.Contains(s, tt.titleHas) }) {
				t.Errorf("titles %q lack %q", titles, tt.titleHas)
			}
		})
	}
}

func TestRenderTooLong(t *testing.T) {
	is := tinyIssue(9, 12, 700) // about 36 articles' worth
	_, _, err := Render(is, testOptions())
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "WeChat allows 8") {
		t.Errorf("err = %v, want a refusal naming the 8-article limit", err)
	}
	giant := tinyIssue(9, 1, 10)
	giant.Sections[0].Items[1].BodyEN = []string{strings.Repeat("A very long paragraph. ", 1000)}
	_, _, err = Render(giant, testOptions())
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), `the item "第2条新闻标题1-2" alone is`) {
		t.Errorf("err = %v, want the over-long item named", err)
	}
}

func TestRenderLeadOnlyContents(t *testing.T) {
	// Items so long that none fits beside the table of contents.
	is := tinyIssue(8, 2, 1000)
	d, notes := mustRender(t, is, testOptions())
	checkWeChat(t, is, d)
	if len(d.Articles) != 7 || strings.Contains(d.Articles[0].Content, "<h3") || !strings.Contains(d.Articles[0].Content, "本期目录") {
		t.Errorf("%d articles, lead has items: %v; want the contents alone, then one article per item", len(d.Articles), strings.Contains(d.Articles[0].Content, "<h3"))
	}
	if len(notes) == 0 {
		t.Errorf("no note about the split")
	}
}

func TestRenderLimits(t *testing.T) {
	is := tinyIssue(123, 1, 20)
	is.TitleZH = "立方网络安全与数据合规以及人工智能治理和跨境数据流动专题周报（特刊）"
	opts := testOptions()
	opts.Author = "立方律师事务所网络安全与数据合规团队 Lifang"
	d, notes := mustRender(t, is, opts)
	a := d.Articles[0]
	if n := utf8.RuneCountInString(a.Title); n != MaxTitle || !strings.HasSuffix(a.Title, "… No.123") {
		t.Errorf("lead title %q (%d characters): want 32 characters ending with the number", a.Title, n)
	}
	if n := utf8.RuneCountInString(a.Author); n != MaxAuthor || !strings.HasSuffix(a.Author, "…") {
		t.Errorf("author %q (%d characters)", a.Author, n)
	}
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "author") }) {
		t.Errorf("notes %q do not mention the cut author", notes)
	}
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"立方律师事务所", 4, "立方律…"},
		{"ab，cd", 4, "ab…"},
		{"🙂🙂🙂🙂", 2, "🙂…"},
		{"x", 0, ""},
	} {
		if got := cut(tt.in, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestRenderImages(t *testing.T) {
	is := issues(t)["newsletter-no55"]
	src := ImageSources(is)
	if !slices.Equal(src, []string{"images/miit-batch4.png"}) {
		t.Fatalf("ImageSources = %q", src)
	}
	_, notes := mustRender(t, is, testOptions())
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "images/miit-batch4.png has no uploaded URL") }) {
		t.Errorf("notes %q do not report the image that was not uploaded", notes)
	}
	opts := testOptions()
	opts.ImageURLs = map[string]string{"images/miit-batch4.png": "https://mmbiz.qpic.cn/x.png"}
	d, notes := mustRender(t, is, opts)
	if len(notes) != 0 {
		t.Errorf("notes %q", notes)
	}
	if !strings.Contains(d.Articles[0].Content, `<img src="https://mmbiz.qpic.cn/x.png" alt="工信部通报的App问题类型分布"`) {
		t.Errorf("uploaded image URL not used")
	}
}

func TestRenderOptions(t *testing.T) {
	is := tinyIssue(4, 1, 20)
	opts := testOptions()
	opts.Theme.Color = "#8a1538"
	opts.SourceURL = "https://www.lifanglaw.com/n/4"
	opts.OpenComment, opts.OnlyFansCanComment = true, true
	opts.Footer = "第一行 & more\n第二行"
	d, _ := mustRender(t, is, opts)
	a := d.Articles[0]
	if !strings.Contains(a.Content, "#8a1538") || strings.Contains(a.Content, DefaultTheme.Color) {
		t.Errorf("brand colour not applied")
	}
	if a.ContentSourceURL != opts.SourceURL || a.NeedOpenComment != 1 || a.OnlyFansCanComment != 1 || a.ThumbMediaID != "" {
		t.Errorf("article settings %+v", a)
	}
	if !strings.Contains(a.Content, "第一行 &amp; more<br>第二行") {
		t.Errorf("footer not escaped with its line break")
	}
	for _, bad := range []Theme{{Color: "red"}, {TextColor: "#12345"}, {FontFamily: "x;}</style><script>"}, {FontSize: `15px"`}} {
		o := testOptions()
		o.Theme = bad
		if _, _, err := Render(is, o); err == nil {
			t.Errorf("theme %+v accepted", bad)
		}
	}
	o := testOptions()
	o.Layout = "grid"
	if _, _, err := Render(is, o); err == nil {
		t.Errorf("layout grid accepted")
	}
	if _, _, err := Render(&newsletter.Issue{}, testOptions()); err == nil {
		t.Errorf("an issue without sections rendered")
	}
	if d, _ := mustRender(t, is, Options{}); d.Articles[0].Author != "" || !strings.Contains(d.Articles[0].Content, DefaultTheme.Color) {
		t.Errorf("zero Options should render with the default theme")
	}
}

func TestPreviewPage(t *testing.T) {
	is := issues(t)["newsletter-no54"]
	opts := testOptions()
	opts.Layout = LayoutSections
	d, _ := mustRender(t, is, opts)
	page, err := PreviewPage(is, d)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "no54-sections-index.html", page)
	s := string(page)
	if !strings.Contains(s, "width:375px") {
		t.Errorf("preview is not phone-width")
	}
	for i, a := range d.Articles {
		if !strings.Contains(s, a.Content) || !strings.Contains(s, escapeText(a.Title)) || !strings.Contains(s, fmt.Sprintf("Article %d of %d", i+1, len(d.Articles))) {
			t.Errorf("preview lacks article %d", i+1)
		}
	}
	// The page's own policy: images over https or inline only, never http.
	const meta = `<meta http-equiv="Content-Security-Policy" content="`
	i := strings.Index(s, meta)
	if i < 0 {
		t.Fatal("preview has no Content-Security-Policy")
	}
	policy := html.UnescapeString(s[i+len(meta) : i+len(meta)+strings.IndexByte(s[i+len(meta):], '"')])
	if !strings.Contains(policy, "default-src 'none'") || !strings.Contains(policy, "img-src https: data:") || strings.Contains(policy, "http:") {
		t.Errorf("preview policy %q", policy)
	}
	for _, ext := range []string{"<link", "<script", "src=\"http", "url(http", "@import"} {
		if strings.Contains(s, ext) {
			t.Errorf("preview loads an external asset: %q", ext)
		}
	}
	one, err := ArticlePage(d.Articles[1])
	if err != nil || !strings.Contains(string(one), d.Articles[1].Content) {
		t.Errorf("ArticlePage: %v", err)
	}
}

// escapeText escapes s as html/template writes text.
func escapeText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

func BenchmarkParseRender(b *testing.B) {
	data, err := os.ReadFile(samplePath)
	if errors.Is(err, os.ErrNotExist) {
		b.Skipf("%s not present", samplePath)
	}
	if err != nil {
		b.Fatal(err)
	}
	opts := testOptions()
	// The reference: the least any parser does, checking UTF-8 and
	// splitting lines. Report parse and render as ratios to it.
	b.Run("reference-scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !utf8.Valid(data) || len(strings.Split(string(data), "\n")) == 0 {
				b.Fatal("bad sample")
			}
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := newsletter.Parse("sample", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	is, _, err := newsletter.Parse("sample", data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Render(is, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			is, _, err := newsletter.Parse("sample", data)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := Render(is, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
