package docx_test

import (
	"archive/zip"
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/newsletter/docx"
)

const contentTypes = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`

const rels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.com/a?b=1&amp;c=(2" TargetMode="External"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.png"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>`

// zipOf writes a .docx around a document.xml (and rels and footnotes).
func zipOf(t testing.TB, parts map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "word/document.xml", "word/_rels/document.xml.rels", "word/footnotes.xml", "word/styles.xml", "word/media/image1.png"} {
		body, ok := parts[name]
		if !ok {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func docOf(t testing.TB, document string) []byte {
	return zipOf(t, map[string]string{"[Content_Types].xml": contentTypes, "word/document.xml": document,
		"word/_rels/document.xml.rels": rels, "word/media/image1.png": "\x89PNG\r\n\x1a\nfake",
		"word/footnotes.xml": `<w:footnotes xmlns:w="w"><w:footnote w:id="1"><w:p><w:r><w:t>note</w:t></w:r></w:p></w:footnote></w:footnotes>`})
}

// documentXML pulls word/document.xml out of a .docx, for seeds.
func documentXML(data []byte) string {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return ""
	}
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			rc, err := f.Open()
			if err != nil {
				return ""
			}
			b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
			rc.Close()
			return string(b)
		}
	}
	return ""
}

// FuzzDocx feeds the Word reader arbitrary archives (raw) and arbitrary
// document.xml inside a well-formed archive (doc). It must never panic;
// what it reads is one line per paragraph, located; Parse returns an issue
// or located errors, never both.
func FuzzDocx(f *testing.F) {
	files, _ := filepath.Glob("../testdata/word/*.docx")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		// Go's fuzzer mutates large inputs slowly: the archives whole
		// only when small, their document.xml cut to 8 KB.
		doc := documentXML(data)
		if len(doc) > 8<<10 {
			doc = doc[:8<<10]
		}
		if len(data) > 8<<10 {
			data = []byte("PK\x03\x04")
		}
		f.Add(data, doc)
	}
	for _, d := range []string{
		`<w:document xmlns:w="w" xmlns:r="r"><w:body><w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:rPr><w:b/></w:rPr><w:t>国内要闻 Domestic News</w:t></w:r></w:p></w:body></w:document>`,
		`<w:document xmlns:w="w" xmlns:r="r"><w:body><w:p><w:hyperlink r:id="rId1"><w:r><w:t>(More)</w:t></w:r></w:hyperlink><w:r><w:footnoteReference w:id="1"/></w:r></w:p></w:body></w:document>`,
		`<w:document xmlns:w="w" xmlns:r="r" xmlns:a="a"><w:body><w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>TOC \o "1-3"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:hyperlink w:anchor="_Toc1"><w:r><w:t>一、国内要闻</w:t></w:r><w:r><w:tab/><w:t>2</w:t></w:r></w:hyperlink></w:p><w:p><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:drawing><a:blip r:embed="rId2"/></w:drawing></w:r></w:p></w:body></w:document>`,
		`<w:document xmlns:w="w"><w:body><w:p><w:r><w:fldChar w:fldCharType="begin"/><w:instrText>HYPERLINK "x"</w:instrText><w:fldChar w:fldCharType="separate"/><w:t>*[_a_]*</w:t></w:r></w:p></w:body></w:document>`,
		strings.Repeat("<w:p>", 300),
	} {
		f.Add([]byte("PK\x03\x04"), d)
	}
	f.Add([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), "")
	f.Fuzz(func(t *testing.T, raw []byte, doc string) {
		checkDocx(t, raw)
		checkDocx(t, docOf(t, doc))
	})
}

// checkDocx is FuzzDocx's property for one input.
func checkDocx(t *testing.T, data []byte) {
	t.Helper()
	d, err := docx.Read(data, docx.Limits{})
	if err == nil {
		for _, l := range d.Lines {
			if strings.ContainsAny(l.Text, "\n\r") || l.Para < 0 || l.Text == "" {
				t.Fatalf("bad line %+v", l)
			}
		}
		for _, src := range d.Images {
			// A damaged file may list a picture it lacks: an error, not a panic.
			if _, err := docx.Media(data, src, 1<<20); err != nil && err.Error() == "" {
				t.Fatalf("image %s: empty error", src)
			}
		}
	}
	iss, _, perr := newsletter.Parse("fuzz.docx", data)
	if (iss == nil) == (perr == nil) {
		t.Fatalf("issue %v and error %v", iss != nil, perr)
	}
	if perr != nil && !strings.HasPrefix(perr.Error(), "fuzz.docx: ") {
		t.Fatalf("error not located: %v", perr)
	}
}

