package main

import (
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/newsletter"
	"github.com/lifang/wxbot/newsletter/docx"
	"github.com/lifang/wxbot/render"
)

func newRenderCmd() *cobra.Command {
	var (
		asJSON bool
		outDir string
	)
	cmd := &cobra.Command{
		Use:   "render FILE",
		Short: "Render a newsletter issue as WeChat articles",
		Long: `render parses an issue (Markdown, or a Word .docx) and renders it as the
articles of a WeChat draft:
inline styles only, links as numbered footnotes, titles and digests within
WeChat's limits. An issue too long for one article is split by section (at
most 8 articles); nothing is cut or dropped.

The human form lists the articles with their titles and sizes; --json prints
the exact body of WeChat's draft/add; -o DIR writes index.html (a
phone-width preview of every article) and article-N.html per article.
Notes (a split, images not yet uploaded) and warnings go to stderr.

Layouts (render.layout): single — one article, split by section only when
too long; sections — one article per section, the first also carrying the
masthead and table of contents. The look comes from render.theme.*.`,
		Example: `  wxbot render examples/newsletter-no54.md
  wxbot render --json issue.md > draft.json
  wxbot render -o preview --layout sections issue.md && open preview/index.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, map[string]string{"render.layout": "layout"})
			if err != nil {
				return err
			}
			issue, warns, err := parseFile(args[0])
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			printWarnings(stderr, warns)
			draft, notes, err := render.Render(issue, render.OptionsFrom(cfg.Render))
			if err != nil {
				return &exitError{code: 1, msg: fmt.Sprintf("%s: %v", args[0], err)}
			}
			for _, n := range notes {
				fmt.Fprintf(stderr, "%s: note: %s\n", args[0], n)
			}
			if outDir != "" {
				if err := writePreview(outDir, issue, draft); err != nil {
					return err
				}
				for _, w := range copyPreviewImages(outDir, args[0], draft) {
					fmt.Fprintf(stderr, "%s: note: preview: %s\n", args[0], w)
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), draft)
			}
			printDraft(cmd.OutOrStdout(), args[0], cfg.Render.Layout, draft, outDir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the draft/add request body as JSON")
	cmd.Flags().StringVarP(&outDir, "out", "o", "", "write index.html and one HTML file per article into this folder")
	cmd.Flags().String("layout", "", "single or sections (key render.layout)")
	return cmd
}

// writePreview writes the preview page and each article's page into dir.
func writePreview(dir string, issue *newsletter.Issue, d *render.Draft) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("render: preview folder: %w", err)
	}
	page, err := render.PreviewPage(issue, d)
	if err != nil {
		return err
	}
	files := map[string][]byte{"index.html": page}
	for i, a := range d.Articles {
		p, err := render.ArticlePage(a)
		if err != nil {
			return err
		}
		files[fmt.Sprintf("article-%d.html", i+1)] = p
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("render: write preview: %w", err)
		}
	}
	return nil
}

func printDraft(w io.Writer, path, layout string, d *render.Draft, outDir string) {
	fmt.Fprintf(w, "%s: %d %s (layout %s)\n", path, len(d.Articles), plural(len(d.Articles), "article", "articles"), layout)
	for i, a := range d.Articles {
		fmt.Fprintf(w, "  %d. %s\n     %d characters, %.1f KB · digest %d/%d · title %d/%d\n", i+1, a.Title,
			utf8.RuneCountInString(a.Content), float64(len(a.Content))/1024,
			utf8.RuneCountInString(a.Digest), render.MaxDigest, utf8.RuneCountInString(a.Title), render.MaxTitle)
	}
	if outDir != "" {
		fmt.Fprintf(w, "preview: %s\n", filepath.Join(outDir, "index.html"))
	}
}

// previewSrc finds the images an article's HTML shows.
var previewSrc = regexp.MustCompile(`<img[^>]*\ssrc="([^"]+)"`)

// maxPreviewImage bounds each picture copied beside the preview.
const maxPreviewImage = 10 << 20

// copyPreviewImages puts the issue's local pictures (not uploaded yet: a
// path beside the Markdown file, or a picture inside the Word file) where
// the preview's relative links find them, so the preview shows them as
// the articles will. Remote images stay links. It returns what it could not
// copy, for notes; nothing here fails the render.
func copyPreviewImages(outDir, issuePath string, d *render.Draft) []string {
	seen := map[string]bool{}
	var srcs []string
	for _, a := range d.Articles {
		for _, m := range previewSrc.FindAllStringSubmatch(a.Content, -1) {
			src := html.UnescapeString(m[1])
			if seen[src] || strings.Contains(src, ":") || !filepath.IsLocal(filepath.FromSlash(src)) {
				continue // remote, data: or outside the issue's folder
			}
			seen[src] = true
			srcs = append(srcs, src)
		}
	}
	if len(srcs) == 0 {
		return nil
	}
	var word []byte
	if data, err := readIssueFile(issuePath); err == nil && docx.IsZip(data) {
		word = data
	}
	var problems []string
	for _, src := range srcs {
		var (
			b   []byte
			err error
		)
		if word != nil {
			b, err = docx.Media(word, src, maxPreviewImage)
		} else {
			b, err = readPreviewImage(filepath.Join(filepath.Dir(issuePath), filepath.FromSlash(src)))
		}
		if err == nil {
			dst := filepath.Join(outDir, filepath.FromSlash(src))
			if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
				err = os.WriteFile(dst, b, 0o644)
			}
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s not shown: %v", src, err))
		}
	}
	return problems
}

// readPreviewImage reads a regular file of at most maxPreviewImage bytes.
func readPreviewImage(path string) ([]byte, error) {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, err
	case !st.Mode().IsRegular():
		return nil, errors.New("not a regular file")
	case st.Size() > maxPreviewImage:
		return nil, fmt.Errorf("larger than %d MB", maxPreviewImage>>20)
	}
	return os.ReadFile(path)
}
