package render

import (
	"bytes"
	"fmt"
	"html/template"
	"unicode/utf8"

	"github.com/lifang/wxbot/newsletter"
)

// PreviewCSP is the Content-Security-Policy of the preview pages: no
// script, no fetch, no form; the page's own <style> and inline styles;
// images over https (WeChat's mmbiz URLs once uploaded) or inline — not
// plain http, which anyone on the way can read or change, and which a
// not-yet-uploaded reference could point at a machine on the editor's
// network. The admin pages serve the preview under the same policy.
const PreviewCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; form-action 'none'"

type previewData struct {
	CSP      string
	Title    string
	Summary  string
	Month    string
	Articles []previewArticle
}

type previewArticle struct {
	A       Article
	Label   string
	Chars   int
	KB      string
	Content template.HTML
}

// PreviewPage renders index.html: every article of the draft at phone
// width (375 px) as a subscriber sees it — title, author, digest, content —
// in one self-contained page (no external assets besides the articles' own
// images). issue may be nil; it only names the page.
func PreviewPage(issue *newsletter.Issue, d *Draft) ([]byte, error) {
	if d == nil {
		return nil, fmt.Errorf("render: preview: no draft")
	}
	data := previewData{Title: "Preview"}
	if issue != nil {
		data.Title = fmt.Sprintf("%s No.%d — preview", seriesName(issue), issue.Number)
		data.Month = monthDots(issue.Month)
		items := 0
		for _, s := range issue.Sections {
			items += len(s.Items)
		}
		data.Summary = fmt.Sprintf("No.%d · newsletter No.%d · %s · %d sections, %d items · %d %s",
			issue.Number, issue.NewsletterNumber, monthDots(issue.Month), len(issue.Sections), items, len(d.Articles), plural(len(d.Articles), "article", "articles"))
	}
	for i, a := range d.Articles {
		data.Articles = append(data.Articles, previewOf(a, fmt.Sprintf("Article %d of %d", i+1, len(d.Articles))))
	}
	return execPreview(data)
}

// ArticlePage renders one article alone at phone width.
func ArticlePage(a Article) ([]byte, error) {
	return execPreview(previewData{Title: a.Title, Articles: []previewArticle{previewOf(a, "Article")}})
}

func previewOf(a Article, label string) previewArticle {
	return previewArticle{
		A:     a,
		Label: label,
		Chars: utf8.RuneCountInString(a.Content),
		KB:    fmt.Sprintf("%.1f", float64(len(a.Content))/1024),
		// The content is this package's own output, already escaped and
		// WeChat-safe; it is shown as the subscriber would see it.
		Content: template.HTML(a.Content),
	}
}

func execPreview(data previewData) ([]byte, error) {
	data.CSP = PreviewCSP
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "preview", data); err != nil {
		return nil, fmt.Errorf("render: preview template: %w", err)
	}
	return b.Bytes(), nil
}
