package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
)

// The documentation's commands are checked against the program: every
// `wxbot …` in README.md and docs/*.md — command lines in code blocks and
// inline code spans such as the commands table — must name a real command
// and only flags that command has. The ones that need neither Redis nor
// WeChat (parse, render, version, --help) are run, against the example
// files they name, and must succeed.

// docFiles are README.md and docs/*.md, relative to the repository root.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join("..", "..", "README.md")}, files...)
	if len(files) < 8 {
		t.Fatalf("found only %d documentation files: %v", len(files), files)
	}
	return files
}

// docCommand is one `wxbot …` found in a document.
type docCommand struct {
	where string   // FILE:LINE
	args  []string // after "wxbot"
	block bool     // from a code block (a command line), not an inline span
}

var fenceRE = regexp.MustCompile("^\\s*```")

// extractCommands finds the wxbot invocations of one Markdown document.
func extractCommands(name, text string) []docCommand {
	var out []docCommand
	lines := strings.Split(text, "\n")
	var prose strings.Builder // the text outside code blocks, lines kept
	inBlock := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if fenceRE.MatchString(line) {
			inBlock = !inBlock
			prose.WriteString("\n")
			continue
		}
		if !inBlock {
			prose.WriteString(line + "\n")
			continue
		}
		prose.WriteString("\n")
		start := i
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) && !fenceRE.MatchString(lines[i+1]) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + lines[i]
			prose.WriteString("\n")
		}
		for _, seg := range shellSegments(line) {
			if args, ok := wxbotArgs(seg); ok {
				out = append(out, docCommand{where: name + ":" + strconv.Itoa(start+1), args: args, block: true})
			}
		}
	}
	// Inline spans, across line breaks within a paragraph.
	p := prose.String()
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatchIndex(p, -1) {
		span := strings.Join(strings.Fields(p[m[2]:m[3]]), " ")
		if !strings.HasPrefix(span, "wxbot ") {
			continue
		}
		line := strings.Count(p[:m[0]], "\n") + 1
		out = append(out, docCommand{where: name + ":" + strconv.Itoa(line), args: spanArgs(strings.TrimPrefix(span, "wxbot "))})
	}
	return out
}

// shellSegments tokenises a shell line the way the documents write them
// (quotes, $(…), comments, redirections) and splits it into simple
// commands at &&, ||, ;, | and &.
func shellSegments(line string) [][]string {
	var segs [][]string
	var cur []string
	var tok strings.Builder
	inTok := false
	flush := func() {
		if inTok {
			cur = append(cur, tok.String())
			tok.Reset()
			inTok = false
		}
	}
	end := func() {
		flush()
		if len(cur) > 0 {
			segs = append(segs, cur)
		}
		cur = nil
	}
	r := []rune(line)
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(r) && r[j] != c {
				j++
			}
			tok.WriteString(string(r[i+1 : min(j, len(r))]))
			inTok = true
			i = j
		case c == '$' && i+1 < len(r) && r[i+1] == '(':
			depth, j := 0, i+1
			for ; j < len(r); j++ {
				if r[j] == '(' {
					depth++
				} else if r[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			tok.WriteString("SUBST")
			inTok = true
			i = j
		case c == '#' && !inTok:
			end()
			return segs
		case c == ' ' || c == '\t':
			flush()
		case c == '&' || c == '|' || c == ';':
			end()
		case c == '>' || c == '<':
			// a redirection: drop it and its target ("2>&1" too)
			flush()
			if len(cur) > 0 && cur[len(cur)-1] == "2" {
				cur = cur[:len(cur)-1]
			}
			j := i + 1
			for j < len(r) && (r[j] == '>' || r[j] == '&') {
				j++
			}
			for j < len(r) && r[j] == ' ' {
				j++
			}
			for j < len(r) && r[j] != ' ' {
				j++
			}
			i = j
		default:
			tok.WriteRune(c)
			inTok = true
		}
	}
	end()
	return segs
}

var envAssign = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// wxbotArgs reports whether a simple command runs wxbot (wxbot, a path
// ending in /wxbot, or go run ./cmd/wxbot) and returns its arguments.
func wxbotArgs(seg []string) ([]string, bool) {
	for len(seg) > 0 && envAssign.MatchString(seg[0]) {
		seg = seg[1:]
	}
	switch {
	case len(seg) >= 3 && seg[0] == "go" && seg[1] == "run" && seg[2] == "./cmd/wxbot":
		return seg[3:], true
	case len(seg) >= 1 && (seg[0] == "wxbot" || strings.HasSuffix(seg[0], "/wxbot")):
		return seg[1:], true
	}
	return nil, false
}

