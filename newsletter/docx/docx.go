// Package docx reads a Word document (.docx, WordprocessingML) into the
// lines the newsletter's Markdown reader takes: one line per paragraph,
// headings as "# …", bold and italic runs as **…** and *…*, hyperlinks as
// [label](target) with their relationship targets, pictures as
// ![alt](word/media/imageN.png) references into the document (Media reads
// them back), a Word table of contents (the TOC field, the "toc N" styles)
// as its entries' titles without page numbers, footnotes as [^N] with
// "[^N]: text" lines at the end. The newsletter parser then decides the
// issue's structure, the same way for Word files and Markdown exports.
//
// Only the documented parts are read (word/document.xml, word/styles.xml,
// word/_rels/document.xml.rels, word/footnotes.xml), with archive/zip and
// encoding/xml. Every read is bounded (see Limits): a zip bomb, a huge
// part or an archive of thousands of entries is refused with a clear error
// in bounded memory and time, and no input panics.
package docx

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
)

// Limits bound what Read accepts. The zero value means the defaults.
type Limits struct {
	Document int64 // word/document.xml, uncompressed (16 MB)
	Part     int64 // any other XML part read (4 MB)
	Total    int64 // all parts read together, media included (64 MB)
	Entries  int   // entries in the archive (4096)
	Paras    int   // paragraphs (200,000)
	Text     int   // bytes of text produced (4 MB, newsletter.MaxFileSize)
}

func (l Limits) withDefaults() Limits {
	if l.Document <= 0 {
		l.Document = 16 << 20
	}
	if l.Part <= 0 {
		l.Part = 4 << 20
	}
	if l.Total <= 0 {
		l.Total = 64 << 20
	}
	if l.Entries <= 0 {
		l.Entries = 4096
	}
	if l.Paras <= 0 {
		l.Paras = 200_000
	}
	if l.Text <= 0 {
		l.Text = 4 << 20
	}
	return l
}

// MaxFileSize is the largest .docx file taken (pictures included).
const MaxFileSize = 32 << 20

// Error is a problem reading the document. Para is the 1-based paragraph
// it is in (counting every paragraph of the body, in order), or 0 for the
// file as a whole.
type Error struct {
	Para int
	Msg  string
}

func (e *Error) Error() string {
	if e.Para > 0 {
		return fmt.Sprintf("paragraph %d: %s", e.Para, e.Msg)
	}
	return e.Msg
}

