package bot

import (
	"context"
	"testing"
	"time"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/internal/redistest"
	"github.com/lifang/wxbot/notify"
	"github.com/lifang/wxbot/store"
)

// An admin WeChat refused customer-service messages to (45015: outside the
// 48 h window) writes to the account: the notifier hears it and the admin
// gets notices again; a subscriber's message changes nothing, and both are
// answered as usual.
func TestAdminWritingReopensTheWindow(t *testing.T) {
	const admin = "oAdmin000000000000000000001"
	rdb := redistest.Start(t).Client()
	cfg := testConfig(t, nil)
	st := &store.Store{UniversalClient: rdb, Keys: store.Keys{Prefix: cfg.Redis.Prefix}}
	notes := notify.New(notify.Options{Store: st, Channels: []notify.Channel{&notify.Admins{Store: st, OpenID: []string{admin}}}})
	defer notes.Close()
	h := newHarness(t, harnessOpt{rdb: rdb, contacts: notes})
	ctx := context.Background()
	closedKey := st.Keys.NotifyClosed()
	for _, who := range []string{admin, testOpenID} {
		if err := rdb.HSet(ctx, closedKey, who, `{"code":45015}`).Err(); err != nil {
			t.Fatal(err)
		}
	}

	if r := h.ask(testOpenID, "最新", wechatsim.Safe); r.MsgType != "text" {
		t.Fatalf("subscriber's question: %+v", r)
	}
	if r := h.ask(admin, "最新", wechatsim.Safe); r.MsgType != "text" {
		t.Fatalf("admin's question: %+v", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rdb.HExists(ctx, closedKey, admin).Val() {
		if time.Now().After(deadline) {
			t.Fatal("the admin wrote, but the notifier still skips them")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !rdb.HExists(ctx, closedKey, testOpenID).Val() {
		t.Error("a subscriber who is no admin changed the notifier's record")
	}
	if notes.IsContact(testOpenID) || !notes.IsContact(admin) {
		t.Error("IsContact: want true only for publish.admins")
	}
}