// spanArgs reads a synopsis such as "render FILE [--json] [-o DIR]
// [--layout single\|sections]": the words and the flags, placeholders kept.
func spanArgs(s string) []string {
	var args []string
	for _, f := range strings.Fields(s) {
		f = strings.Trim(f, "[](){}\\|,…")
		for _, part := range strings.Split(f, "\\|") {
			part = strings.Trim(part, "[](){}\\|,")
			if part != "" {
				args = append(args, part)
			}
		}
	}
	return args
}

// resolve finds the command the leading words name and checks each flag.
func resolve(root *cobra.Command, args []string) (*cobra.Command, []string) {
	c := root
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			break
		}
		var next *cobra.Command
		for _, sub := range c.Commands() {
			if sub.Name() == a || sub.HasAlias(a) {
				next = sub
			}
		}
		if next == nil {
			break
		}
		c = next
	}
	var problems []string
	c.InitDefaultHelpFlag()
	for _, a := range args[i:] {
		switch {
		case a == "--" || a == "-":
		case strings.HasPrefix(a, "--"):
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if c.Flag(name) == nil {
				problems = append(problems, "flag --"+name+" does not exist")
			}
		case strings.HasPrefix(a, "-") && len(a) >= 2 && unicode.IsLetter(rune(a[1])):
			for _, sh := range a[1:] {
				if c.Flags().ShorthandLookup(string(sh)) == nil && c.InheritedFlags().ShorthandLookup(string(sh)) == nil {
					problems = append(problems, "flag -"+string(sh)+" does not exist")
				}
			}
		}
	}
	return c, problems
}

func TestDocsCommandsExist(t *testing.T) {
	var all []docCommand
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, extractCommands(filepath.Base(f), string(data))...)
	}
	t.Logf("%d wxbot commands in the docs", len(all))
	if len(all) < 60 {
		t.Fatalf("found only %d wxbot commands in the docs: the extraction is broken", len(all))
	}
	seen := map[string]bool{}
	for _, dc := range all {
		root := newRootCmd()
		c, problems := resolve(root, dc.args)
		if dc.block && c.HasSubCommands() && !c.Runnable() {
			problems = append(problems, "names a command group without one of its commands")
		}
		if c == root && !(len(dc.args) > 0 && strings.HasPrefix(dc.args[0], "-")) {
			problems = append(problems, "names no command")
		}
		for _, p := range problems {
			t.Errorf("%s: wxbot %s: %s", dc.where, strings.Join(dc.args, " "), p)
		}
		seen[c.CommandPath()] = true
	}
	// Every command is documented somewhere.
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden && c.Name() != "help" && c.Name() != "completion" && !seen[c.CommandPath()] {
			t.Errorf("%s is not in the docs", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}

// TestDocsCommandsRun runs the documented command lines that need no Redis
// and no WeChat.
func TestDocsCommandsRun(t *testing.T) {
	var runnable []docCommand
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, dc := range extractCommands(filepath.Base(f), string(data)) {
			if !dc.block || len(dc.args) == 0 {
				continue
			}
			help := false
			for _, a := range dc.args {
				help = help || a == "--help" || a == "-h"
			}
			if help || dc.args[0] == "parse" || dc.args[0] == "render" || dc.args[0] == "version" {
				runnable = append(runnable, dc)
			}
		}
	}
	if len(runnable) < 6 {
		t.Fatalf("only %d runnable commands found in the docs", len(runnable))
	}
	t.Logf("%d runnable commands in the docs", len(runnable))
	t.Chdir(filepath.Join("..", ".."))
	for _, dc := range runnable {
		t.Logf("%s: wxbot %s", dc.where, strings.Join(dc.args, " "))
		args := append([]string(nil), dc.args...)
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-o" || args[i] == "--out" {
				args[i+1] = t.TempDir() // the preview folder, not in the work tree
			}
		}
		root := newRootCmd()
		var stdout, stderr bytes.Buffer
		root.SetOut(&stdout)
		root.SetErr(&stderr)
		root.SetArgs(args)
		if code := execute(t.Context(), root, &stderr); code != 0 {
			t.Errorf("%s: wxbot %s: exit %d\n%s", dc.where, strings.Join(args, " "), code, stderr.String())
			continue
		}
		if stdout.Len() == 0 {
			t.Errorf("%s: wxbot %s printed nothing", dc.where, strings.Join(args, " "))
		}
	}
}

