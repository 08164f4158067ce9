package newsletter

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file holds the small text tests the parser is built from: what a
// decorated line says once its Markdown is taken off, whether a line is
// Chinese, whether it has the "中文 English" shape of a section heading, and
// the masthead's numbers, month and the items' dates.

// stripped is a line without its Markdown decoration.
type stripped struct {
	text      string // the words, backslash escapes resolved
	decorated bool   // it was a heading (#) or wholly bold/italic
}

// strip removes the decoration a title or heading may carry: "## x", "# x #",
// "**x**", "__x__", "*x*", a list marker, a whole-line [x](#anchor) link and
// backslash escapes, so "### **欧盟…**" and "欧盟…" compare equal.
func strip(s string) stripped {
	s = strings.TrimSpace(s)
	var out stripped
	if n := headingLevel(s); n > 0 {
		out.decorated = true
		s = strings.TrimSpace(s[n:])
		// A closing sequence of #s is decoration too ("# Title #").
		if t := strings.TrimRight(s, "#"); t != s && (t == "" || strings.HasSuffix(t, " ")) {
			s = strings.TrimSpace(t)
		}
	}
	s = trimListMarker(s)
	for {
		inner, ok := unwrapEmphasis(s)
		if !ok {
			break
		}
		out.decorated = true
		s = strings.TrimSpace(inner)
	}
	if label, ok := wholeLineAnchor(s); ok {
		s = label
		// A Word table of contents entry ends with its page number,
		// after a tab ("[工信部…\t3](#_Toc…)").
		s = trimPageNumber(s)
		for {
			inner, ok := unwrapEmphasis(s)
			if !ok {
				break
			}
			s = strings.TrimSpace(inner)
		}
	}
	// Bold on part of a title ("**国内要闻** Domestic News") is decoration too.
	for _, d := range []string{"**", "__"} {
		if n := strings.Count(s, d); n >= 2 && n%2 == 0 {
			s = strings.ReplaceAll(s, d, "")
		}
	}
	s = trimPageNumber(strings.TrimSpace(unescape(s)))
	out.text = trimNumbering(s)
	return out
}

// trimPageNumber removes a page number after a tab at the end of a line,
// the way Word writes a table of contents ("国内要闻 Domestic News\t2").
func trimPageNumber(s string) string {
	t := strings.TrimRight(s, "0123456789")
	if t == s || len(s)-len(t) > 4 {
		return s
	}
	if u := strings.TrimRight(t, " \t.·…"); strings.HasSuffix(strings.TrimRight(t, " .·…"), "\t") && u != "" {
		return u
	}
	return s
}

// chineseNumerals are the numbers of Chinese-style numbering (一、二、…).
const chineseNumerals = "一二三四五六七八九十百零〇"

// trimNumbering removes the numbering a converter or an editor puts before
// a section or item title: "一、", "（一）", "(一)", "1.", "1、", "1)", "1）",
// "(1)", "第一部分 " is not numbering. A number that is part of the title
// ("2021年…", "3.5亿…", "5G…") stays.
func trimNumbering(s string) string {
	t := s
	switch {
	case strings.HasPrefix(t, "（") || strings.HasPrefix(t, "("):
		open, closer := "（", "）"
		if t[0] == '(' {
			open, closer = "(", ")"
		}
		inner := t[len(open):]
		j := strings.Index(inner, closer)
		if j <= 0 || j > 12 || !allNumeral(inner[:j]) {
			// also "(1）" and "（1)"
			j = strings.IndexAny(inner, ")）")
			if j <= 0 || j > 12 || !allNumeral(inner[:j]) {
				return s
			}
			_, size := utf8.DecodeRuneInString(inner[j:])
			t = inner[j+size:]
			break
		}
		t = inner[j+len(closer):]
	default:
		i := 0
		for i < len(t) && i < 3 && isDigit(t[i]) {
			i++
		}
		if i == 0 {
			for _, r := range t {
				if !strings.ContainsRune(chineseNumerals, r) {
					break
				}
				i += utf8.RuneLen(r)
			}
			if i == 0 || i > 12 || !strings.HasPrefix(t[i:], "、") {
				return s
			}
			t = t[i+len("、"):]
			break
		}
		rest := t[i:]
		switch {
		case strings.HasPrefix(rest, "、"), strings.HasPrefix(rest, "）"), strings.HasPrefix(rest, "．"):
			_, size := utf8.DecodeRuneInString(rest)
			t = rest[size:]
		case strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, ")"):
			// "1.工信部" and "1. Title", but not "3.5亿" or "1.0 version".
			if len(rest) > 1 && isDigit(rest[1]) {
				return s
			}
			t = rest[1:]
		default:
			return s
		}
	}
	t = strings.TrimSpace(t)
	if t == "" {
		return s
	}
	return t
}

