package newsletter

import (
	"fmt"
	"unicode/utf8"
)

// nearEntry returns the table of contents entry, not yet found in the
// body, whose Chinese title is a few characters away from the line's: a
// typo on one side rather than an item missing from the table of contents.
func (p *parser) nearEntry(l line) *tocEntry {
	if !isChinese(l.text) || len(l.key) > maxTitleBytes {
		return nil
	}
	lk := []rune(l.key)
	var best *tocEntry
	bestD := 0
	for _, e := range p.entries {
		if e.found != 0 {
			continue
		}
		ek := []rune(e.zhKey)
		limit := max(2, min(len(lk), len(ek))/6)
		if d := len(lk) - len(ek); d > limit || -d > limit {
			continue
		}
		if d := editDistance(lk, ek, limit); d <= limit && (best == nil || d < bestD) {
			best, bestD = e, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit+1 when it
// is larger than limit. Titles are short (a few dozen runes).
func editDistance(a, b []rune, limit int) int {
	if len(a) > 200 || len(b) > 200 {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describeDiff says where two spellings of a title differ: the characters
// between their common beginning and their common end, with a little of
// the text before them.
func describeDiff(here, toc string) string {
	h, t := []rune(here), []rune(toc)
	pre := 0
	for pre < len(h) && pre < len(t) && h[pre] == t[pre] {
		pre++
	}
	suf := 0
	for suf < len(h)-pre && suf < len(t)-pre && h[len(h)-1-suf] == t[len(t)-1-suf] {
		suf++
	}
	hm, tm := string(h[pre:len(h)-suf]), string(t[pre:len(t)-suf])
	where := "at the start"
	if pre > 0 {
		ctx := h[max(0, pre-8):pre]
		where = fmt.Sprintf("after %q", string(ctx))
		if pre > 8 {
			where = fmt.Sprintf("after %q", "…"+string(ctx))
		}
	}
	show := func(s string) string {
		if s == "" {
			return "nothing"
		}
		if utf8.RuneCountInString(s) > 30 {
			s = clip(s, 30)
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%s, this line has %s where the table of contents has %s", where, show(hm), show(tm))
}