// TestDocxMutations runs FuzzDocx's property over random mutations of the
// fixtures' document.xml (bytes flipped, cut, repeated, tags spliced in)
// and of the archives themselves, for WXBOT_DOCX_SOAK (e.g. 60s; 300
// inputs by default). On this machine Go's fuzzing engine stalled after
// its baseline (the existing FuzzParse too), so this is the long run.
func TestDocxMutations(t *testing.T) {
	files, _ := filepath.Glob("../testdata/word/*.docx")
	var raws [][]byte
	var docs []string
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, data)
		docs = append(docs, documentXML(data))
	}
	budget, n := time.Duration(0), 300
	if v := os.Getenv("WXBOT_DOCX_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		budget, n = d, 1<<62
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	tags := []string{"<w:p>", "</w:p>", "<w:r>", "<w:t>", "</w:t>", `<w:fldChar w:fldCharType="begin"/>`, `<w:fldChar w:fldCharType="end"/>`, `<w:fldChar w:fldCharType="separate"/>`,
		`<w:instrText>TOC</w:instrText>`, `<w:instrText>HYPERLINK "`, `<w:hyperlink r:id="rId9">`, "</w:hyperlink>", `<w:footnoteReference w:id="1"/>`, "<w:tab/>", "<w:b/>", "&amp;", "\x00", "]]>", "<!--", "*[_"}
	start := time.Now()
	count := 0
	for i := 0; i < n && (budget == 0 || time.Since(start) < budget); i++ {
		k := rng.IntN(len(docs))
		doc := []byte(docs[k])
		for range 1 + rng.IntN(8) {
			if len(doc) == 0 {
				break
			}
			at := rng.IntN(len(doc))
			switch rng.IntN(5) {
			case 0:
				doc[at] ^= byte(1 << rng.IntN(8))
			case 1:
				doc = doc[:at]
			case 2:
				doc = append(doc[:at:at], append([]byte(tags[rng.IntN(len(tags))]), doc[at:]...)...)
			case 3:
				end := min(len(doc), at+rng.IntN(200))
				doc = append(doc[:end:end], append(bytes.Clone(doc[at:end]), doc[end:]...)...)
			case 4:
				end := min(len(doc), at+rng.IntN(200))
				doc = append(doc[:at:at], doc[end:]...)
			}
		}
		checkDocx(t, docOf(t, string(doc)))
		raw := bytes.Clone(raws[k])
		for range 1 + rng.IntN(4) {
			raw[rng.IntN(len(raw))] ^= byte(1 << rng.IntN(8))
		}
		checkDocx(t, raw)
		count += 2
	}
	t.Logf("%d inputs in %s", count, time.Since(start).Round(time.Millisecond))
}

