package wechat_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// Every limit the sandbox enforces, through the adapter where it can send
// the request, as raw HTTP where the adapter never would. Each case names
// WeChat's errcode; 0 is the accepted edge.
func TestSandboxValidation(t *testing.T) {
	e := setup(t, sandbox.Options{Followers: []string{"oFollower1", "oFollower2"}, MaxPermanentQR: 2})
	ctx := ctxT(t)
	api := e.api
	th := thumb(t, api)
	imageURL, err := api.UploadImage(ctx, "figure.png", pngImage(t, 16, 16))
	if err != nil {
		t.Fatal(err)
	}
	imageMat, err := api.AddMaterial(ctx, wechat.MaterialImage, "big.png", pngImage(t, 64, 64))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(a *wechat.Article)) func() error {
		return func() error {
			a := article(th)
			f(&a)
			_, err := api.AddDraft(ctx, []wechat.Article{a})
			return err
		}
	}
	many := func(n int) func() error {
		return func() error {
			arts := make([]wechat.Article, n)
			for i := range arts {
				arts[i] = article(th)
			}
			_, err := api.AddDraft(ctx, arts)
			return err
		}
	}
	rawCode := func(endpoint string, body any) func() error {
		return func() error {
			if code := raw(t, e, endpoint, body); code != 0 {
				return &wechat.APIError{Endpoint: endpoint, Code: code}
			}
			return nil
		}
	}
	tagNamed := func(name string) func() error {
		return func() error { _, err := api.CreateTag(ctx, name); return err }
	}
	qr := func(scene string, permanent bool, expire time.Duration) func() error {
		return func() error { _, err := api.CreateQRCode(ctx, scene, permanent, expire); return err }
	}
	menu := func(b ...wechat.MenuButton) func() error {
		return func() error { return api.CreateMenu(ctx, b) }
	}
	click := func(name string) wechat.MenuButton {
		return wechat.MenuButton{Type: "click", Name: name, Key: "latest"}
	}
	openids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("oFollower%d", i)
		}
		return out
	}

	cases := []struct {
		name string
		call func() error
		code int
	}{
		// draft/add
		{"title of 32 CJK characters", edit(func(a *wechat.Article) { a.Title = strings.Repeat("周", 32) }), 0},
		{"title of 33 characters", edit(func(a *wechat.Article) { a.Title = strings.Repeat("周", 33) }), 45003},
		{"empty title", edit(func(a *wechat.Article) { a.Title = " " }), 44003},
		{"author of 16 characters", edit(func(a *wechat.Article) { a.Author = strings.Repeat("律", 16) }), 0},
		{"author of 17 characters", edit(func(a *wechat.Article) { a.Author = strings.Repeat("律", 17) }), 45110},
		{"digest of 129 characters", edit(func(a *wechat.Article) { a.Digest = strings.Repeat("要", 129) }), 45004},
		{"content of 19,999 characters", edit(func(a *wechat.Article) { a.Content = "<p>" + strings.Repeat("字", 19999) + "</p>" }), 0},
		{"content of 20,000 characters", edit(func(a *wechat.Article) { a.Content = "<p>" + strings.Repeat("字", 20000) + "</p>" }), 45002},
		{"content of 1 MB of markup", edit(func(a *wechat.Article) {
			a.Content = strings.Repeat(`<span style="color:#333333;font-size:15px;line-height:1.75"></span>`, 1<<20/60) + "<p>x</p>"
		}), 45002},
		{"empty content", edit(func(a *wechat.Article) { a.Content = "" }), 44003},
		{"source url over 1 KB", edit(func(a *wechat.Article) { a.ContentSourceURL = "https://example.com/" + strings.Repeat("a", 1010) }), 45005},
		{"no thumb", edit(func(a *wechat.Article) { a.ThumbMediaID = "" }), 40007},
		{"thumb not a permanent material", edit(func(a *wechat.Article) { a.ThumbMediaID = "SBX_MAT_unknown" }), 40007},
		{"thumb is an image material", edit(func(a *wechat.Article) { a.ThumbMediaID = imageMat.MediaID }), 0},
		{"comment flag not 0/1", edit(func(a *wechat.Article) { a.NeedOpenComment = 2 }), 40035},
		{"script in content", edit(func(a *wechat.Article) { a.Content = "<p>x</p><script>alert(1)</script>" }), 45166},
		{"style element", edit(func(a *wechat.Article) { a.Content = "<style>p{}</style><p>x</p>" }), 45166},
		{"external link", edit(func(a *wechat.Article) { a.Content = `<p><a href="https://example.com">x</a></p>` }), 45166},
		{"link to a WeChat article", edit(func(a *wechat.Article) { a.Content = `<p><a href="https://mp.weixin.qq.com/s/abc">x</a></p>` }), 0},
		{"image from uploadimg", edit(func(a *wechat.Article) { a.Content = `<p><img src="` + imageURL + `"></p>` }), 0},
		{"foreign image", edit(func(a *wechat.Article) { a.Content = `<p><img src="https://example.com/a.png"></p>` }), 45166},
		{"8 articles", many(8), 0},
		{"9 articles", many(9), 45008},
		{"no articles", rawCode("draft/add", map[string]any{"articles": []any{}}), 44003},
		{"malformed JSON", rawCode("draft/add", "not an object"), 47001},

		// uploads
		{"uploadimg png", func() error { _, err := api.UploadImage(ctx, "a.png", pngImage(t, 4, 4)); return err }, 0},
		{"uploadimg gif", func() error { _, err := api.UploadImage(ctx, "a.gif", gifImage(t)); return err }, 40005},
		{"uploadimg png named .jpg", func() error { _, err := api.UploadImage(ctx, "a.jpg", pngImage(t, 4, 4)); return err }, 40005},
		{"uploadimg not an image", func() error { _, err := api.UploadImage(ctx, "a.png", []byte("hello, not a png")); return err }, 40005},
		{"uploadimg of 1 MB", func() error {
			_, err := api.UploadImage(ctx, "a.png", append(pngImage(t, 4, 4), make([]byte, 1<<20)...))
			return err
		}, 40009},
		{"thumb over 64 KB", func() error {
			_, err := api.AddMaterial(ctx, wechat.MaterialThumb, "t.jpg", append(jpegImage(t, 8, 8, 90), make([]byte, 64<<10)...))
			return err
		}, 40012},
		{"thumb that is a png", func() error {
			_, err := api.AddMaterial(ctx, wechat.MaterialThumb, "t.png", pngImage(t, 8, 8))
			return err
		}, 40005},
		{"image material gif", func() error { _, err := api.AddMaterial(ctx, wechat.MaterialImage, "i.gif", gifImage(t)); return err }, 0},
		{"material of type voice", func() error { _, err := api.AddMaterial(ctx, "voice", "v.mp3", []byte("ID3")); return err }, 40004},

		// message/mass/sendall (quota, dedupe and tags in their own test)
		// WeChat documents 64 bytes; developers get 45067 at 34 and 36.
		{"clientmsgid of 33 bytes", func() error {
			_, err := api.SendAll(ctx, wechat.MassSend{MediaID: "x", ToAll: true, ClientMsgID: strings.Repeat("a", wechat.MaxClientMsgID+1)})
			return err
		}, 45067},
		{"clientmsgid of 32 bytes reaches the draft check", func() error {
			_, err := api.SendAll(ctx, wechat.MassSend{MediaID: "SBX_DRAFT_none", ToAll: true, ClientMsgID: strings.Repeat("b", wechat.MaxClientMsgID)})
			return err
		}, 40007},
		{"mass send of an unknown draft", func() error {
			_, err := api.SendAll(ctx, wechat.MassSend{MediaID: "SBX_DRAFT_none", ToAll: true, ClientMsgID: "c1"})
			return err
		}, 40007},
		{"mass send to an unknown tag", func() error {
			d, err := api.AddDraft(ctx, []wechat.Article{article(th)})
			if err != nil {
				return err
			}
			_, err = api.SendAll(ctx, wechat.MassSend{MediaID: d, TagID: 999, ClientMsgID: "c2"})
			return err
		}, 45159},
		{"mass send of text", rawCode("message/mass/sendall", map[string]any{"filter": map[string]any{"is_to_all": true}, "msgtype": "text", "text": map[string]any{"content": "hi"}}), 40008},

		// preview, customer service, user info
		{"preview without touser", rawCode("message/mass/preview", map[string]any{"msgtype": "text", "text": map[string]any{"content": "hi"}}), 40003},
		{"preview to a stranger", rawCode("message/mass/preview", map[string]any{"touser": "oStranger", "msgtype": "text", "text": map[string]any{"content": "hi"}}), 43004},
		{"customer text to a follower", func() error { return api.SendText(ctx, "oFollower1", "hello") }, 0},
		{"customer text to a stranger", func() error { return api.SendText(ctx, "oStranger", "hello") }, 43004},
		{"customer text over 2048 bytes", func() error { return api.SendText(ctx, "oFollower1", strings.Repeat("长", 700)) }, 45002},
		{"customer news card", func() error {
			return api.SendNews(ctx, "oFollower1", []wechat.NewsArticle{{Title: "No.53", URL: "https://mp.weixin.qq.com/s/x"}})
		}, 0},
		{"customer news of 2 cards", rawCode("message/custom/send", map[string]any{"touser": "oFollower1", "msgtype": "news",
			"news": map[string]any{"articles": []map[string]string{{"title": "a", "url": "https://a"}, {"title": "b", "url": "https://b"}}}}), 45008},
		{"customer news of 2 cards through SendNews", func() error {
			return api.SendNews(ctx, "oFollower1", []wechat.NewsArticle{{Title: "a", URL: "https://a"}, {Title: "b", URL: "https://b"}})
		}, 0},
		{"user info of a stranger: errcode 0, subscribe 0", func() error {
			u, err := api.UserInfo(ctx, "oStranger")
			if err == nil && (u.Subscribed || u.OpenID != "oStranger") {
				return fmt.Errorf("stranger's info %+v, want subscribe 0 and the openid", u)
			}
			return err
		}, 0},
		{"user info without an openid", func() error { _, err := api.UserInfo(ctx, ""); return err }, 40003},
		{"user info of a follower", func() error { _, err := api.UserInfo(ctx, "oFollower2"); return err }, 0},

		// qrcode/create
		{"temporary code for 30 days", qr("expo2026", false, 30*24*time.Hour), 0},
		{"temporary code for 30 days and a second", qr("expo2026", false, 30*24*time.Hour+time.Second), 40035},
		{"scene of 64 characters", qr(strings.Repeat("s", 64), false, time.Hour), 0},
		{"scene of 65 characters", qr(strings.Repeat("s", 65), false, time.Hour), 40035},
		{"empty scene", rawCode("qrcode/create", map[string]any{"action_name": "QR_LIMIT_STR_SCENE", "action_info": map[string]any{"scene": map[string]any{"scene_str": ""}}}), 40035},
		{"unknown action", rawCode("qrcode/create", map[string]any{"action_name": "QR_FOREVER", "action_info": map[string]any{"scene": map[string]any{"scene_str": "a"}}}), 40035},
		{"permanent code 1", qr("card", true, 0), 0},
		{"permanent code 2", qr("flyer", true, 0), 0},
		{"permanent code over the account's limit", qr("poster", true, 0), 45009},

		// tags
		{"tag name of 30 bytes", tagNamed(strings.Repeat("t", 30)), 0},
		{"tag name of 31 bytes", tagNamed(strings.Repeat("t", 31)), 45158},
		{"tag name of 11 CJK characters (33 bytes)", tagNamed(strings.Repeat("标", 11)), 45158},
		{"existing tag name, raw", rawCode("tags/create", map[string]any{"tag": map[string]any{"name": strings.Repeat("t", 30)}}), 45157},
		{"batchtagging of 51 openids", rawCode("tags/members/batchtagging", map[string]any{"tagid": 100, "openid_list": openids(51)}), 40032},
		{"batchtagging of no openids", rawCode("tags/members/batchtagging", map[string]any{"tagid": 100, "openid_list": []string{}}), 40032},
		{"batchtagging an unknown tag", func() error { return api.TagUsers(ctx, 4242, []string{"oFollower1"}) }, 45159},
		{"batchtagging a stranger", func() error { return api.TagUsers(ctx, 100, []string{"oStranger"}) }, 40003},
		{"batchuntagging of 51 openids", rawCode("tags/members/batchuntagging", map[string]any{"tagid": 100, "openid_list": openids(51)}), 40032},

		// menu
		{"menu get before any menu", func() error { _, err := api.Menu(ctx); return err }, 46003},
		{"menu of 4 buttons", menu(click("a"), click("b"), click("c"), click("d")), 40016},
		{"menu without buttons", rawCode("menu/create", map[string]any{"button": []any{}}), 40016},
		{"sub-menu of 6", menu(wechat.MenuButton{Name: "更多", SubButtons: []wechat.MenuButton{click("1"), click("2"), click("3"), click("4"), click("5"), click("6")}}), 40023},
		{"button name of 17 bytes", menu(click(strings.Repeat("n", 17))), 40018},
		{"sub-button name of 61 bytes", menu(wechat.MenuButton{Name: "更多", SubButtons: []wechat.MenuButton{click(strings.Repeat("n", 61))}}), 40025},
		{"click without key", menu(wechat.MenuButton{Type: "click", Name: "最新"}), 40019},
		{"view to ftp", menu(wechat.MenuButton{Type: "view", Name: "官网", URL: "ftp://example.com"}), 40055},
		{"unknown button type", menu(wechat.MenuButton{Type: "dance", Name: "x", Key: "k"}), 40017},
		{"a valid menu", menu(click("最新一期"), wechat.MenuButton{Name: "更多", SubButtons: []wechat.MenuButton{click("往期"), {Type: "view", Name: "官网", URL: "https://example.com"}}}), 0},

		// access tokens
		{"no access_token", func() error { return tokenCall(t, e, "") }, 41001},
		{"unknown access_token", func() error { return tokenCall(t, e, "forged-token") }, 40001},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !wechat.IsCode(err, tc.code) {
				t.Fatalf("err = %v, want errcode %d", err, tc.code)
			}
		})
	}
}

