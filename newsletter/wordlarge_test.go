package newsletter

import (
	"strings"
	"testing"
	"time"
)

// A Word file at the limits is read and refused (or parsed) in bounded
// time: 150,000 paragraphs, 3.6 MB of text in a 10 MB document.xml.
func TestWordLargeBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	var b strings.Builder
	b.WriteString(`<w:document xmlns:w="w"><w:body>`)
	for i := range 150_000 {
		b.WriteString(`<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>段落文字 text [` + string(rune('a'+i%26)) + `]</w:t></w:r></w:p>`)
	}
	b.WriteString(`</w:body></w:document>`)
	data := zipParts(t, [][2]string{{"[Content_Types].xml", handmadeContentTypes}, {"word/document.xml", b.String()}})
	start := time.Now()
	_, _, err := Parse("big.docx", data)
	took := time.Since(start)
	t.Logf("%d KB docx, %d KB document.xml: %v in %s", len(data)>>10, b.Len()>>10, err != nil, took)
	if err == nil {
		t.Error("no error for a document without a masthead")
	}
	limit := 10 * time.Second
	if raceEnabled {
		limit *= 10
	}
	if took > limit { // 0.6 s here
		t.Errorf("took %s", took)
	}
}
