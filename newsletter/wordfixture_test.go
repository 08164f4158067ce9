package newsletter

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// This file writes testdata/word/word-handmade.docx, a Word document built
// with the structures Word itself writes (not pandoc's): localised style ids
// ("1", "2", "a" named "heading 1", "heading 2", "List Paragraph" in
// styles.xml), a table of contents made by the TOC field inside a content
// control, its entries hyperlinks to _Toc bookmarks with a tab and a
// PAGEREF page number, runs split anywhere (proofing marks, bold on part of
// a paragraph), a read-more hyperlink whose target is in
// document.xml.rels, a HYPERLINK field, a picture (wp:inline, a:blip
// r:embed) in word/media, a footnote in footnotes.xml, a text box
// alternative (mc:AlternateContent) and a deleted revision.
// `go test ./newsletter -run TestWordHandmade -update` rewrites it;
// word-handmade.md is the same issue as Markdown.

// wordPNG is a 1×1 PNG.
var wordPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

const wNS = `xmlns:wpc="http://schemas.microsoft.com/office/word/2010/wordprocessingCanvas" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" xmlns:v="urn:schemas-microsoft-com:vml" mc:Ignorable="w14"`

// wp writes a paragraph of the style (a style id) with runs.
func wp(style string, runs ...string) string {
	ppr := ""
	if style != "" {
		ppr = `<w:pPr><w:pStyle w:val="` + style + `"/><w:rPr><w:rFonts w:hint="eastAsia"/></w:rPr></w:pPr>`
	}
	return `<w:p w14:paraId="1A2B3C4D" w:rsidR="00A1B2C3" w:rsidRDefault="00A1B2C3">` + ppr + strings.Join(runs, "") + `</w:p>`
}

