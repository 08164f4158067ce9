package newsletter

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the golden files (testdata/**/*.json, the hand-made
// Word document) instead of comparing with them.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// parseJSON is the issue as `wxbot parse --json` prints it: one line, HTML
// characters as they are.
func parseJSON(t *testing.T, iss *Issue) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(iss); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Each converter's export in testdata/exports and each Word fixture in
// testdata/word parses to exactly the issue in the .json beside it (the
// output of `wxbot parse --json`). The golden files were reviewed by eye:
// numbering stripped from section and item titles, one section per
// bilingual heading, the read-more URLs in link_zh/link_en, footnotes in
// notes. -update rewrites them; review the diff before committing it.
func TestGoldenJSON(t *testing.T) {
	var files []string
	for _, g := range []string{"testdata/exports/*.md", "testdata/word/*.docx"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 8 {
		t.Fatalf("golden inputs: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			iss, _ := parseFileT(t, f)
			got := parseJSON(t, iss)
			golden := strings.TrimSuffix(f, filepath.Ext(f)) + ".json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./newsletter -run TestGoldenJSON -update)", err)
			}
			if !bytes.Equal(got, want) {
				var g, w any
				_ = json.Unmarshal(got, &g)
				_ = json.Unmarshal(want, &w)
				gi, _ := json.MarshalIndent(g, "", " ")
				wi, _ := json.MarshalIndent(w, "", " ")
				t.Errorf("%s differs from %s:\n%s", f, golden, lineDiff(string(gi), string(wi)))
			}
		})
	}
}
