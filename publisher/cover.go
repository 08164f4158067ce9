package publisher

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/lifang/wxbot/newsletter"
)

// The generated cover is WeChat's 2.35:1 lead-article cover. The Go fonts
// carry no CJK glyphs, so it names the series in English.
const (
	coverW = 900
	coverH = 383
)

// drawCover draws an issue's cover in the brand colour: the series' English
// title, the month, the firm-wide newsletter number, the sections, and the
// issue number large on the right. The JPEG stays well under WeChat's 64 KB thumb limit.
func drawCover(iss *newsletter.Issue, brand string) ([]byte, error) {
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	base, ok := parseColor(brand)
	if !ok {
		base = color.RGBA{0x0b, 0x4f, 0x8a, 0xff}
	}
	img := image.NewRGBA(image.Rect(0, 0, coverW, coverH))
	// A gentle left-to-right lightening of the brand colour.
	for x := 0; x < coverW; x++ {
		c := mixColor(base, color.RGBA{0xff, 0xff, 0xff, 0xff}, 0.12*float64(x)/coverW)
		draw.Draw(img, image.Rect(x, 0, x+1, coverH), image.NewUniform(c), image.Point{}, draw.Src)
	}
	panelX := 640
	draw.Draw(img, image.Rect(panelX, 0, coverW, coverH), image.NewUniform(mixColor(base, color.RGBA{0, 0, 0, 0xff}, 0.25)), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(48, 62, 120, 66), image.NewUniform(mixColor(base, color.RGBA{0xff, 0xff, 0xff, 0xff}, 0.6)), image.Point{}, draw.Src)

	white := color.RGBA{0xff, 0xff, 0xff, 0xff}
	soft := mixColor(white, base, 0.3)

	kicker := "NEWSLETTER"
	if iss.Month != "" {
		kicker += "  ·  " + strings.ReplaceAll(iss.Month, "-", ".")
	}
	if iss.NewsletterNumber > 0 {
		kicker += "  ·  No." + strconv.Itoa(iss.NewsletterNumber)
	}
	if err := text(img, regular, 17, 48, 48, kicker, soft); err != nil {
		return nil, err
	}

	title := latin(regular, iss.TitleEN)
	if title == "" {
		title = "Weekly Review"
	}
	size, lines := fitLines(bold, title, 560, 3, 40, 24)
	y := 66 + int(size*1.55)
	for _, l := range lines {
		if err := text(img, bold, size, 48, y, l, white); err != nil {
			return nil, err
		}
		y += int(size * 1.25)
	}
	if line := sectionLine(regular, iss, 560); line != "" {
		if err := text(img, regular, 18, 48, coverH-40, line, soft); err != nil {
			return nil, err
		}
	}

	// "No." over the number, centred in the panel.
	num := strconv.Itoa(iss.Number)
	numSize := 150.0
	if len(num) > 2 {
		numSize = 300 / float64(len(num))
	}
	cx := panelX + (coverW-panelX)/2
	if err := textCentred(img, regular, 30, cx, 120, "No.", soft); err != nil {
		return nil, err
	}
	if err := textCentred(img, bold, numSize, cx, 120+int(numSize*0.95), num, white); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sectionLine names the issue's sections in English, as many as fit in w.
func sectionLine(f *sfnt.Font, iss *newsletter.Issue, w int) string {
	fc, err := face(f, 18)
	if err != nil {
		return ""
	}
	defer fc.Close()
	line := ""
	for _, s := range iss.Sections {
		name := latin(f, s.TitleEN)
		if name == "" {
			continue
		}
		try := name
		if line != "" {
			try = line + "  ·  " + name
		}
		if width(fc, try) > w {
			break
		}
		line = try
	}
	return line
}

// latin keeps the characters the font can draw, so a title with Chinese
// in it loses those characters rather than showing boxes.
func latin(f *sfnt.Font, s string) string {
	var b sfnt.Buffer
	var out strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) {
			out.WriteRune(' ')
			continue
		}
		if idx, err := f.GlyphIndex(&b, r); err == nil && idx != 0 {
			out.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(out.String()), " ")
}

func face(f *sfnt.Font, size float64) (font.Face, error) {
	return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}

func width(fc font.Face, s string) int { return font.MeasureString(fc, s).Round() }

// fitLines wraps s into at most maxLines lines of width w, shrinking the
// font from size down to minSize until it fits (cutting the last line at
// minSize).
func fitLines(f *sfnt.Font, s string, w, maxLines int, size, minSize float64) (float64, []string) {
	for ; size >= minSize; size -= 2 {
		fc, err := face(f, size)
		if err != nil {
			break
		}
		lines := wrap(fc, s, w)
		_ = fc.Close()
		if len(lines) <= maxLines {
			return size, lines
		}
	}
	fc, err := face(f, minSize)
	if err != nil {
		return minSize, []string{s}
	}
	defer fc.Close()
	lines := wrap(fc, s, w)
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] += "…"
	}
	return minSize, lines
}

func wrap(fc font.Face, s string, w int) []string {
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		try := word
		if cur != "" {
			try = cur + " " + word
		}
		if cur != "" && width(fc, try) > w {
			lines = append(lines, cur)
			cur = word
			continue
		}
		cur = try
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

func text(img draw.Image, f *sfnt.Font, size float64, x, y int, s string, c color.Color) error {
	fc, err := face(f, size)
	if err != nil {
		return err
	}
	defer fc.Close()
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: fc, Dot: fixed.P(x, y)}
	d.DrawString(s)
	return nil
}

func textCentred(img draw.Image, f *sfnt.Font, size float64, cx, y int, s string, c color.Color) error {
	fc, err := face(f, size)
	if err != nil {
		return err
	}
	w := width(fc, s)
	_ = fc.Close()
	return text(img, f, size, cx-w/2, y, s, c)
}

func parseColor(hex string) (color.RGBA, bool) {
	if len(hex) != 7 || hex[0] != '#' {
		return color.RGBA{}, false
	}
	v, err := strconv.ParseUint(hex[1:], 16, 32)
	if err != nil {
		return color.RGBA{}, false
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}, true
}

// mixColor moves a towards b by w (0–1).
func mixColor(a, b color.RGBA, w float64) color.RGBA {
	m := func(x, y uint8) uint8 { return uint8(float64(x)*(1-w) + float64(y)*w + 0.5) }
	return color.RGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), 0xff}
}
