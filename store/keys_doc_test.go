package store

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestEveryKeyDocumented: each key Keys builds is in the layout of
// store/keys.go and in docs/architecture.md's table of who owns which key,
// and neither lists a key that Keys does not build — a new key, or one
// renamed, fails here until both say so.
func TestEveryKeyDocumented(t *testing.T) {
	keysGo, err := os.ReadFile("keys.go")
	if err != nil {
		t.Fatal(err)
	}
	arch, err := os.ReadFile("../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	layout := docPatterns(t, regexp.MustCompile(`(?m)^//\s+(P\S+)\s+(?:str|hash|zset|set|list)\s`), string(keysGo))
	table := docPatterns(t, regexp.MustCompile("(?m)^\\| ((?:`P[^`]*`(?:, )?)+) \\|"), string(arch))

	k := Keys{Prefix: "wxbot:"}
	v := reflect.ValueOf(k)
	built := map[string]bool{}
	for i := 0; i < v.NumMethod(); i++ {
		m := v.Type().Method(i)
		args := make([]reflect.Value, m.Type.NumIn()-1)
		for j := range args {
			switch in := m.Type.In(j + 1); in.Kind() {
			case reflect.String:
				args[j] = reflect.ValueOf("x1")
			case reflect.Int:
				args[j] = reflect.ValueOf(1)
			default:
				t.Fatalf("Keys.%s takes a %s: teach this test", m.Name, in)
			}
		}
		key := v.Method(i).Call(args)[0].String()
		p := "P" + strings.TrimPrefix(key, k.Prefix)
		built[p] = true
		for name, pats := range map[string]map[string]*regexp.Regexp{"store/keys.go's layout": layout, "docs/architecture.md": table} {
			if matchAny(pats, p) == "" {
				t.Errorf("Keys.%s builds %s, which %s does not list", m.Name, key, name)
			}
		}
	}
	for name, pats := range map[string]map[string]*regexp.Regexp{"store/keys.go's layout": layout, "docs/architecture.md": table} {
		for doc, re := range pats {
			found := false
			for p := range built {
				found = found || re.MatchString(p)
			}
			if !found {
				t.Errorf("%s lists %s, which no Keys method builds", name, doc)
			}
		}
	}
}

// docPatterns reads the key patterns a document lists (P{u:OPENID}:d:ID)
// as expressions in which each upper-case placeholder stands for a part.
func docPatterns(t *testing.T, re *regexp.Regexp, doc string) map[string]*regexp.Regexp {
	t.Helper()
	out := map[string]*regexp.Regexp{}
	placeholder := regexp.MustCompile(`[A-Z][A-Z0-9_]*`)
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		for _, p := range regexp.MustCompile("`?(P[^`, ]+)`?").FindAllStringSubmatch(m[1], -1) {
			pat := p[1]
			expr := "^P" + placeholder.ReplaceAllStringFunc(regexp.QuoteMeta(pat[1:]), func(string) string { return "[^:{}]+" }) + "$"
			out[pat] = regexp.MustCompile(expr)
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d key patterns read: has the document's layout changed?", len(out))
	}
	return out
}

func matchAny(pats map[string]*regexp.Regexp, key string) string {
	for doc, re := range pats {
		if re.MatchString(key) {
			return doc
		}
	}
	return ""
}