func allNumeral(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune(chineseNumerals, r) && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// headingLevel returns the length of an ATX heading marker ("## "), or 0.
func headingLevel(s string) int {
	n := 0
	for n < len(s) && s[n] == '#' {
		n++
	}
	if n == 0 || n > 6 {
		return 0
	}
	if n < len(s) && s[n] != ' ' && s[n] != '\t' {
		return 0
	}
	return n
}

// trimListMarker removes "- ", "* ", "+ ", "1. " or "1) " at the start.
func trimListMarker(s string) string {
	if len(s) >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ' {
		return strings.TrimSpace(s[2:])
	}
	i := 0
	for i < len(s) && i < 3 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && s[i+1] == ' ' {
		return strings.TrimSpace(s[i+2:])
	}
	return s
}

// unwrapEmphasis returns x for "**x**", "__x__", "***x***", "*x*" or "_x_"
// when the delimiters wrap the whole line (and not "**a** and **b**").
func unwrapEmphasis(s string) (string, bool) {
	for _, d := range []string{"***", "**", "__", "*", "_"} {
		if len(s) > 2*len(d) && strings.HasPrefix(s, d) && strings.HasSuffix(s, d) {
			inner := s[len(d) : len(s)-len(d)]
			if !strings.Contains(inner, d) && strings.TrimSpace(inner) != "" {
				return inner, true
			}
		}
	}
	return "", false
}

// wholeLineAnchor returns the label of a line that is only an in-document
// link, such as a table of contents entry "[工信部…](#item-1)".
func wholeLineAnchor(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, ")") {
		return "", false
	}
	links := scanLinks(s)
	if len(links) != 1 || links[0].start != 0 || links[0].end != len(s) {
		return "", false
	}
	if d := links[0].dest; d != "" && !strings.HasPrefix(d, "#") {
		return "", false
	}
	return strings.TrimSpace(links[0].label), true
}

// unescape resolves Markdown backslash escapes of ASCII punctuation.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isASCIIPunct(c byte) bool {
	return strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0
}

// key is the form in which titles are compared: no spaces or Markdown
// characters, full-width ASCII folded to ASCII, curly quotes straightened,
// lower case. The table of contents and the body then match even when one
// of them is decorated or typed with slightly different spacing.
func key(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII: （ → (
			r -= 0xFEE0
		}
		switch {
		case unicode.IsSpace(r), r == '*', r == '_', r == '#', r == '`', r == '\\':
			continue
		case strings.ContainsRune(quoteMarks, r):
			// 《数据安全法》 in the table of contents, “数据安全法” in the body.
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	// Trailing punctuation: "…征求意见。" and "…征求意见" are one title.
	return strings.TrimRightFunc(b.String(), func(r rune) bool { return strings.ContainsRune(".。,，;；:：!！?？、", r) })
}

// quoteMarks are the quotes and title brackets that key ignores: editors
// and converters turn one into another (《》 typed as “”, "" made curly).
const quoteMarks = "《》〈〉「」『』“”‘’\"'„‟‹›«»"

// isHan reports a Chinese character (not punctuation).
func isHan(r rune) bool { return r >= 0x2E80 && unicode.Is(unicode.Han, r) }

// isChinese reports whether a line is Chinese text: it has Han characters
// and they are not a stray term in an English sentence. Chinese titles often
// start with Latin acronyms ("EDPB发布…"), hence a ratio, not a first rune.
func isChinese(s string) bool {
	han, latin := 0, 0
	for _, r := range s {
		switch {
		case isHan(r):
			han++
		case r < utf8.RuneSelf && unicode.IsLetter(r):
			latin++
		}
	}
	return han > 0 && han*3 >= latin
}

// splitHeading splits a section heading of the form "国内要闻 Domestic News"
// into its Chinese and English names. The Chinese part must hold Han
// characters; the English part starts with a Latin letter after a space and
// holds none. Separators between them ("|", "/", "｜", "·") are dropped.
func splitHeading(s string) (zh, en string, ok bool) {
	if s == "" || utf8.RuneCountInString(s) > 80 {
		return "", "", false
	}
	lastHan := -1
	for i, r := range s {
		if isHan(r) {
			lastHan = i
		}
	}
	if lastHan < 0 {
		return "", "", false
	}
	_, size := utf8.DecodeRuneInString(s[lastHan:])
	zh = strings.TrimSpace(s[:lastHan+size])
	rest := s[lastHan+size:]
	// The English name must be separated from the Chinese one by a space:
	// "EDPB发布指南" is a title, not a heading.
	if rest == "" || !unicode.IsSpace(firstRune(rest)) && !strings.ContainsRune("|/｜·—-", firstRune(rest)) {
		return "", "", false
	}
	en = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(rest), "|/｜·—-"))
	if !hasLetter(en) || isCJK(firstRune(en)) || utf8.RuneCountInString(en) > 60 {
		return "", "", false
	}
	if !isChinese(zh) || utf8.RuneCountInString(zh) > 20 {
		return "", "", false
	}
	if strings.ContainsAny(zh, "。！？；，") || strings.HasSuffix(en, ".") {
		return "", "", false
	}
	return zh, en, true
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

