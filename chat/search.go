package chat

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/lifang/wxbot/archive"
	"github.com/lifang/wxbot/newsletter"
)

// Search runs over every item of every archived issue, both languages at
// once. Chinese has no spaces, so Chinese text is indexed as overlapping
// character pairs (bigrams: 人脸识别 → 人脸 脸识 识别) and single characters
// (for one-character queries); other text as lower-cased words, with a
// plural "s" dropped (fines → fine). An item matches when it holds every
// token of the query; when none does, items holding at least half of them.
// Items whose title matches rank above items matching only in the body,
// then newer issues first, then the order in the issue.

const (
	inTitle uint8 = 1 << iota
	inBody
)

type posting struct {
	doc   int32
	where uint8
}

type searchDoc struct {
	issue int
	item  *newsletter.Item
}

// Index is built once per archive snapshot.
type Index struct {
	snap    *archive.Snapshot
	docs    []searchDoc
	terms   map[string][]posting
	answers answerCache
}

// maxQueryTokens bounds the work one message can cause.
const maxQueryTokens = 32

func buildIndex(snap *archive.Snapshot) *Index {
	ix := &Index{snap: snap, terms: map[string][]posting{}}
	for _, iss := range snap.All() {
		for si := range iss.Sections {
			for ii := range iss.Sections[si].Items {
				it := &iss.Sections[si].Items[ii]
				doc := int32(len(ix.docs))
				ix.docs = append(ix.docs, searchDoc{issue: iss.Number, item: it})
				add := func(tok string, where uint8) {
					ps := ix.terms[tok]
					if n := len(ps); n > 0 && ps[n-1].doc == doc {
						ps[n-1].where |= where
						return
					}
					ix.terms[tok] = append(ps, posting{doc: doc, where: where})
				}
				for _, s := range []string{it.TitleZH, it.TitleEN} {
					tokenize(s, true, func(t string) { add(t, inTitle) })
				}
				for _, paras := range [][]string{it.BodyZH, it.BodyEN} {
					for _, s := range paras {
						s = newsletter.PlainText(s)
						tokenize(s, true, func(t string) { add(t, inBody) })
					}
				}
			}
		}
	}
	return ix
}

// tokenize calls emit for each token of s. When indexing, every Chinese
// character is also emitted alone; a query emits a lone character only for a
// one-character run, so longer queries match by pairs.
func tokenize(s string, indexing bool, emit func(string)) {
	var han []rune
	var word []rune
	flushHan := func() {
		switch {
		case len(han) == 1:
			emit(string(han))
		case len(han) > 1:
			for i := 0; i+1 < len(han); i++ {
				emit(string(han[i : i+2]))
			}
			if indexing {
				for _, r := range han {
					emit(string(r))
				}
			}
		}
		han = han[:0]
	}
	flushWord := func() {
		if len(word) > 0 {
			emit(stem(string(word)))
		}
		word = word[:0]
	}
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r):
			flushWord()
			han = append(han, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushHan()
			word = append(word, unicode.ToLower(r))
		default:
			flushHan()
			flushWord()
		}
	}
	flushHan()
	flushWord()
}

// stem drops a plural "s" so "fines" finds "fine" and the reverse.
func stem(w string) string {
	if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
		return w[:len(w)-1]
	}
	return w
}

type hit struct {
	doc      int32
	matched  int
	inTitles int
}

// search returns the matching items, best first.
func (ix *Index) search(q string) []hit {
	var toks []string
	seen := map[string]bool{}
	tokenize(q, false, func(t string) {
		if !seen[t] && len(toks) < maxQueryTokens {
			seen[t] = true
			toks = append(toks, t)
		}
	})
	if len(toks) == 0 {
		return nil
	}
	acc := map[int32]*hit{}
	for _, t := range toks {
		for _, p := range ix.terms[t] {
			h := acc[p.doc]
			if h == nil {
				h = &hit{doc: p.doc}
				acc[p.doc] = h
			}
			h.matched++
			if p.where&inTitle != 0 {
				h.inTitles++
			}
		}
	}
	need := len(toks)
	full := false
	for _, h := range acc {
		if h.matched == need {
			full = true
			break
		}
	}
	if !full {
		need = (len(toks) + 1) / 2
	}
	out := make([]hit, 0, len(acc))
	for _, h := range acc {
		if h.matched >= need {
			out = append(out, *h)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.matched != b.matched {
			return a.matched > b.matched
		}
		// A title hit holds every matched token in the title; a title that
		// shares a word or two with the query is not one.
		if ta, tb := a.inTitles == a.matched, b.inTitles == b.matched; ta != tb {
			return ta
		}
		ia, ib := ix.docs[a.doc].issue, ix.docs[b.doc].issue
		if ia != ib {
			return ia > ib
		}
		return a.doc < b.doc
	})
	return out
}