// tokenCall calls tags/get with a given access_token, bypassing the adapter.
func tokenCall(t *testing.T, e *env, token string) error {
	t.Helper()
	resp, err := httpGetJSON(e.sb.URL + "/cgi-bin/tags/get?access_token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	if resp != 0 {
		return &wechat.APIError{Endpoint: "tags/get", Code: resp}
	}
	return nil
}

// The daily quota, the 24 h clientmsgid window and tag targets of mass sends.
func TestSandboxMassSendRules(t *testing.T) {
	e := setup(t, sandbox.Options{Followers: []string{"o1", "o2", "o3"}})
	ctx := ctxT(t)
	th := thumb(t, e.api)
	newDraft := func() string {
		d, err := e.api.AddDraft(ctx, []wechat.Article{article(th)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tag, err := e.api.CreateTag(ctx, "topic:国内要闻")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.api.TagUsers(ctx, tag.ID, []string{"o1", "o2"}); err != nil {
		t.Fatal(err)
	}
	first := newDraft()
	res, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: first, TagID: tag.ID, ClientMsgID: "no53"})
	if err != nil || res.Duplicate || res.MsgID == 0 {
		t.Fatalf("first send: %+v, %v", res, err)
	}
	if got := e.sb.MassSends()[0]; got.Recipients != 2 || got.TagID != tag.ID || got.ToAll {
		t.Fatalf("send recorded as %+v, want 2 recipients of tag %d", got, tag.ID)
	}
	// The draft left the drafts box with the send.
	if _, err := e.api.GetDraft(ctx, first); !wechat.IsCode(err, 40007) {
		t.Fatalf("draft after the send: %v, want 40007", err)
	}
	// A subscription account has one mass send a day.
	_, err = e.api.SendAll(ctx, wechat.MassSend{MediaID: newDraft(), ToAll: true, ClientMsgID: "no54"})
	if !wechat.IsCode(err, wechat.CodeNoMassQuota) {
		t.Fatalf("second send the same day: %v, want 45028", err)
	}
	// Retrying the refused id at once is too fast.
	_, err = e.api.SendAll(ctx, wechat.MassSend{MediaID: newDraft(), ToAll: true, ClientMsgID: "no54"})
	if !wechat.IsCode(err, wechat.CodeClientMsgIDFast) {
		t.Fatalf("fast retry of a refused clientmsgid: %v, want 45066", err)
	}
	// The next day (Asia/Shanghai) the quota is back; no54 goes out.
	e.sb.Advance(25 * time.Hour)
	d := newDraft()
	res54, err := e.api.SendAll(ctx, wechat.MassSend{MediaID: d, ToAll: true, ClientMsgID: "no54"})
	if err != nil || res54.Duplicate {
		t.Fatalf("send next day: %+v, %v", res54, err)
	}
	// no53 is more than 24 h old: its id is free again (and its draft gone).
	_, err = e.api.SendAll(ctx, wechat.MassSend{MediaID: first, ToAll: true, ClientMsgID: "no53"})
	if !wechat.IsCode(err, 40007) {
		t.Fatalf("no53 after 25 h: %v, want 40007 (dedupe window over, draft gone)", err)
	}
	if n := len(e.sb.MassSends()); n != 2 {
		t.Fatalf("%d sends, want 2", n)
	}
	st, err := e.api.MassStatus(ctx, res54.MsgID)
	if err != nil || (st != "SENDING" && st != "SEND_SUCCESS") {
		t.Fatalf("mass status %q, %v", st, err)
	}
}

// A user carries at most 20 tags.
func TestSandboxTagsPerUser(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	for i := 0; i < 21; i++ {
		tag, err := e.api.CreateTag(ctx, fmt.Sprintf("t%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		err = e.api.TagUsers(ctx, tag.ID, []string{"oBusy"})
		if i < 20 && err != nil {
			t.Fatalf("tag %d: %v", i, err)
		}
		if i == 20 && !wechat.IsCode(err, 45059) {
			t.Fatalf("21st tag on one user: %v, want 45059", err)
		}
	}
	// And the account at most 100 tags; CreateTag of an existing name
	// answers the existing tag.
	for i := 21; i < 100; i++ {
		if _, err := e.api.CreateTag(ctx, fmt.Sprintf("t%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.api.CreateTag(ctx, "one too many"); !wechat.IsCode(err, 45056) {
		t.Fatalf("101st tag: %v, want 45056", err)
	}
	again, err := e.api.CreateTag(ctx, "t05")
	if err != nil || again.Name != "t05" || again.ID == 0 {
		t.Fatalf("CreateTag of an existing name: %+v, %v", again, err)
	}
}