func isASCIILetter(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// issueNumber reads a masthead number line: "No.233", "No. 53", "NO.53", "No 53", "№53".
// firmWideNumber tells a masthead number that names itself the firm-wide
// one ("总第233期").
func firmWideNumber(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "总第") }

func issueNumber(s string) (int, bool) {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasSuffix(t, "期") && (strings.HasPrefix(t, "第") || strings.HasPrefix(t, "总第")):
		// 第53期, 总第233期 (the firm-wide number: see firmWideNumber).
		t = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(t, "总"), "第"), "期")
	case strings.HasPrefix(t, "№"):
		t = t[len("№"):]
	case len(t) >= 2 && strings.EqualFold(t[:2], "no"):
		t = t[2:]
		t = strings.TrimLeft(t, ".:：． ")
	default:
		return 0, false
	}
	t = strings.TrimSpace(t)
	if t == "" || len(t) > 6 {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) {
			return 0, false
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// monthLine reads a masthead month: "2021.04", "2021.4", "2021-04",
// "2021/04" or "2021年4月", and returns it as "2021-04".
func monthLine(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if strings.HasSuffix(t, "月") {
		t = strings.TrimSuffix(t, "月")
		t = strings.Replace(t, "年", ".", 1)
	}
	if len(t) < 6 || len(t) > 8 {
		return "", false
	}
	year, rest := t[:4], t[4:]
	if rest[0] != '.' && rest[0] != '-' && rest[0] != '/' {
		return "", false
	}
	y, err1 := strconv.Atoi(year)
	m, err2 := strconv.Atoi(strings.TrimSpace(rest[1:]))
	if err1 != nil || err2 != nil || y < 1990 || y > 2200 || m < 1 || m > 12 || !isDigit(rest[len(rest)-1]) {
		return "", false
	}
	return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC).Format("2006-01"), true
}

// chineseDate reads "2021年4月26日" (spaces allowed) at the start of s.
func chineseDate(s string) (string, bool) {
	var nums [3]int
	t := strings.TrimLeft(s, " *_【[（(")
	for i, unit := range []string{"年", "月", "日"} {
		t = strings.TrimLeft(t, " ")
		j := 0
		for j < len(t) && isDigit(t[j]) {
			j++
		}
		if j == 0 || j > 4 {
			return "", false
		}
		nums[i], _ = strconv.Atoi(t[:j])
		t = strings.TrimLeft(t[j:], " ")
		if !strings.HasPrefix(t, unit) {
			return "", false
		}
		t = t[len(unit):]
	}
	return isoDate(nums[0], nums[1], nums[2])
}

var monthNames = map[string]int{
	"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
	"august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
	"sept": 9, "oct": 10, "nov": 11, "dec": 12,
}

// englishDate reads "On April 26, 2021", "April 26, 2021", "On 26 April 2021"
// or "Apr. 26, 2021" at the start of s.
func englishDate(s string) (string, bool) {
	s = s[:min(len(s), 40)] // "On September 30, 2021," is 22 bytes
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '.' })
	if len(words) > 0 && strings.EqualFold(words[0], "on") {
		words = words[1:]
	}
	if len(words) < 3 {
		return "", false
	}
	num := func(w string) int {
		w = strings.TrimRight(strings.ToLower(w), "stndrh") // 26th, 1st
		n, err := strconv.Atoi(w)
		if err != nil {
			return 0
		}
		return n
	}
	if m, ok := monthNames[strings.ToLower(words[0])]; ok { // April 26, 2021
		return isoDate(num(words[2]), m, num(words[1]))
	}
	if m, ok := monthNames[strings.ToLower(words[1])]; ok { // 26 April 2021
		return isoDate(num(words[2]), m, num(words[0]))
	}
	return "", false
}

