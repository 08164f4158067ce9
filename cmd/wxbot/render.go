package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/newsletter"
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
