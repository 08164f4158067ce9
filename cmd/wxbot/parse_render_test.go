package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lifang/wxbot/render"
)

const (
	example54 = "../../examples/newsletter-no54.md"
	example55 = "../../examples/newsletter-no55.md"
	sample53  = "../../../shared/samples/newsletter-no53.md"
)

// writeIssue writes content to a temporary issue file and returns its path.
func writeIssue(t *testing.T, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseCommand(t *testing.T) {
	stdout, stderr, code := runWxbot(t, "parse", example54)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"No.54 (newsletter No.234), 2021-05", "1. 国内要闻 Domestic News: 3 items", "3. 执法动态 Enforcement Actions: 2 items", "7 items in 3 sections"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

func TestParseCommandJSON(t *testing.T) {
	stdout, stderr, code := runWxbot(t, "parse", "--json", example55)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.HasSuffix(stdout, "}\n") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("want one JSON object on one line, got %d lines", strings.Count(stdout, "\n"))
	}
	prefix := `{"number":55,"newsletter_number":235,"month":"2021-05","title_zh":"立方网络安全与数据合规周报","title_en":"Weekly Cybersecurity and Data Protection Review","sections":[{"title_zh":"立法与监管","title_en":"Legislation & Regulation","items":[{"title_zh":"全国人大常委会就数据安全法草案二审稿公开征求意见","title_en":"NPC Standing Committee Seeks Public Comments on the Second Draft of the Data Security Law","body_zh":["2021年4月29日，`
	if !strings.HasPrefix(stdout, prefix) {
		t.Errorf("JSON does not start as specified:\n got %.400s\nwant %s", stdout, prefix)
	}
	for _, want := range []string{`"link_en":"https://en.wikipedia.org/wiki/Conti_(ransomware)","date":"2021-05-14"}`, `&qid=`, `<48小时`, `"disclaimer_zh":"立方律师事务所编写`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("JSON lacks %q", want)
		}
	}
	if strings.Contains(stdout, `\u0026`) || strings.Contains(stdout, `\u003c`) {
		t.Errorf("& and < must stay literal in the JSON")
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Errorf("not JSON: %v", err)
	}
}

func TestParseCommandSample(t *testing.T) {
	if _, err := os.Stat(sample53); err != nil {
		t.Skip("shared sample not present")
	}
	stdout, _, code := runWxbot(t, "parse", "--json", sample53)
	var is struct {
		Number, NewsletterNumber int
		Month                    string
		Sections                 []struct{ Items []json.RawMessage }
	}
	if err := json.Unmarshal([]byte(stdout), &is); code != 0 || err != nil {
		t.Fatalf("exit %d, %v", code, err)
	}
	if !strings.HasPrefix(stdout, `{"number":53,"newsletter_number":233,"month":"2021-04",`) || len(is.Sections) != 2 || len(is.Sections[0].Items) != 6 || len(is.Sections[1].Items) != 3 {
		t.Errorf("sample: %.100s…, %d sections", stdout, len(is.Sections))
	}
}

// located is a stderr line in the FILE:LINE: message form.
var located = regexp.MustCompile(`^(.+):(\d+): \S`)

func TestParseAndRenderCommandErrors(t *testing.T) {
	good, err := os.ReadFile(example54)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content []byte
		want    string // in stderr after FILE:
	}{
		{"empty", nil, ":1: the file is empty"},
		{"not UTF-8", append([]byte("No.1\n\n"), 0xb9, 0xfa, '\n'), ":3: the file is not UTF-8 text"},
		{"TOC entry without body", bytes.Replace(good, []byte("\n某市网安部门对未履行数据安全保护义务的R&D公司作出行政处罚\n\n2021年5月8日"), []byte("\n2021年5月8日"), 1),
			`:52: the table of contents lists "某市网安部门对未履行数据安全保护义务的R&D公司作出行政处罚" but no item with that title follows in the body`},
		{"no sections", []byte("No.234\n\n2021.05\n\nNo.54\n\nJust some text.\n"), ":7: no sections found"},
	}
	for _, tt := range tests {
		path := writeIssue(t, "issue.md", tt.content)
		for _, args := range [][]string{{"parse", path}, {"parse", "--json", path}, {"render", path}, {"render", "--json", "-o", t.TempDir(), path}} {
			t.Run(tt.name+"/"+strings.Join(args[:len(args)-1], " "), func(t *testing.T) {
				stdout, stderr, code := runWxbot(t, args...)
				if code != 1 {
					t.Errorf("exit status %d, want 1", code)
				}
				if stdout != "" {
					t.Errorf("stdout %q, want nothing", stdout)
				}
				lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
				for _, l := range lines {
					if m := located.FindStringSubmatch(l); m == nil || m[1] != path {
						t.Errorf("stderr line %q is not %s:LINE: message", l, path)
					}
				}
				if !strings.Contains(stderr, path+tt.want) {
					t.Errorf("stderr %q lacks %q", stderr, path+tt.want)
				}
			})
		}
	}
	_, stderr, code := runWxbot(t, "parse", filepath.Join(t.TempDir(), "missing.md"))
	if code != 1 || !strings.Contains(stderr, "missing.md:1: no such file") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}

