package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // showqrcode answers JPEG (WeChat), PNG (sandbox) or GIF
	_ "image/jpeg"
	"image/png"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	qr "github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"github.com/lifang/wxbot/subscribers"
	"github.com/lifang/wxbot/wechat"
)

func newQRCodeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "qrcode",
		Short: "Create QR codes for campaigns and see whom they brought",
		Long: `A parametric QR code carries a scene: whoever follows the account by
scanning it is attributed to that scene (bot.scenes.<scene> may set a
welcome text and tags). Campaigns and their counts live in Redis, so these
commands need redis.addr (WXBOT_REDIS_ADDR) and, to create codes, the
account's wechat.app_id and wechat.app_secret.`,
	}
	cmd.AddCommand(newQRCodeCreateCmd(), newQRCodeListCmd(), newQRCodeStatsCmd())
	return cmd
}

func newQRCodeCreateCmd() *cobra.Command {
	var o qrCreateFlags
	cmd := &cobra.Command{
		Use:   "create SCENE (--permanent | --expire DURATION) [-o FILE.png]",
		Short: "Create a QR code for a scene, save its image and record the campaign",
		Long: `create asks WeChat for a QR code carrying SCENE (1 to 64 characters):
permanent (at most 100,000 per account) or temporary for --expire, at most
720h (30 days; "30d" and "2592000" seconds are accepted). It prints the ticket, the URL the code
encodes and the image URL, saves the image as a PNG (-o, default
qrcode-SCENE.png) and records the campaign for 'wxbot qrcode list' and
'wxbot qrcode stats'.`,
		Example: `  wxbot qrcode create expo2026 --expire 720h -o expo.png
  wxbot qrcode create business-card --permanent`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runQRCodeCreate(cmd, args[0], &o) },
	}
	cmd.Flags().BoolVar(&o.permanent, "permanent", false, "a permanent code (QR_LIMIT_STR_SCENE)")
	cmd.Flags().StringVar(&o.expire, "expire", "", "a temporary code living this long, at most 720h (e.g. 72h, 30d, or seconds: 2592000)")
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "where to save the PNG (default qrcode-SCENE.png)")
	return cmd
}

// qrCreateFlags are wxbot qrcode create's flags.
type qrCreateFlags struct {
	permanent bool
	expire    string
	out       string
}

