package wechat_test

import (
	"strings"
	"testing"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// A preview to a WeChat ID goes out as towxname (no touser) and reaches
// the sandbox with the draft; a bad draft is WeChat's refusal.
func TestPreviewToWxName(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	media, err := e.api.AddDraft(ctx, []wechat.Article{article(thumb(t, e.api))})
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.api.PreviewToWxName(ctx, "lawyer_zhang", media)
	if err != nil || id == 0 {
		t.Fatalf("preview: msg_id %d, %v", id, err)
	}
	prev := e.sb.Snapshot().Previews
	if len(prev) != 1 || prev[0].ToUser != "lawyer_zhang" || prev[0].MediaID != media || prev[0].MsgID != id {
		t.Fatalf("previews %+v", prev)
	}
	var body string
	for _, c := range e.sb.Calls() {
		if c.Endpoint == "message/mass/preview" {
			body = c.Body
		}
	}
	if !strings.Contains(body, `"towxname":"lawyer_zhang"`) || strings.Contains(body, "touser") {
		t.Fatalf("preview body %s: want towxname and no touser", body)
	}
	if _, err := e.api.PreviewToWxName(ctx, "lawyer_zhang", "no-such-draft"); !wechat.IsCode(err, wechat.CodeInvalidMediaID) {
		t.Fatalf("unknown draft: %v, want errcode %d", err, wechat.CodeInvalidMediaID)
	}
	if _, err := e.api.PreviewToWxName(ctx, "", media); err == nil {
		t.Fatal("an empty WeChat ID was accepted")
	}
}