func TestRenderCommand(t *testing.T) {
	stdout, stderr, code := runWxbot(t, "render", example55)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "1 article (layout single)") || !strings.Contains(stdout, "1. 立方网络安全与数据合规周报 No.55") || !strings.Contains(stdout, "characters") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if !strings.Contains(stderr, example55+": note: image images/miit-batch4.png has no uploaded URL") {
		t.Errorf("stderr lacks the image note: %q", stderr)
	}

	stdout, _, code = runWxbot(t, "render", "--json", "--layout", "sections", example54)
	var d render.Draft
	if err := json.Unmarshal([]byte(stdout), &d); code != 0 || err != nil {
		t.Fatalf("exit %d, %v", code, err)
	}
	if len(d.Articles) != 3 || d.Articles[2].Title != "执法动态 Enforcement Actions | No.54" || d.Articles[0].Author != "立方律师事务所" {
		t.Errorf("layout sections: %d articles, titles %q", len(d.Articles), d.Articles[len(d.Articles)-1].Title)
	}
	if !strings.HasPrefix(stdout, `{"articles":[{"title":"立方网络安全与数据合规周报 No.54","author":"立方律师事务所","digest":`) || strings.Contains(stdout, `\u003c`) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("draft/add body: %.200s", stdout)
	}

	dir := filepath.Join(t.TempDir(), "preview")
	_, _, code = runWxbot(t, "render", "-o", dir, "--layout", "sections", example54)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"index.html", "article-1.html", "article-2.html", "article-3.html"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Contains(b, []byte("width:375px")) {
			t.Errorf("%s: %v", f, err)
		}
	}

	_, stderr, code = runWxbot(t, "render", "--layout", "grid", example54)
	if code != 1 || !strings.Contains(stderr, "render.layout") {
		t.Errorf("bad layout: exit %d, %q", code, stderr)
	}
}

// TestIssueCommandsBinary runs the built program for its real exit status.
func TestIssueCommandsBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "wxbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bad := writeIssue(t, "bad.md", []byte("\n\n"))
	cmd := exec.Command(bin, "parse", "--json", bad)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || out.Len() != 0 || errb.String() != bad+":1: the file is empty: an issue needs a masthead (No.233, 2021.04, the titles, No.53), a table of contents and the news items\n" {
		t.Errorf("bad file: %v, stdout %q, stderr %q", err, out.String(), errb.String())
	}
	if out, err := exec.Command(bin, "render", "--json", example54).Output(); err != nil || !bytes.HasPrefix(out, []byte(`{"articles":[`)) {
		t.Errorf("render --json: %v", err)
	}
}

// The preview shows the pictures the articles will: a Markdown issue's
// pictures beside it, a Word issue's from inside the file; a path leaving
// the issue's folder is not followed.
func TestRenderPreviewShowsLocalPictures(t *testing.T) {
	for _, c := range []struct{ issue, src, want string }{
		{example55, "images/miit-batch4.png", filepath.Join(filepath.Dir(example55), "images", "miit-batch4.png")},
		{filepath.Join("..", "..", "newsletter", "testdata", "word", "word-handmade.docx"), "word/media/image1.png", ""},
	} {
		dir := filepath.Join(t.TempDir(), "preview")
		_, stderr, code := runWxbot(t, "render", "-o", dir, c.issue)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.issue, code, stderr)
		}
		page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
		if !bytes.Contains(page, []byte(`src="`+c.src+`"`)) {
			t.Fatalf("%s: preview does not show %s", c.issue, c.src)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c.src)))
		if err != nil || len(got) == 0 {
			t.Fatalf("%s: picture not beside the preview: %v", c.issue, err)
		}
		if c.want != "" {
			if want, _ := os.ReadFile(c.want); !bytes.Equal(got, want) {
				t.Errorf("%s: copied picture differs from %s", c.issue, c.want)
			}
		} else if !bytes.HasPrefix(got, []byte("\x89PNG")) {
			t.Errorf("%s: the Word picture is not the PNG inside the file", c.issue)
		}
		if strings.Contains(stderr, "not shown") {
			t.Errorf("%s: %s", c.issue, stderr)
		}
	}

	// An issue whose picture points outside its folder: nothing is copied.
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.png")
	if err := os.WriteFile(secret, []byte("\x89PNG not for the preview"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(example55)
	issue := filepath.Join(dir, "sub", "no55.md")
	_ = os.MkdirAll(filepath.Dir(issue), 0o755)
	_ = os.WriteFile(issue, bytes.ReplaceAll(src, []byte("images/miit-batch4.png"), []byte("../secret.png")), 0o644)
	out := filepath.Join(dir, "preview")
	if _, stderr, code := runWxbot(t, "render", "-o", out, issue); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.png")); err != nil {
		t.Fatal("the test's own file vanished")
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		t.Errorf("preview folder holds %d entries, want index.html and article-1.html only", len(entries))
	}
}
