package newsletter

import (
	"fmt"
	"strings"
	"testing"
)

// show prints an inline tree compactly: E(…) emphasis, S(…) strong,
// C(…) code, L(url: …) link, I(src: alt) image.
func show(ins []Inline) string {
	var b strings.Builder
	for _, in := range ins {
		switch in.Kind {
		case InlineText:
			b.WriteString(in.Text)
		case InlineEmph:
			b.WriteString("E(" + show(in.Children) + ")")
		case InlineStrong:
			b.WriteString("S(" + show(in.Children) + ")")
		case InlineCode:
			b.WriteString("C(" + in.Text + ")")
		case InlineLink:
			b.WriteString("L(" + in.URL + ": " + show(in.Children) + ")")
		case InlineImage:
			b.WriteString("I(" + in.URL + ": " + in.Text + ")")
		default:
			b.WriteString(fmt.Sprintf("?%d", in.Kind))
		}
	}
	return b.String()
}

func TestParseInline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain & <b>text</b>", "plain & <b>text</b>"},
		{"the *Interim Regulations (Exposure Draft)* and", "the E(Interim Regulations (Exposure Draft)) and"},
		{"发布《**重要数据具体目录**》等", "发布《S(重要数据具体目录)》等"},
		{"***both***", "S(E(both))"},
		{"__strong__ and _em_", "S(strong) and E(em)"},
		{"snake_case_name stays", "snake_case_name stays"},
		{"2 * 3 * 4", "2 * 3 * 4"},
		{"an *unclosed star", "an *unclosed star"},
		{`escaped \*not em\* and \[x\]`, "escaped *not em* and [x]"},
		{"code `a*b*c` here", "code C(a*b*c) here"},
		{"see [the *law*](https://e.x/a_(b)) now", "see L(https://e.x/a_(b): the E(law)) now"},
		{"![示意图](images/a.png) caption", "I(images/a.png: 示意图) caption"},
		{"auto <https://e.x/?a=1&b=2> link", "auto L(https://e.x/?a=1&b=2: https://e.x/?a=1&b=2) link"},
		{"not <a link> here", "not <a link> here"},
		{"*a [b*](c) d*", "E(a L(c: b*) d)"},
	}
	for _, tt := range tests {
		if got := show(ParseInline(tt.in)); got != tt.want {
			t.Errorf("ParseInline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlainText(t *testing.T) {
	got := PlainText("On *April 26*, see [the **law**](https://e.x) and ![chart](c.png) & `code` \\*.")
	if want := "On April 26, see the law and chart & code *."; got != want {
		t.Errorf("PlainText = %q, want %q", got, want)
	}
}
