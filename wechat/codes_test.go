package wechat_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/lifang/wxbot/wechat"
)

// The errcode table: each code the package names is explained, the
// publish codes say what WECHAT.md says they mean, only the refusals "for
// now" are temporary, and docs/wechat-api.md lists the same table.
func TestCodeTable(t *testing.T) {
	named := []int{wechat.CodeBusy, wechat.CodeInvalidCredential, wechat.CodeInvalidMediaID, wechat.CodeInvalidToken,
		wechat.CodeTokenExpired, wechat.CodeNotFollowing, wechat.CodeQuotaReached, wechat.CodeReplyWindow,
		wechat.CodeNoMassQuota, wechat.CodeCustomQuota, wechat.CodeClientMsgIDUsed, wechat.CodeClientMsgIDFast,
		wechat.CodeClientMsgIDLong, wechat.CodeTagExists, wechat.CodeUnauthorized,
		wechat.CodePublishBanned, wechat.CodePublishTooOften, wechat.CodeBadPublishID,
		wechat.CodeRiskyIP, wechat.CodeIPNotWhitelisted, wechat.CodeHyperlink}
	for _, code := range named {
		c, ok := wechat.LookupCode(code)
		if !ok || c.Meaning == "" || c.Source == "" || c.Code != code {
			t.Errorf("errcode %d: %+v, known %v", code, c, ok)
		}
	}
	for code, want := range map[int]string{
		53500: "publish banned",
		53501: "publishing too often",
		53502: "does not know this publish_id",
		53504: "published from the web platform",
		53505: "saved by hand first",
		45166: "hyperlink",
		89503: "an administrator confirms",
		40164: "IP白名单",
	} {
		c, _ := wechat.LookupCode(code)
		if !strings.Contains(c.String(), want) {
			t.Errorf("errcode %d reads %q, want it to say %q", code, c, want)
		}
	}
	var temporary []int
	for _, c := range wechat.Codes() {
		if c.Temporary {
			temporary = append(temporary, c.Code)
		}
		if wechat.Temporary(&wechat.APIError{Code: c.Code}) != c.Temporary {
			t.Errorf("Temporary(%d) disagrees with the table", c.Code)
		}
	}
	if got := fmt.Sprint(temporary); got != "[-1 45009 45066 53501]" {
		t.Errorf("temporary codes %s", got)
	}
	if got := wechat.ExplainCode(&wechat.APIError{Code: 12345, Msg: "odd"}); got != "WeChat answered errcode 12345: odd" {
		t.Errorf("unknown code explained as %q", got)
	}
	if got := wechat.ExplainCode(fmt.Errorf("wrapped: %w", &wechat.APIError{Code: 53503, Msg: "draft check failed"})); !strings.HasSuffix(got, ": draft check failed") {
		t.Errorf("53503 explained as %q, want WeChat's errmsg", got)
	}

	readme, err := os.ReadFile("../docs/wechat-api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range wechat.Codes() {
		row := fmt.Sprintf("| `%d` | %s |", c.Code, c.Meaning)
		if !strings.Contains(string(readme), row) {
			t.Errorf("docs/wechat-api.md's errcode table lacks or differs for %d (want a row starting %q)", c.Code, row)
		}
	}
}

// Explain is the one sentence for an errcode: the table's meaning and
// action with the code, for a code the table lacks a sentence naming it;
// ExplainCode adds WeChat's errmsg only where the table is not enough.
func TestExplain(t *testing.T) {
	for _, c := range wechat.Codes() {
		got := wechat.Explain(c.Code)
		if !strings.HasPrefix(got, c.Meaning+fmt.Sprintf(" (%d)", c.Code)) || (c.Action != "" && !strings.HasSuffix(got, ": "+c.Action)) {
			t.Errorf("Explain(%d) = %q, want the table's meaning and action", c.Code, got)
		}
		if c.Code == wechat.CodePublishRefused {
			continue
		}
		if e := wechat.ExplainCode(fmt.Errorf("x: %w", &wechat.APIError{Code: c.Code, Msg: "errmsg"})); e != got {
			t.Errorf("ExplainCode(%d) = %q, want Explain's %q", c.Code, e, got)
		}
	}
	if got := wechat.Explain(12345); !strings.Contains(got, "12345") || !strings.Contains(got, "not in wxbot's table") {
		t.Errorf("Explain(12345) = %q", got)
	}
	if got := wechat.ExplainCode(errors.New("no errcode")); got != "" {
		t.Errorf("ExplainCode of a plain error = %q, want \"\"", got)
	}
}

// The table is keyed by the named constants of errors.go, so a code the
// rest of wxbot decides on and its sentence cannot drift apart.
func TestCodeTableUsesNamedConstants(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "codes" {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			t.Fatal("codes is not a map literal")
		}
		for _, e := range lit.Elts {
			kv := e.(*ast.KeyValueExpr)
			id, ok := kv.Key.(*ast.Ident)
			if !ok || !strings.HasPrefix(id.Name, "Code") {
				t.Errorf("codes.go: a key of the table is %T, not a named Code… constant", kv.Key)
			}
			keys++
		}
		return false
	})
	if keys != len(wechat.Codes()) || keys < 30 {
		t.Fatalf("found %d keys in codes.go, the table has %d", keys, len(wechat.Codes()))
	}
}
