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
	}
	// Bold on part of a title ("**国内要闻** Domestic News") is decoration too.
	for _, d := range []string{"**", "__"} {
		if n := strings.Count(s, d); n >= 2 && n%2 == 0 {
			s = strings.ReplaceAll(s, d, "")
		}
	}
	out.text = strings.TrimSpace(unescape(s))
	return out
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
		switch {
		case unicode.IsSpace(r), r == '*', r == '_', r == '#', r == '`', r == '\\':
			continue
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII: （ → (
			r -= 0xFEE0
		case r == '‘' || r == '’':
			r = '\''
		case r == '“' || r == '”':
			r = '"'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

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
