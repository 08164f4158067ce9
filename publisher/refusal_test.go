package publisher

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
	"time"
)

// constsOf lists the constants of type typ declared in the package's files.
func constsOf(t *testing.T, typ string, files ...string) []string {
	t.Helper()
	var out []string
	fs := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fs, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); ok && id.Name == typ {
					for _, n := range vs.Names {
						out = append(out, n.Name)
					}
				}
			}
		}
	}
	return out
}

// The lists callers word from hold every constant, each once, and a
// refusal's own text never names a command or a flag.
func TestRefusalReasonsStepKindsOutcomesListed(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		file  string
		count int
		vals  []string
	}{
		{"RefusalReason", "refusal.go", len(RefusalReasons), strs(RefusalReasons)},
		{"StepKind", "pipeline.go", len(StepKinds), strs(StepKinds)},
		{"Outcome", "pipeline.go", len(Outcomes), strs(Outcomes)},
	} {
		names := constsOf(t, tc.typ, tc.file)
		if len(names) != tc.count {
			t.Errorf("%s: %d constants, %d listed", tc.typ, len(names), tc.count)
		}
		seen := map[string]bool{}
		for _, v := range tc.vals {
			if seen[v] || v == "" {
				t.Errorf("%s: %q listed twice or empty", tc.typ, v)
			}
			seen[v] = true
		}
	}
	when := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, r := range RefusalReasons {
		rf := &Refusal{Reason: r, Number: 55, State: StateScheduled, When: when, By: "alice", Detail: "lang:en"}
		msg := rf.Error()
		if !strings.Contains(msg, "No.55") || !strings.Contains(msg, strings.ReplaceAll(string(r), "_", " ")) {
			t.Errorf("%s: %q does not say the issue and the reason", r, msg)
		}
		if strings.Contains(msg, "--") || strings.Contains(msg, "wxbot ") {
			t.Errorf("%s: %q names a command or flag", r, msg)
		}
	}
}

func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return slices.Clip(out)
}