// TestDocsLinks checks that the documents' relative links lead to files in
// the repository and their #anchors to headings there.
func TestDocsLinks(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// Documents other branches add; a link to them may come first.
	pending := map[string]bool{}
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(f)
		var text strings.Builder // without code blocks and spans
		inBlock := false
		for _, line := range strings.Split(string(data), "\n") {
			if fenceRE.MatchString(line) {
				inBlock = !inBlock
				continue
			}
			if !inBlock {
				text.WriteString(regexp.MustCompile("`[^`]*`").ReplaceAllString(line, "") + "\n")
			}
		}
		for _, m := range linkRE.FindAllStringSubmatch(text.String(), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := abs
			if path != "" {
				dest = filepath.Join(filepath.Dir(abs), path)
			}
			rel, err := filepath.Rel(repo, dest)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue // outside the repository (the shared project notes)
			}
			if _, err := os.Stat(dest); err != nil {
				if !pending[filepath.ToSlash(rel)] {
					t.Errorf("%s: link %s: %s does not exist", filepath.Base(f), target, rel)
				}
				continue
			}
			if frag != "" && strings.HasSuffix(dest, ".md") {
				body, _ := os.ReadFile(dest)
				if !hasAnchor(string(body), frag) {
					t.Errorf("%s: link %s: no heading #%s in %s", filepath.Base(f), target, frag, rel)
				}
			}
		}
	}
}

// hasAnchor reports whether a Markdown document has a heading whose
// GitHub anchor is frag.
func hasAnchor(doc, frag string) bool {
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		if b.String() == frag {
			return true
		}
	}
	return false
}

func TestExtractCommands(t *testing.T) {
	doc := "Run `wxbot status [NUMBER] [--json]` or\n`wxbot render FILE [-o DIR] [--layout single\\|sections]`, not `wxbot/dev-token`.\n\n" +
		"```sh\n" +
		"docker build -t wxbot --build-arg VERSION=1.0.0 .\n" +
		"docker run --rm -p 8080:8080 -e WXBOT_WECHAT_TOKEN=t wxbot   # embedded store\n" +
		"go build -o /tmp/wxbot ./cmd/wxbot && /tmp/wxbot bench --duration 5s --rounds 3\n" +
		"WXBOT_WECHAT_TOKEN=x go run ./cmd/wxbot chat --url http://127.0.0.1:8080/wechat 最新\n" +
		"go run ./cmd/wxbot parse --json a.md > issue.json   # the issue\n" +
		"go run ./cmd/wxbot publish a.md --at \"$(date -d '+1 min' '+%Y-%m-%d %H:%M')\" \\\n" +
		"  --to-all\n" +
		"# wxbot serve in a comment\n" +
		"```\n"
	var got []string
	for _, dc := range extractCommands("d.md", doc) {
		got = append(got, dc.where+" "+strings.Join(dc.args, " "))
	}
	want := []string{
		"d.md:7 bench --duration 5s --rounds 3",
		"d.md:8 chat --url http://127.0.0.1:8080/wechat 最新",
		"d.md:9 parse --json a.md",
		"d.md:10 publish a.md --at $(date -d '+1 min' '+%Y-%m-%d %H:%M') --to-all", // quoted: one word
		"d.md:1 status NUMBER --json",
		"d.md:2 render FILE -o DIR --layout single sections",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("extracted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	root := newRootCmd()
	for _, tc := range []struct {
		args []string
		bad  bool
	}{
		{[]string{"publish", "a.md", "--now", "--to-tag", "x"}, false},
		{[]string{"render", "-o", "d", "--log-level", "debug"}, false},
		{[]string{"qrcode", "create", "s", "--permanent"}, false},
		{[]string{"publish", "--bogus"}, true},
		{[]string{"render", "-z"}, true},
	} {
		_, problems := resolve(root, tc.args)
		if (len(problems) > 0) != tc.bad {
			t.Errorf("resolve %v: problems %v", tc.args, problems)
		}
	}
	if !hasAnchor("## Editor's pages (/admin)\n", "editors-pages-admin") || !hasAnchor("### Exactly once, and its limits", "exactly-once-and-its-limits") || hasAnchor("## Approval", "approve") {
		t.Error("hasAnchor")
	}
}