// runQRCodeCreate is wxbot qrcode create SCENE: the code asked of WeChat and
// recorded, then printed and its image saved.
func runQRCodeCreate(cmd *cobra.Command, scene string, o *qrCreateFlags) error {
	life, err := o.check(scene)
	if err != nil {
		return err
	}
	out := o.out
	if out == "" {
		out = "qrcode-" + safeFileName(scene) + ".png"
	}
	env, err := openWeChatCmd(cmd, "wxbot qrcode create", needs{redis: campaignsInRedis, api: true})
	if err != nil {
		return err
	}
	defer env.close()
	svc := subscribers.New(subscribers.Options{Store: env.st, API: env.api, Bot: env.cfg.Bot, Log: env.log})
	c, img, err := svc.CreateCampaign(cmd.Context(), scene, o.permanent, life)
	if err != nil && c.Ticket == "" {
		return explainAPIError(fmt.Errorf("qrcode create %s: %w", scene, err))
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "scene      %s\n", c.Scene)
	if c.Permanent {
		fmt.Fprintln(w, "kind       permanent")
	} else {
		fmt.Fprintf(w, "kind       temporary, expires %s\n", zoneTime(env.cfg.Publish.Timezone, c.Expires))
	}
	fmt.Fprintf(w, "ticket     %s\nurl        %s\nimage url  %s\n", c.Ticket, c.URL, c.ImageURL)
	if err == nil {
		img, err = asPNG(img)
	}
	if err != nil {
		// WeChat gives the URL the code encodes so that one can draw
		// it oneself: the same code, when showqrcode fails.
		drawn, derr := drawQR(c.URL)
		if derr != nil {
			return fmt.Errorf("qrcode create %s: code created and recorded, but its image could not be fetched (%v) nor drawn: %w", scene, err, derr)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wxbot qrcode create: showqrcode failed (%v); the image is drawn from the code's url instead\n", err)
		img = drawn
	}
	if err := os.WriteFile(out, img, 0o644); err != nil {
		return fmt.Errorf("qrcode create %s: code created and recorded, but the image could not be saved: %w", scene, err)
	}
	fmt.Fprintf(w, "image      %s (%d bytes)\n", out, len(img))
	return nil
}

// check refuses a bad scene or life and returns the life of a temporary
// code (0 for a permanent one).
func (o *qrCreateFlags) check(scene string) (time.Duration, error) {
	if n := len([]rune(scene)); n < 1 || n > 64 {
		return 0, &exitError{code: 2, msg: fmt.Sprintf("wxbot qrcode create: the scene must be 1 to 64 characters (got %d)", n)}
	}
	if o.permanent == (o.expire != "") {
		return 0, &exitError{code: 2, msg: "wxbot qrcode create: give exactly one of --permanent or --expire DURATION (e.g. --expire 720h)"}
	}
	if o.permanent {
		return 0, nil
	}
	d, err := parseLife(o.expire)
	if err != nil {
		return 0, &exitError{code: 2, msg: "wxbot qrcode create: --expire " + err.Error()}
	}
	if d > wechat.MaxQRExpire {
		return 0, &exitError{code: 2, msg: fmt.Sprintf("wxbot qrcode create: --expire %s is longer than WeChat allows: a temporary QR code lives at most 720h (30 days); use --permanent for a code that does not expire", o.expire)}
	}
	return d, nil
}

func newQRCodeListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the recorded QR campaigns",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openWeChatCmd(cmd, "wxbot qrcode list", needs{redis: campaignsInRedis})
			if err != nil {
				return err
			}
			defer env.close()
			list, err := subscribers.New(subscribers.Options{Store: env.st, API: env.api, Bot: env.cfg.Bot, Log: env.log}).Campaigns(cmd.Context())
			if err != nil && list == nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SCENE\tKIND\tCREATED\tEXPIRES\tIMAGE URL")
			for _, c := range list {
				kind, exp := "permanent", "-"
				if !c.Permanent {
					kind, exp = "temporary", zoneTime(env.cfg.Publish.Timezone, c.Expires)
					if time.Now().After(c.Expires) {
						exp += " (expired)"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Scene, kind, zoneTime(env.cfg.Publish.Timezone, c.Created), exp, c.ImageURL)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "(no campaigns yet: wxbot qrcode create SCENE --expire 720h)")
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newQRCodeStatsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Per scene: subscribers gained (each once) and still following",
		Long: `stats counts, per scene, the openids that followed the account through
it (each once, however often WeChat retried the event or the person
scanned), how many of them still follow, and how many scanned it at all
(including people who already followed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openWeChatCmd(cmd, "wxbot qrcode stats", needs{redis: campaignsInRedis})
			if err != nil {
				return err
			}
			defer env.close()
			list, err := subscribers.New(subscribers.Options{Store: env.st, API: env.api, Bot: env.cfg.Bot, Log: env.log}).Stats(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "SCENE\tGAINED\tFOLLOWING\tSCANNED\t")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", s.Scene, s.Gained, s.Following, s.Scanned)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// drawQR draws the code for url (the "url" field of qrcode/create) as a
// 430-pixel PNG, WeChat's own size.
func drawQR(url string) ([]byte, error) {
	if url == "" {
		return nil, errors.New("WeChat returned no url for the code")
	}
	return qr.Encode(url, qr.Medium, 430)
}

// asPNG returns the image as PNG: WeChat's showqrcode answers JPEG.
func asPNG(img []byte) ([]byte, error) {
	if bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) {
		return img, nil
	}
	decoded, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, decoded); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// parseLife reads a Go duration, whole days as "30d", or plain seconds as
// WeChat's expire_seconds counts them ("2592000").
func parseLife(s string) (time.Duration, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > 1<<40 {
			return 0, fmt.Errorf("%q: want a duration such as 72h or 30d, or a number of seconds", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q: want a duration such as 72h or 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("%q: want a duration of at least 1s such as 72h or 30d", s)
	}
	return d, nil
}

var unsafeName = regexp.MustCompile(`[^\p{L}\p{N}._-]+`)

func safeFileName(s string) string { return unsafeName.ReplaceAllString(s, "_") }

// explainAPIError adds what the operator can do about a WeChat errcode
// (wechat.Explain, which the publisher's notices read too).
func explainAPIError(err error) error {
	code, ok := wechat.CodeOf(err)
	if !ok {
		return err
	}
	return fmt.Errorf("%w\n  → %s", err, wechat.Explain(code))
}

// zoneTime shows t in publish.timezone with the zone named, as the pages
// and the pipeline commands do (UTC when the zone cannot be loaded).
func zoneTime(zone string, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}
