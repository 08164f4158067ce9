package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/newsletter"
)

func newParseCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "parse FILE",
		Short: "Parse a newsletter issue and report its sections, items and problems",
		Long: `parse reads one issue — in the editors' Markdown export format, or the
Word document itself (.docx, see docs/word.md) — and prints
its issue number, month and sections with their item counts; warnings go to
stderr. With --json it prints the issue as JSON instead.

A file that cannot be parsed gets one line per problem on stderr, in the
form FILE:LINE: message (FILE.docx: paragraph N: message for a Word file),
nothing on stdout, and exit status 1.`,
		Example: `  wxbot parse examples/newsletter-no54.md
  wxbot parse --json issue.md > issue.json
  wxbot parse --json issue.docx`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			issue, warns, err := parseFile(args[0])
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), warns)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), issue)
			}
			printIssue(cmd.OutOrStdout(), args[0], issue)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the parsed issue as JSON")
	return cmd
}

// parseFile reads and parses an issue file. Its errors are *exitError
// (status 1) carrying FILE:LINE: lines, ready for stderr.
func parseFile(path string) (*newsletter.Issue, []newsletter.Warning, error) {
	data, err := readIssueFile(path)
	if err != nil {
		return nil, nil, &exitError{code: 1, msg: fmt.Sprintf("%s:1: %s", path, err)}
	}
	issue, warns, err := newsletter.Parse(path, data)
	if err != nil {
		return nil, nil, &exitError{code: 1, msg: err.Error()}
	}
	return issue, warns, nil
}

// readIssueFile reads at most newsletter.MaxFileSize+1 bytes (a Word file
// newsletter.MaxWordFileSize+1), so a wrong multi-gigabyte file is refused
// by the parser without filling memory. newsletter.Parse reads Markdown or
// Word (.docx) alike, telling them apart by name and content.
func readIssueFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("no such file")
		}
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, errors.New("this is a folder, not an issue file")
	}
	limit := int64(newsletter.MaxFileSize)
	if isWordName(path) {
		limit = newsletter.MaxWordFileSize // pictures included
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	return data, nil
}

// isWordName reports a file named as a Word document.
func isWordName(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".docx" || ext == ".docm" || ext == ".doc"
}

func printWarnings(w io.Writer, warns []newsletter.Warning) {
	for _, x := range warns {
		fmt.Fprintln(w, x.String())
	}
}

// writeJSON prints v as one JSON object on one line. HTML characters stay
// as they are: the output is data, not a web page.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

func printIssue(w io.Writer, path string, is *newsletter.Issue) {
	items := 0
	for _, s := range is.Sections {
		items += len(s.Items)
	}
	fmt.Fprintf(w, "%s: %s No.%d (newsletter No.%d), %s\n", path, is.TitleZH, is.Number, is.NewsletterNumber, is.Month)
	if is.TitleEN != "" {
		fmt.Fprintf(w, "  %s\n", is.TitleEN)
	}
	for i, s := range is.Sections {
		fmt.Fprintf(w, "  %d. %s %s: %d %s\n", i+1, s.TitleZH, s.TitleEN, len(s.Items), plural(len(s.Items), "item", "items"))
	}
	fmt.Fprintf(w, "%d %s in %d %s\n", items, plural(items, "item", "items"), len(is.Sections), plural(len(is.Sections), "section", "sections"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
