// Package newsletter is wxbot's domain model: one weekly issue of the firm's
// bilingual newsletter, its sections and items, and the parser that reads an
// issue from the Markdown export the editors produce.
package newsletter

// Issue is one weekly issue. The JSON form is what `wxbot parse --json` prints.
type Issue struct {
	// Number is the weekly series number (No.53).
	Number int `json:"number"`
	// NewsletterNumber is the firm-wide newsletter number (No.233).
	NewsletterNumber int `json:"newsletter_number"`
	// Month is the masthead month as YYYY-MM.
	Month        string    `json:"month"`
	TitleZH      string    `json:"title_zh"`
	TitleEN      string    `json:"title_en"`
	Sections     []Section `json:"sections"`
	DisclaimerZH string    `json:"disclaimer_zh"`
	DisclaimerEN string    `json:"disclaimer_en"`
}

// Section is a group of items under a bilingual heading ("国内要闻 Domestic News").
type Section struct {
	TitleZH string `json:"title_zh"`
	TitleEN string `json:"title_en"`
	Items   []Item `json:"items"`
}

// Item is one news item, in Chinese and English. Body paragraphs keep their
// inline Markdown (emphasis, images) so the renderer can keep it.
type Item struct {
	TitleZH string   `json:"title_zh"`
	TitleEN string   `json:"title_en"`
	BodyZH  []string `json:"body_zh"`
	BodyEN  []string `json:"body_en"`
	// LinkZH and LinkEN are the targets of the (查看更多)/(More) links, "" for a placeholder.
	LinkZH string `json:"link_zh"`
	LinkEN string `json:"link_en"`
	// Date is the ISO date the item starts with ("2021年4月26日" → 2021-04-26), or "".
	Date string `json:"date"`
	// Notes are the footnotes ([^1] … "[^1]: text") the item's paragraphs
	// refer to, in the order of first reference.
	Notes []Note `json:"notes,omitempty"`
}

// Note is one footnote: its id as written ([^1] → "1") and its text,
// inline Markdown like a paragraph.
type Note struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}