// wr is a run; props like `<w:b/>`.
func wr(text, props string) string {
	rpr := `<w:rPr><w:rFonts w:hint="eastAsia"/>` + props + `</w:rPr>`
	return `<w:r w:rsidRPr="00D4E5F6">` + rpr + `<w:t xml:space="preserve">` + xmlEscape(text) + `</w:t></w:r>`
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// tocEntry is one paragraph of a Word table of contents.
func tocEntryXML(style, anchor, text string, page int, first bool) string {
	begin := ""
	if first {
		begin = `<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> TOC \o "1-3" \h \z \u </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>`
	}
	return `<w:p><w:pPr><w:pStyle w:val="` + style + `"/><w:tabs><w:tab w:val="right" w:leader="dot" w:pos="8296"/></w:tabs><w:rPr><w:noProof/></w:rPr></w:pPr>` + begin +
		`<w:hyperlink w:anchor="` + anchor + `" w:history="1"><w:r w:rsidRPr="00AB12CD"><w:rPr><w:rStyle w:val="a5"/><w:noProof/></w:rPr><w:t>` + xmlEscape(text) + `</w:t></w:r>` +
		`<w:r><w:rPr><w:noProof/><w:webHidden/></w:rPr><w:tab/></w:r>` +
		`<w:r><w:rPr><w:noProof/><w:webHidden/></w:rPr><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:rPr><w:noProof/><w:webHidden/></w:rPr><w:instrText xml:space="preserve"> PAGEREF ` + anchor + ` \h </w:instrText></w:r><w:r><w:rPr><w:noProof/><w:webHidden/></w:rPr></w:r><w:r><w:rPr><w:noProof/><w:webHidden/></w:rPr><w:fldChar w:fldCharType="separate"/></w:r>` +
		`<w:r><w:rPr><w:noProof/><w:webHidden/></w:rPr><w:t>` + fmt.Sprint(page) + `</w:t></w:r><w:r><w:rPr><w:noProof/><w:webHidden/></w:rPr><w:fldChar w:fldCharType="end"/></w:r></w:hyperlink></w:p>`
}

func bookmarked(name, para string) string {
	return `<w:bookmarkStart w:id="0" w:name="` + name + `"/>` + para + `<w:bookmarkEnd w:id="0"/>`
}

func handmadeDocument() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<w:document ` + wNS + `><w:body>`)
	add := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
	}
	add(wp("", wr("NEWSLETTER", "<w:b/>")),
		wp("", wr("No.", "<w:b/>"), wr("236", "<w:b/>")), // split runs
		wp("", wr("2021.06", "")),
		wp("a3", wr("立方网络安全与数据合规周报", "")), // Title, localised id
		wp("", wr("Weekly Cybersecurity and Data Protection Review", "<w:i/>")),
		wp("", wr("No.56", "<w:b/>")),
		wp("", ""), // an empty paragraph
		wp("TOC", wr("目录", "")),
	)
	// The table of contents, in a content control as Word makes it.
	add(`<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/><w:docPartUnique/></w:docPartObj></w:sdtPr><w:sdtContent>`)
	add(tocEntryXML("11", "_Toc7301", "一、国内要闻 Domestic News", 2, true),
		tocEntryXML("21", "_Toc7302", "1. 网信办发布《网络安全审查办法》修订草案", 2, false),
		tocEntryXML("21", "_Toc7303", "1. CAC Publishes Draft Revised Cybersecurity Review Measures", 2, false),
		tocEntryXML("21", "_Toc7304", "2. 工信部开展App侵害用户权益专项整治", 3, false),
		tocEntryXML("21", "_Toc7305", "2. MIIT Launches Campaign Against Apps Infringing User Rights", 3, false),
		tocEntryXML("11", "_Toc7306", "二、海外动态 Overseas News", 4, false),
		tocEntryXML("21", "_Toc7307", "3. 欧盟委员会通过对英国的充分性决定", 4, false),
		tocEntryXML("21", "_Toc7308", "3. European Commission Adopts Adequacy Decisions for the UK", 4, false),
		`<w:p><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`)
	add(`</w:sdtContent></w:sdt>`)
	add(`<w:p><w:r><w:br w:type="page"/></w:r></w:p>`)

	// Body.
	add(bookmarked("_Toc7301", wp("1", wr("一、国内要闻 Domestic News", ""))),
		bookmarked("_Toc7302", wp("2", wr("1. 网信办发布", ""), wr("“网络安全审查办法”", ""), wr("修订草案", ""))), // quotes differ from the TOC
		wp("", wr("2021年7月10日，国家网信办发布《网络安全审查办法（修订草案征求意见稿）》，", ""),
			wr("掌握超过100万用户个人信息", "<w:b/>"),
			wr("的运营者赴国外上市，必须申报网络安全审查。", ""),
			`<w:r><w:rPr><w:rStyle w:val="a7"/></w:rPr><w:footnoteReference w:id="2"/></w:r>`,
			`<w:hyperlink r:id="rId10" w:history="1">`+wr("(查看更多)", `<w:rStyle w:val="a5"/>`)+`</w:hyperlink>`),
		`<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:rPr><w:noProof/></w:rPr><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="5274310" cy="2966720"/><wp:docPr id="1" name="图片 1" descr="网络安全审查流程"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="1" name="review.png"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="rId11"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr/></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`,
		bookmarked("_Toc7303", wp("2", wr("1. CAC Publishes Draft Revised Cybersecurity Review Measures", ""))),
		wp("", wr("On July 10, 2021, the CAC published the ", ""), wr("Cybersecurity Review Measures (Revised Draft)", "<w:i/>"),
			wr(": operators holding the personal information of over one million users must apply for a review before listing abroad.", ""),
			`<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> HYPERLINK "http://www.cac.gov.cn/2021-07/10/c_1627503724456684.htm" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>`+
				wr(" (More)", `<w:rStyle w:val="a5"/>`)+`<w:r><w:fldChar w:fldCharType="end"/></w:r>`),
		bookmarked("_Toc7304", wp("2", wr("2. 工信部开展App侵害用户权益专项整治", ""))),
		wp("", wr("2021年7月12日，工信部", ""),
			`<w:del w:id="5" w:author="编辑" w:date="2021-07-12T00:00:00Z"><w:r><w:delText>紧急</w:delText></w:r></w:del>`,
			`<w:ins w:id="6" w:author="编辑" w:date="2021-07-12T00:00:00Z">`+wr("启动", "")+`</w:ins>`,
			wr("App侵害用户权益专项整治行动，重点整治违规收集个人信息、强制频繁过度索权等问题。", "")),
		bookmarked("_Toc7305", wp("2", wr("2. MIIT Launches Campaign Against Apps Infringing User Rights", ""))),
		wp("", wr("On July 12, 2021, MIIT launched a campaign against Apps that collect personal information illegally or request permissions too often. ", ""),
			`<w:hyperlink r:id="rId12" w:history="1">`+wr("Read more »", `<w:rStyle w:val="a5"/>`)+`</w:hyperlink>`),
		bookmarked("_Toc7306", wp("1", wr("二、海外动态 Overseas News", ""))),
		bookmarked("_Toc7307", wp("2", wr("3. 欧盟委员会通过对英国的充分性决定", ""))),
		wp("", wr("2021年6月28日，欧盟委员会通过了对英国的两项充分性决定，个人数据可继续自由地从欧盟流向英国。", ""),
			`<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><wp:docPr id="3" name="文本框 3"/></wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent><w:p><w:r><w:t>FALLBACK TEXT</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>`,
			`<w:hyperlink r:id="rId13" w:history="1">`+wr("查看更多>>", `<w:rStyle w:val="a5"/>`)+`</w:hyperlink>`),
		bookmarked("_Toc7308", wp("2", wr("3. European Commission Adopts Adequacy Decisions for the UK", ""))),
		wp("", wr("On June 28, 2021, the European Commission adopted two adequacy decisions for the UK, so personal data can continue to flow freely from the EU to the UK.", "")),
		wp("a9", wr("Key points", "<w:b/>")), // List Paragraph, localised id
		wp("", wr("The decisions include a sunset clause: they expire after four years unless renewed.", "")),
		wp("", wr("免责声明", "<w:b/>")),
		wp("", wr("本文仅供参考，不构成法律意见。如需进一步了解，请联系我们。", "")),
		wp("", wr("This newsletter is for information only and should not be relied on as legal advice.", "")),
		`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>`)
	return b.String()
}

const handmadeStyles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:default="1" w:styleId="a"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 1"/><w:basedOn w:val="a"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="2"><w:name w:val="heading 2"/><w:basedOn w:val="a"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="a3"><w:name w:val="Title"/><w:basedOn w:val="a"/></w:style>
<w:style w:type="paragraph" w:styleId="TOC"><w:name w:val="TOC Heading"/><w:basedOn w:val="1"/></w:style>
<w:style w:type="paragraph" w:styleId="11"><w:name w:val="toc 1"/><w:basedOn w:val="a"/></w:style>
<w:style w:type="paragraph" w:styleId="21"><w:name w:val="toc 2"/><w:basedOn w:val="a"/></w:style>
<w:style w:type="paragraph" w:styleId="a9"><w:name w:val="List Paragraph"/><w:basedOn w:val="a"/></w:style>
<w:style w:type="character" w:styleId="a5"><w:name w:val="Hyperlink"/><w:rPr><w:color w:val="0563C1"/><w:u w:val="single"/></w:rPr></w:style>
<w:style w:type="character" w:styleId="a7"><w:name w:val="footnote reference"/><w:rPr><w:vertAlign w:val="superscript"/></w:rPr></w:style>
</w:styles>`

const handmadeRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/>
<Relationship Id="rId10" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="http://www.cac.gov.cn/2021-07/10/c_1627503724456684.htm?a=1&amp;b=2" TargetMode="External"/>
<Relationship Id="rId11" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.png"/>
<Relationship Id="rId12" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://www.miit.gov.cn/jgsj/xgj/gzdt/art/2021/art_1.html" TargetMode="External"/>
<Relationship Id="rId13" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://ec.europa.eu/commission/presscorner/detail/en/ip_21_3183" TargetMode="External"/>
</Relationships>`

const handmadeFootnotes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>
<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>
<w:footnote w:id="2"><w:p><w:pPr><w:pStyle w:val="a6"/></w:pPr><w:r><w:rPr><w:rStyle w:val="a7"/></w:rPr><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> 修订草案征求意见截止日期为2021年7月25日。</w:t></w:r></w:p></w:footnote>
</w:footnotes>`

const handmadeContentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Default Extension="png" ContentType="image/png"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/>
</Types>`

const handmadeRootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`

// zipParts writes the parts, in order, as a zip archive with fixed times.
func zipParts(t testing.TB, parts [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p[0], Method: zip.Deflate, Modified: time.Date(2021, 7, 13, 9, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func handmadeDocx(t testing.TB) []byte {
	return zipParts(t, [][2]string{
		{"[Content_Types].xml", handmadeContentTypes},
		{"_rels/.rels", handmadeRootRels},
		{"word/document.xml", handmadeDocument()},
		{"word/styles.xml", handmadeStyles},
		{"word/footnotes.xml", handmadeFootnotes},
		{"word/_rels/document.xml.rels", handmadeRels},
		{"word/media/image1.png", string(wordPNG)},
	})
}

// The hand-made Word file (checked in, regenerated with -update) parses
// to the same issue as word-handmade.md.
func TestWordHandmade(t *testing.T) {
	const path = "testdata/word/word-handmade.docx"
	data := handmadeDocx(t)
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, data) {
		t.Fatalf("%s is not what the generator writes: run go test ./newsletter -run TestWordHandmade -update", path)
	}
	w, warns := parseFileT(t, path)
	for _, x := range warns {
		t.Logf("warning: %s", x)
	}
	m, _ := parseFileT(t, "testdata/word/word-handmade.md")
	if ws, ms := issueJSON(t, w, true), issueJSON(t, m, true); ws != ms {
		t.Errorf("the Word file and its Markdown differ:\n%s", lineDiff(ws, ms))
	}
	if got := w.Sections[0].Items[0].BodyZH; len(got) != 2 || got[1] != "![网络安全审查流程](word/media/image1.png)" {
		t.Errorf("picture paragraph: %q", got)
	}
	img, err := WordMedia(onDisk, "word/media/image1.png", 1<<20)
	if err != nil || !bytes.Equal(img, wordPNG) {
		t.Errorf("WordMedia: %v (%d bytes)", err, len(img))
	}
	for _, bad := range []string{"../word/document.xml", "word/document.xml", "word/media/none.png", "/etc/passwd"} {
		if _, err := WordMedia(onDisk, bad, 1<<20); err == nil {
			t.Errorf("WordMedia(%q) gave no error", bad)
		}
	}
}

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "line %d:\n  got  %s\n  want %s\n", i+1, x, y)
		}
	}
	return out.String()
}
