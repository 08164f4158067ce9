package render

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// styles holds every inline style of an article, computed once from the
// theme. WeChat drops <style> and class, so each element carries its own;
// they are kept short because they count towards the 20,000 characters.
type styles struct {
	Wrap template.CSS // the article: font, colour, line height

	Mast, MastKicker, MastTitle, MastTitleEN, MastNo template.CSS // lead masthead
	Part                                             template.CSS // header of a follow-up article

	TOC, TOCHead, TOCSection, TOCItem, TOCNum, TOCEN template.CSS

	Section, SectionZH, SectionEN template.CSS // section heading
	ItemNo, TitleZH               template.CSS
	TitleEN, Para, ParaEN, More   template.CSS

	Refs, RefsHead, Ref, RefNum, RefURL template.CSS
	Closing, Disclaimer, Footer         template.CSS

	// Used inside paragraphs, written by Go code rather than the template.
	Strong, Code, Sup, Img string
}

// validate checks a theme and fills in defaults, so that nothing but a
// colour or a plain font list reaches a style attribute.
func (t Theme) validate() (Theme, error) {
	if t.Color == "" {
		t.Color = DefaultTheme.Color
	}
	if t.TextColor == "" {
		t.TextColor = DefaultTheme.TextColor
	}
	if t.FontFamily == "" {
		t.FontFamily = DefaultTheme.FontFamily
	}
	if t.FontSize == "" {
		t.FontSize = DefaultTheme.FontSize
	}
	for name, c := range map[string]string{"color": t.Color, "text_color": t.TextColor} {
		if _, ok := parseHex(c); !ok {
			return t, fmt.Errorf("render: theme %s %q is not a colour like #0b4f8a", name, c)
		}
	}
	if strings.ContainsAny(t.FontFamily+t.FontSize, "\"<>;{}\\") {
		return t, fmt.Errorf("render: theme font_family and font_size may not contain \" < > ; { } \\")
	}
	return t, nil
}

func parseHex(c string) ([3]int, bool) {
	var rgb [3]int
	if len(c) != 7 || c[0] != '#' {
		return rgb, false
	}
	for i := range 3 {
		v, err := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return rgb, false
		}
		rgb[i] = int(v)
	}
	return rgb, true
}

// mix blends colour c towards white (#ffffff) by the fraction w.
func mix(c string, w float64) string {
	rgb, _ := parseHex(c)
	var out [3]int
	for i, v := range rgb {
		out[i] = v + int(float64(255-v)*w+0.5)
	}
	return fmt.Sprintf("#%02x%02x%02x", out[0], out[1], out[2])
}

func newStyles(t Theme) *styles {
	brand, text := t.Color, t.TextColor
	// Quotes in a style attribute are written &#39;, five characters each;
	// family names made of letters, digits, spaces and hyphens need none.
	if strings.Trim(t.FontFamily, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,-'") == "" {
		t.FontFamily = strings.ReplaceAll(t.FontFamily, "'", "")
	}
	tint := mix(brand, 0.92) // pale background of the table of contents
	line := mix(brand, 0.8)  // rules
	muted := mix(text, 0.45) // dates, English subtitles, disclaimer
	css := func(format string, args ...any) template.CSS {
		return template.CSS(fmt.Sprintf(format, args...))
	}
	return &styles{
		Wrap: css("font-family:%s;font-size:%s;color:%s;line-height:1.75;letter-spacing:0.03em;word-wrap:break-word;text-align:left", t.FontFamily, t.FontSize, text),

		Mast:        css("margin:0 0 24px;padding:22px 16px 18px;background:%s;border-radius:8px;text-align:center;color:#ffffff", brand),
		MastKicker:  "margin:0;font-size:11px;letter-spacing:0.2em;opacity:0.85",
		MastTitle:   "margin:10px 0 0;font-size:21px;font-weight:bold;line-height:1.4;letter-spacing:0.06em",
		MastTitleEN: "margin:6px 0 0;font-size:12px;line-height:1.4;opacity:0.85",
		MastNo:      "display:inline-block;margin-top:14px;padding:1px 16px;border:1px solid #ffffff;border-radius:12px;font-size:13px;letter-spacing:0.1em",
		Part:        css("margin:0 0 20px;padding:8px 12px;border-left:4px solid %s;background:%s;font-size:13px;color:%s", brand, tint, brand),

		TOC:        css("margin:0 0 28px;padding:14px 16px 8px;background:%s;border-radius:6px;font-size:14px;line-height:1.5", tint),
		TOCHead:    css("margin:0 0 4px;font-size:15px;font-weight:bold;color:%s;letter-spacing:0.1em", brand),
		TOCSection: css("margin:12px 0 6px;font-size:13px;font-weight:bold;color:%s", brand),
		TOCItem:    "margin:0 0 8px",
		TOCNum:     css("color:%s", brand),
		TOCEN:      css("font-size:12px;color:%s", muted),

		Section:   "margin:36px 0 8px;text-align:center",
		SectionZH: css("display:inline-block;padding:4px 18px;background:%s;color:#ffffff;border-radius:16px;font-size:16px;font-weight:bold;letter-spacing:0.1em", brand),
		SectionEN: css("margin:6px 0 0;font-size:12px;color:%s;letter-spacing:0.15em;text-transform:uppercase", brand),

		ItemNo:  css("color:%s", brand),
		TitleZH: css("margin:30px 0 4px;padding-left:10px;border-left:4px solid %s;font-size:17px", brand),
		TitleEN: css("margin:18px 0 8px;font-size:15px;color:%s", brand),
		Para:    "margin:0 0 14px;text-align:justify",
		ParaEN:  "margin:0 0 14px",
		More:    css("font-size:12px;color:%s", brand),

		Refs:     css("margin:32px 0 0;padding:12px 14px;background:#f7f7f7;border-radius:6px;font-size:12px;line-height:1.6;color:%s", muted),
		RefsHead: css("margin:0 0 6px;font-weight:bold;color:%s", text),
		Ref:      "margin:0 0 6px;word-break:break-all",
		RefNum:   css("color:%s;margin-right:4px", brand),
		RefURL:   css("color:%s", brand),

		Closing:    css("margin:32px 0 0;padding-top:14px;border-top:1px solid %s;font-size:12px;line-height:1.7;color:%s", line, muted),
		Disclaimer: "margin:0 0 10px",
		Footer:     css("margin:24px 0 8px;text-align:center;font-size:13px;color:%s;letter-spacing:0.05em", brand),

		Strong: "font-weight:bold;color:" + brand,
		Code:   "font-family:Menlo,Consolas,monospace;font-size:90%;padding:1px 4px;background:#f3f4f6;border-radius:3px",
		Sup:    "font-size:11px;color:" + brand,
		Img:    "display:block;max-width:100%;height:auto;margin:8px auto;border-radius:4px",
	}
}
