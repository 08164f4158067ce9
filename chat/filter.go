package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// WeChat sends the emoji of its panel as text: the classic faces as
// "/:" codes (/::) smile, /:hug, /:8-) …, the QQ face set) and the newer
// ones as bracketed names ([微笑], [Smile], [捂脸]). Neither is something
// to search for: they are removed from a query before it is read.

// wechatFaceCodes are the "/:" codes of WeChat's classic face panel,
// matched longest first.
var wechatFaceCodes = sortedByLength([]string{
	"/::)", "/::~", "/::B", "/::|", "/:8-)", "/::<", "/::$", "/::X", "/::Z", "/::'(",
	"/::-|", "/::@", "/::P", "/::D", "/::O", "/::(", "/::+", "/:--b", "/::Q", "/::T",
	"/:,@P", "/:,@-D", "/::d", "/:,@o", "/::g", "/:|-)", "/::!", "/::L", "/::>", "/::,@",
	"/:,@f", "/::-S", "/:?", "/:,@x", "/:,@@", "/::8", "/:,@!", "/:!!!", "/:xx", "/:bye",
	"/:wipe", "/:dig", "/:handclap", "/:&-(", "/:B-)", "/:<@", "/:@>", "/::-O", "/:>-|", "/:P-(",
	"/::'|", "/:X-)", "/::*", "/:@x", "/:8*", "/:pd", "/:<W>", "/:beer", "/:basketb", "/:oo",
	"/:coffee", "/:eat", "/:pig", "/:rose", "/:fade", "/:showlove", "/:heart", "/:break", "/:cake", "/:li",
	"/:bome", "/:kn", "/:footb", "/:ladybug", "/:shit", "/:moon", "/:sun", "/:gift", "/:hug", "/:strong",
	"/:weak", "/:share", "/:v", "/:@)", "/:jj", "/:@@", "/:bad", "/:lvu", "/:no", "/:ok",
	"/:love", "/:<L>", "/:jump", "/:shake", "/:<O>", "/:circle", "/:kotow", "/:turn", "/:skip", "/:oY",
	"/:#-0", "/:hiphot", "/:kiss", "/:<&", "/:&>",
})

func sortedByLength(codes []string) []string {
	out := append([]string(nil), codes...)
	for i := 1; i < len(out); i++ { // insertion sort, longest first; runs once
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// maxBracketName bounds a bracketed emoji name: [捂脸], [Facepalm],
// [Thumbs Up].
const (
	maxBracketHan   = 4
	maxBracketLatin = 16
)

// stripEmoji removes WeChat emoji codes from s: the "/:" codes of the face
// panel (known codes longest first, else "/:" and the letters after it)
// and bracketed names — 1 to 4 Chinese characters ([微笑]) or a
// capitalised English name ([Smile], [Thumbs Up]), so that [GDPR] stays.
func stripEmoji(s string) string {
	if !strings.Contains(s, "/:") && !strings.ContainsAny(s, "[［") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "/:") {
			if n := faceCodeLen(s[i:]); n > 0 {
				i += n
				sb.WriteByte(' ')
				continue
			}
		}
		if n := bracketNameLen(s[i:]); n > 0 {
			i += n
			sb.WriteByte(' ')
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		sb.WriteString(s[i : i+size])
		i += size
	}
	return strings.Join(strings.Fields(sb.String()), " ")
}

// faceCodeLen is the length of the "/:" code at the start of s, 0 if none.
func faceCodeLen(s string) int {
	for _, c := range wechatFaceCodes {
		if strings.HasPrefix(s, c) {
			return len(c)
		}
	}
	// A code this list lacks: "/:" and a run of ASCII letters.
	n := 2
	for n < len(s) && n < 2+12 && s[n] < utf8.RuneSelf && unicode.IsLetter(rune(s[n])) {
		n++
	}
	if n > 2 {
		return n
	}
	return 0
}

// bracketNameLen is the length of a bracketed emoji name at the start of
// s ("[微笑]", "［微笑］", "[Smile]"), 0 if none.
func bracketNameLen(s string) int {
	var closing string
	switch {
	case strings.HasPrefix(s, "["):
		closing = "]"
	case strings.HasPrefix(s, "［"):
		closing = "］"
	default:
		return 0
	}
	_, open := utf8.DecodeRuneInString(s)
	end := strings.Index(s[open:], closing)
	if end <= 0 {
		return 0
	}
	name := s[open : open+end]
	han, latin := 0, 0
	for i, r := range name {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || (r == ' ' && i > 0)):
			latin++
		default:
			return 0
		}
	}
	switch {
	case han > 0 && latin == 0 && han <= maxBracketHan:
	case han == 0 && latin > 1 && latin <= maxBracketLatin && isCapitalisedName(name):
	default:
		return 0
	}
	return open + end + len(closing)
}

// isCapitalisedName: "Smile", "Thumbs Up" — an upper-case letter, then
// lower-case ones (so an acronym like GDPR is not an emoji).
func isCapitalisedName(name string) bool {
	for _, w := range strings.Fields(name) {
		if !unicode.IsUpper(rune(w[0])) {
			return false
		}
		for _, r := range w[1:] {
			if !unicode.IsLower(r) {
				return false
			}
		}
	}
	return true
}

// blockList is bot.blocked_words made ready: Chinese entries match
// anywhere in a query, others as whole words (with an English ending:
// s, es, ed, er, ing), case-insensitively.
type blockList struct {
	han   []string
	words map[string]bool
}

func newBlockList(words []string) blockList {
	bl := blockList{words: map[string]bool{}}
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" {
			continue
		}
		if strings.IndexFunc(w, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0 {
			bl.han = append(bl.han, w)
			continue
		}
		bl.words[w] = true
	}
	return bl
}

// blocks reports whether q holds a blocked word.
func (bl blockList) blocks(q string) bool {
	if len(bl.han) == 0 && len(bl.words) == 0 {
		return false
	}
	l := strings.ToLower(Normalize(q))
	for _, w := range bl.han {
		if strings.Contains(l, w) {
			return true
		}
	}
	if len(bl.words) == 0 {
		return false
	}
	for _, tok := range strings.FieldsFunc(l, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if bl.words[tok] {
			return true
		}
		for _, suf := range []string{"s", "es", "ed", "er", "ing"} {
			if base, ok := strings.CutSuffix(tok, suf); ok && bl.words[base] {
				return true
			}
		}
	}
	return false
}