func fail(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Line is one line of the converted document.
type Line struct {
	Text string
	// Para is the paragraph the line comes from (1-based, every paragraph
	// of the body counted, empty ones and those in tables too); for a
	// footnote line, the paragraph of its first reference.
	Para int
	// Note is the footnote's number for a "[^N]: …" line, else 0.
	Note int
}

// Document is a converted Word document.
type Document struct {
	Lines []Line
	// Images are the embedded pictures referred to, by the src the lines
	// use ("word/media/image1.png"), in order of first use.
	Images []string
}

// Sniffing: a .docx is a zip archive; a Word 97-2003 .doc is an OLE
// compound file.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// IsZip reports data that starts like a zip archive (a .docx).
func IsZip(data []byte) bool { return bytes.HasPrefix(data, zipMagic) }

// IsOLE reports a Word 97-2003 .doc (or another OLE compound file).
func IsOLE(data []byte) bool { return bytes.HasPrefix(data, oleMagic) }

// ErrDoc is the error for a Word 97-2003 .doc.
var ErrDoc = errors.New("this is a Word 97-2003 .doc file, not a .docx; open it in Word and save it as Word Document (.docx)")

// archive is an opened .docx with a budget for what is read from it.
type archive struct {
	zr     *zip.Reader
	files  map[string]*zip.File
	lim    Limits
	budget int64
}

func open(data []byte, lim Limits) (*archive, error) {
	lim = lim.withDefaults()
	if IsOLE(data) {
		return nil, ErrDoc
	}
	if len(data) > MaxFileSize {
		return nil, fail("the file is %.1f MB; a Word issue is at most %d MB (pictures included) — is this the right file?", float64(len(data))/(1<<20), MaxFileSize>>20)
	}
	if !IsZip(data) {
		return nil, fail("this is not a Word document (.docx): a .docx is a zip archive and this file is not one")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fail("this Word document is damaged (it cannot be read as a zip archive: %v); open it in Word and save it again", cleanZipErr(err))
	}
	if len(zr.File) > lim.Entries {
		return nil, fail("the document holds %d parts, more than the %d a Word file has; it is not a newsletter issue", len(zr.File), lim.Entries)
	}
	a := &archive{zr: zr, files: make(map[string]*zip.File, len(zr.File)), lim: lim, budget: lim.Total}
	for _, f := range zr.File {
		name := strings.TrimPrefix(f.Name, "/")
		if _, dup := a.files[name]; !dup {
			a.files[name] = f
		}
	}
	return a, nil
}

func cleanZipErr(err error) string {
	return strings.TrimPrefix(err.Error(), "zip: ")
}

// read reads one part, at most limit bytes uncompressed (and within the
// total budget). missing is false when the part is not there.
func (a *archive) read(name string, limit int64) (data []byte, found bool, err error) {
	f := a.files[name]
	if f == nil {
		return nil, false, nil
	}
	limit = min(limit, a.budget)
	if f.UncompressedSize64 > uint64(limit) {
		return nil, true, a.tooLarge(name, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, true, fail("the part %s of the document cannot be read (%v); open it in Word and save it again", name, cleanZipErr(err))
	}
	defer rc.Close()
	// The size in the header may lie: read through a limit.
	data, err = io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, true, fail("the part %s of the document is damaged (%v); open it in Word and save it again", name, cleanZipErr(err))
	}
	if int64(len(data)) > limit {
		return nil, true, a.tooLarge(name, limit)
	}
	a.budget -= int64(len(data))
	return data, true, nil
}

func (a *archive) tooLarge(name string, limit int64) error {
	if limit < a.lim.Document && limit == a.budget {
		return fail("the document's parts unpack to more than %d MB, far more than a newsletter issue (a zip bomb?)", a.lim.Total>>20)
	}
	if strings.HasPrefix(name, "word/media/") {
		return fail("the picture %s is larger than %d MB; make it smaller in Word (Picture Format → Compress Pictures)", name, max(limit>>20, 1))
	}
	return fail("the part %s unpacks to more than %d MB, far more than a newsletter issue holds", name, max(limit>>20, 1))
}

// Read converts a .docx into lines. Its errors are *Error or ErrDoc.
func Read(data []byte, lim Limits) (*Document, error) {
	a, err := open(data, lim)
	if err != nil {
		return nil, err
	}
	docPath := "word/document.xml"
	if ct, ok, err := a.read("[Content_Types].xml", a.lim.Part); err != nil {
		return nil, err
	} else if !ok {
		return nil, fail("this zip archive is not a Word document: it has no [Content_Types].xml (is it a .docx?)")
	} else if p := mainPart(ct); p != "" {
		docPath = p
	}
	doc, ok, err := a.read(docPath, a.lim.Document)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail("this zip archive is not a Word document: it has no %s (an .xlsx or .pptx, or a damaged file?)", docPath)
	}
	dir := path.Dir(docPath)
	relsPath := dir + "/_rels/" + path.Base(docPath) + ".rels"
	rels := map[string]rel{}
	if b, ok, err := a.read(relsPath, a.lim.Part); err != nil {
		return nil, err
	} else if ok {
		if rels, err = parseRels(b, dir); err != nil {
			return nil, fail("the part %s is damaged: %v", relsPath, err)
		}
	}
	styles := map[string]style{}
	if p := relTarget(rels, "/styles", dir+"/styles.xml"); p != "" {
		if b, ok, err := a.read(p, a.lim.Part); err != nil {
			return nil, err
		} else if ok {
			if styles, err = parseStyles(b); err != nil {
				return nil, fail("the part %s is damaged: %v", p, err)
			}
		}
	}
	var notes map[string][]*para
	if p := relTarget(rels, "/footnotes", ""); p != "" {
		if b, ok, err := a.read(p, a.lim.Part); err != nil {
			return nil, err
		} else if ok {
			if notes, err = parseNotes(b, rels, styles, a.lim); err != nil {
				return nil, err
			}
		}
	}
	c := newConverter(rels, styles, a.lim)
	if err := c.document(doc); err != nil {
		return nil, err
	}
	return c.finish(notes)
}

// Media returns the bytes of a picture a converted document refers to
// ("word/media/image1.png"), at most limit bytes.
func Media(data []byte, src string, limit int64) ([]byte, error) {
	a, err := open(data, Limits{})
	if err != nil {
		return nil, err
	}
	if u, err := url.PathUnescape(src); err == nil {
		src = u // the lines write "image 1.png" as "image%201.png"
	}
	name := strings.TrimPrefix(path.Clean("/"+src), "/")
	if !strings.HasPrefix(name, "word/") || strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".rels") {
		return nil, fail("%s is not a picture of the document", src)
	}
	b, ok, err := a.read(name, limit)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail("the document has no picture %s", src)
	}
	return b, nil
}