// An archive of too many entries, and a part whose header understates
// its size, are refused.
func TestArchiveBounds(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < 5000; i++ {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "x/" + strings.Repeat("a", i%7) + string(rune('a'+i%26)) + strings.Repeat("b", i/26%30), Method: zip.Store})
		w.Write(nil)
	}
	zw.Close()
	if _, err := docx.Read(buf.Bytes(), docx.Limits{}); err == nil || !strings.Contains(err.Error(), "parts, more than the 4096") {
		t.Errorf("5000 entries: %v", err)
	}
	// A bomb: 64 MB of zeros in one entry, a few KB compressed.
	var bomb bytes.Buffer
	zw = zip.NewWriter(&bomb)
	w, _ := zw.Create("[Content_Types].xml")
	io.WriteString(w, contentTypes)
	w, _ = zw.Create("word/document.xml")
	zero := make([]byte, 1<<20)
	for range 64 {
		w.Write(zero)
	}
	zw.Close()
	if bomb.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes", bomb.Len())
	}
	_, err := docx.Read(bomb.Bytes(), docx.Limits{})
	if err == nil || !strings.Contains(err.Error(), "unpacks to more than 16 MB") {
		t.Errorf("bomb: %v", err)
	}
	// The same with the sizes in the headers zeroed: read through a limit.
	b := bomb.Bytes()
	lied := bytes.Clone(b)
	zeroSizes(lied)
	_, err = docx.Read(lied, docx.Limits{})
	if err == nil {
		t.Errorf("lying bomb accepted")
	}
	if _, err := docx.Media(b, "word/document.xml", 1<<20); err == nil {
		t.Error("Media returned a non-picture part")
	}
	spaced := zipOf(t, map[string]string{"[Content_Types].xml": contentTypes, "word/media/image1.png": "\x89PNG"})
	if b, err := docx.Media(spaced, "word/media/image%31.png", 1<<20); err != nil || string(b) != "\x89PNG" {
		t.Errorf("escaped name: %v", err)
	}
	big := zipOf(t, map[string]string{"[Content_Types].xml": contentTypes, "word/media/image1.png": strings.Repeat("x", 2<<20)})
	if _, err := docx.Media(big, "word/media/image1.png", 1<<20); err == nil || !strings.Contains(err.Error(), "the picture word/media/image1.png is larger than 1 MB") {
		t.Errorf("big picture: %v", err)
	}
}

// zeroSizes clears the uncompressed sizes in a zip's central directory.
func zeroSizes(b []byte) {
	sig := []byte("PK\x01\x02")
	for i := 0; ; {
		j := bytes.Index(b[i:], sig)
		if j < 0 {
			return
		}
		i += j
		if i+28 <= len(b) {
			copy(b[i+24:i+28], []byte{0, 0, 0, 0})
		}
		i += 4
	}
}

func TestConvert(t *testing.T) {
	doc := `<w:document xmlns:w="w" xmlns:r="r" xmlns:a="a"><w:body>
<w:p><w:r><w:t>a*b_c [x] </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t> bold </w:t></w:r><w:r><w:rPr><w:b/><w:i/></w:rPr><w:t>both</w:t></w:r><w:r><w:t>snake_case &lt;b&gt; &amp;amp;</w:t></w:r></w:p>
<w:p><w:hyperlink r:id="rId1"><w:r><w:t>(查看</w:t></w:r><w:r><w:t>更多)</w:t></w:r></w:hyperlink><w:r><w:footnoteReference w:id="1"/></w:r></w:p>
<w:p/>
<w:p><w:r><w:t>正文。(查看更多)</w:t></w:r></w:p>
<w:p><w:r><w:t># not a heading</w:t><w:br/><w:t>next</w:t></w:r><w:r><w:drawing><a:blip r:embed="rId2"/></w:drawing></w:r></w:p>
<w:p><w:hyperlink w:anchor="X1a"><w:r><w:t>国内要闻 Domestic News 2</w:t></w:r></w:hyperlink></w:p>
<w:p><w:hyperlink w:anchor="_Toc12"><w:r><w:t>工信部通报违规App</w:t></w:r><w:r><w:tab/><w:t>3</w:t></w:r></w:hyperlink></w:p>
<w:p><w:hyperlink w:anchor="X2b"><w:r><w:t>(查看更多)</w:t></w:r></w:hyperlink></w:p>
</w:body></w:document>`
	d, err := docx.Read(docOf(t, doc), docx.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range d.Lines {
		got = append(got, string(rune('0'+l.Para))+" "+l.Text)
	}
	want := []string{
		`1 a\*b_c \[x\]  **bold** ***both***snake_case \<b> \&amp;`,
		`2 [(查看更多)](https://example.com/a?b=1&c=%282)[^1]`,
		`4 正文。[\(查看更多\)](#)`,
		`5 \# not a heading next![](word/media/image1.png)`,
		`6 国内要闻 Domestic News`,
		`7 工信部通报违规App`,
		`8 [(查看更多)](#)`,
		`2 [^1]: note`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(d.Images) != 1 || d.Images[0] != "word/media/image1.png" {
		t.Errorf("images %v", d.Images)
	}
}