// search answers a query with page `page` of its results and remembers
// the query in the session for "下一页"/"more".
func (c *Chat) search(snap *archive.Snapshot, ix *Index, query string, page int, lang string) Plan {
	query = CutText(strings.TrimSpace(query), 200)
	// A query holding a word of bot.blocked_words is never quoted back:
	// nothing found answers the help text, results come without the query.
	quiet := c.blocked.blocks(query)
	a := ix.answer(query, page, c.cfg.PageSize, lang, quiet)
	if quiet && a.hits == 0 {
		p := c.help(lang)
		p.Rule = "search"
		return p
	}
	p := textPlan("search", a.text)
	if a.hits > 0 {
		p.Session = &Session{Query: query, Page: a.page}
	}
	return p
}

// more shows the next page of the session's search.
func (c *Chat) more(snap *archive.Snapshot, ix *Index, st State, lang string) Plan {
	if st.Session == nil || st.Session.Query == "" {
		p := textPlan("more", tr(lang, "没有正在进行的搜索。请先回复关键词，如 GDPR。",
			"There is no search to continue. Reply with keywords first, e.g. GDPR."))
		p.NeedsState = true
		return p
	}
	q, page := st.Session.Query, st.Session.Page
	if a := ix.answer(q, page+1, c.cfg.PageSize, lang, c.blocked.blocks(q)); page*c.cfg.PageSize >= a.hits {
		p := textPlan("more", tr(lang, "没有更多结果了。", "No more results."))
		p.NeedsState = true
		return p
	}
	p := c.search(snap, ix, q, page+1, lang)
	p.Rule, p.NeedsState = "more", true
	return p
}

// answer is one page of a search as the subscriber reads it.
type answer struct {
	text string
	page int // the page shown: the last one when more were asked for
	hits int // 0: nothing found
}

type answerKey struct {
	query, lang string
	page, size  int
	quiet       bool // the query is not quoted in the answer
}

// answerCacheSize bounds each of the two generations of the answer cache:
// at most 2×1,024 answers of at most 2 KB each per index.
const answerCacheSize = 1024

// answerCache keeps the pages recently answered from one index: the same
// query, page, page size and language over the same archive always read
// the same, and subscribers ask for the same few keywords again and again.
// It lives in the index, so an archive change starts it afresh. Two
// generations: when the newer one is full, the older is dropped and the
// newer takes its place, so what is asked often stays.
type answerCache struct {
	mu       sync.Mutex
	cur, old map[answerKey]answer
}

func (c *answerCache) get(k answerKey) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.cur[k]; ok {
		return a, true
	}
	if a, ok := c.old[k]; ok {
		c.putLocked(k, a)
		return a, true
	}
	return answer{}, false
}

func (c *answerCache) put(k answerKey, a answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, a)
}

func (c *answerCache) putLocked(k answerKey, a answer) {
	if c.cur == nil || len(c.cur) >= answerCacheSize {
		c.old, c.cur = c.cur, make(map[answerKey]answer, 64)
	}
	c.cur[k] = a
}

// answer returns page `page` (from 1) of query's results, size per page,
// in lang: from the cache, else searched and formatted. quiet leaves the
// query out of the text.
func (ix *Index) answer(query string, page, size int, lang string, quiet bool) answer {
	k := answerKey{query: query, lang: lang, page: page, size: size, quiet: quiet}
	if a, ok := ix.answers.get(k); ok {
		return a
	}
	a := ix.format(query, page, size, lang, quiet)
	ix.answers.put(k, a)
	return a
}

func (ix *Index) format(query string, page, size int, lang string, quiet bool) answer {
	hits := ix.search(query)
	if len(hits) == 0 {
		if quiet {
			return answer{text: tr(lang, "没有找到相关的内容。换个关键词试试，或回复“帮助”。",
				"Nothing found. Try other keywords, or reply “help”.")}
		}
		return answer{text: tr(lang,
			"没有找到与“"+query+"”相关的内容。换个关键词试试，或回复“帮助”。",
			"Nothing found for “"+query+"”. Try other keywords, or reply “help”.")}
	}
	pages := (len(hits) + size - 1) / size
	page = max(1, min(page, pages))
	var sb strings.Builder
	if quiet {
		sb.WriteString(tr(lang,
			fmt.Sprintf("共 %d 条（第 %d/%d 页）", len(hits), page, pages),
			fmt.Sprintf("%d %s (page %d/%d)", len(hits), plural(len(hits), "result", "results"), page, pages)))
	} else {
		sb.WriteString(tr(lang,
			fmt.Sprintf("“%s”：共 %d 条（第 %d/%d 页）", query, len(hits), page, pages),
			fmt.Sprintf("“%s”: %d %s (page %d/%d)", query, len(hits), plural(len(hits), "result", "results"), page, pages)))
	}
	sb.WriteString("\n")
	for _, h := range hits[(page-1)*size : min(page*size, len(hits))] {
		d := ix.docs[h.doc]
		fmt.Fprintf(&sb, "No.%d · %s\n", d.issue, itemTitle(*d.item, lang))
	}
	if page < pages {
		sb.WriteString(tr(lang, "\n回复“下一页”查看更多，回复期号查看该期。", "\nReply “more” for the next page, or an issue number to see it."))
	} else {
		sb.WriteString(tr(lang, "\n回复期号查看该期。", "\nReply with an issue number to see it."))
	}
	return answer{text: sb.String(), page: page, hits: len(hits)}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