func isoDate(y, m, d int) (string, bool) {
	if y < 1990 || y > 2200 || m < 1 || m > 12 || d < 1 {
		return "", false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // April 31 rolls over: not a date
		return "", false
	}
	return t.Format("2006-01-02"), true
}

// endsSentence reports a line that ends like prose rather than a title.
func endsSentence(s string) bool {
	s = strings.TrimRight(s, " *_")
	switch lastRune(s) {
	case '。', '！', '？', '；', '.', '!', '?', ';', '…':
		return true
	}
	return false
}

func isCJK(r rune) bool {
	return isHan(r) || (r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
}

// escapeEmphasis writes text as inline Markdown that reads back as the same text.
func escapeEmphasis(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("\\`*_[]<>!&", s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// maxAttrBytes bounds a pandoc attribute block: {width="5.77in" height="3.2in"}.
const maxAttrBytes = 200

// stripAttributes removes pandoc's attribute blocks from a line: after an
// image or link, "![](media/image1.png){width="5.77in" height="3.2in"}"
// loses the braces; a span "[underlined]{.underline}" becomes its text.
// A heading loses the attributes at its end. Anything in braces that is
// not an attribute list stays.
func stripAttributes(s string) string {
	// A heading's: "# 国内要闻 Domestic News {#国内要闻-domestic-news}".
	if headingLevel(s) > 0 && strings.HasSuffix(s, "}") {
		if open := strings.LastIndex(s, " {"); open > 0 && len(s)-open <= maxAttrBytes && isAttributeList(s[open+2:len(s)-1]) {
			s = strings.TrimSpace(s[:open])
		}
	}
	if !strings.Contains(s, "){") && !strings.Contains(s, "]{") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 1; i < len(s); i++ {
		if s[i] != '{' || s[i-1] != ')' && s[i-1] != ']' {
			continue
		}
		end := strings.IndexByte(s[i:min(len(s), i+maxAttrBytes)], '}')
		if end < 0 || !isAttributeList(s[i+1:i+end]) {
			continue
		}
		if s[i-1] == ']' {
			// A span: drop its brackets too, when its "[" is near.
			open := spanOpen(s[max(last, i-maxAttrBytes*2):i-1], max(last, i-maxAttrBytes*2))
			if open < 0 {
				continue
			}
			b.WriteString(s[last:open])
			b.WriteString(s[open+1 : i-1])
		} else {
			b.WriteString(s[last:i])
		}
		last = i + end + 1
		i = last - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// spanOpen returns the index (offset by base) of the "[" that opens the
// span whose "]" ends seg, or -1.
func spanOpen(seg string, base int) int {
	depth := 0
	for j := len(seg) - 1; j >= 0; j-- {
		switch seg[j] {
		case ']':
			depth++
		case '[':
			if j > 0 && seg[j-1] == '\\' {
				continue
			}
			if depth == 0 {
				return base + j
			}
			depth--
		}
	}
	return -1
}

// isAttributeList reports pandoc attributes: #id, .class and key=value
// (value bare or quoted), separated by spaces.
func isAttributeList(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for s != "" {
		var tok string
		switch {
		case s[0] == '#' || s[0] == '.':
			j := strings.IndexAny(s, " \t")
			if j < 0 {
				j = len(s)
			}
			tok, s = s[1:j], s[j:]
			if tok == "" {
				return false
			}
		default:
			eq := strings.IndexByte(s, '=')
			if eq <= 0 || strings.ContainsAny(s[:eq], " \t\"'") {
				return false
			}
			v := s[eq+1:]
			if v != "" && (v[0] == '"' || v[0] == '\'') {
				e := strings.IndexByte(v[1:], v[0])
				if e < 0 {
					return false
				}
				s = v[e+2:]
			} else {
				j := strings.IndexAny(v, " \t")
				if j < 0 {
					j = len(v)
				}
				s = v[j:]
			}
		}
		s = strings.TrimLeft(s, " \t")
	}
	return true
}
