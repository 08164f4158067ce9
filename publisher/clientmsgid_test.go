package publisher

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

// The clientmsgid fits the 32 bytes WeChat is known to take, for any issue
// number, and stays a function of number and content only.
func TestClientMsgIDFitsWeChat(t *testing.T) {
	h1 := contentHash([]byte("No.54 first version"))
	h2 := contentHash([]byte("No.54 edited"))
	for _, n := range []int{1, 54, 1234567, math.MaxInt64, math.MinInt64} {
		id := clientMsgID(n, h1)
		if len(id) > wechat.MaxClientMsgID {
			t.Errorf("No.%d: clientmsgid %q is %d bytes, over %d", n, id, len(id), wechat.MaxClientMsgID)
		}
		if again := clientMsgID(n, h1); again != id {
			t.Errorf("No.%d: clientmsgid not stable: %q then %q", n, id, again)
		}
		if edited := clientMsgID(n, h2); edited == id {
			t.Errorf("No.%d: an edit keeps clientmsgid %q", n, id)
		}
	}
	if a, b := clientMsgID(54, h1), clientMsgID(55, h1); a == b || a != "wxbot54-"+h1[:24] {
		t.Errorf("No.54 %q, No.55 %q", a, b)
	}
}

// Records written before ids fit 32 bytes: a scheduled one (never sent
// with its id) gets a short id when claimed, so WeChat does not refuse it
// with 45067; one already sending keeps its id, so a repeat is still
// recognised by WeChat (45065) rather than sent twice.
func TestLegacyClientMsgID(t *testing.T) {
	legacy := func(hash string) string { return "wxbot-no54-" + hash[:32] }

	t.Run("scheduled record gets a short id", func(t *testing.T) {
		e := newEnv(t)
		cli := e.publisher("cli")
		ctx := context.Background()
		path := e.write("no54.md", example(t, "newsletter-no54.md"))
		if _, err := cli.Publish(ctx, e.request(path, GoalDraft)); err != nil {
			t.Fatal(err)
		}
		old := ""
		if _, err := cli.update(ctx, guard{}, 54, func(x *Record) (string, []op, error) {
			x.ClientMsgID = legacy(x.ContentHash)
			old = x.ClientMsgID
			return "written by an older wxbot", nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		res, err := cli.Publish(ctx, e.request(path, GoalNow))
		if err != nil {
			t.Fatalf("send of a record with a %d-byte clientmsgid: %v", len(old), err)
		}
		sends := e.sb.MassSends()
		if len(sends) != 1 || res.Record.State != StateSent {
			t.Fatalf("state %s, %d sends (%s)", res.Record.State, len(sends), res.Record.Explanation)
		}
		if got := sends[0].ClientMsgID; got != clientMsgID(54, res.Record.ContentHash) || got != res.Record.ClientMsgID {
			t.Fatalf("sent clientmsgid %q, record %q, want %q", got, res.Record.ClientMsgID, clientMsgID(54, res.Record.ContentHash))
		}
		if !strings.Contains(historyText(res.Record), old+" (43 bytes) replaced by "+res.Record.ClientMsgID) {
			t.Errorf("history does not say the id changed:\n%s", historyText(res.Record))
		}
	})

	t.Run("sending record keeps its id", func(t *testing.T) {
		e := newEnv(t, func(o *envOpts) {
			o.maxRetries = 0
			o.sandbox.MaxClientMsgID = 64 // WeChat's documented limit, for the record already in flight
			o.sandbox.Faults = []sandbox.Fault{{Kind: sandbox.FaultFail, Endpoint: "message/mass/sendall", Code: -1}}
		})
		cli := e.publisher("cli")
		ctx := context.Background()
		res, err := cli.Publish(ctx, e.request(e.write("no54.md", example(t, "newsletter-no54.md")), GoalNow))
		if err != nil || res.Record.State != StateSending {
			t.Fatalf("first attempt: %v, state %s", err, res.Record.State)
		}
		old := legacy(res.Record.ContentHash)
		if _, err := cli.update(ctx, guard{}, 54, func(x *Record) (string, []op, error) {
			x.ClientMsgID = old
			return "written by an older wxbot", nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		e.serve(e.publisher("serve"))
		waitFor(t, 5*time.Second, "the resumed send", func() bool { return e.record(cli, 54).State.rank() >= StateSent.rank() })
		if sends := e.sb.MassSends(); len(sends) != 1 || sends[0].ClientMsgID != old {
			t.Fatalf("sends %+v, want one with the record's id %q", sends, old)
		}
		if rec := e.record(cli, 54); rec.ClientMsgID != old {
			t.Fatalf("record's clientmsgid became %q", rec.ClientMsgID)
		}
	})
}

func historyText(r *Record) string {
	var b strings.Builder
	for _, h := range r.History {
		b.WriteString(string(h.State) + " " + h.Note + "\n")
	}
	return b.String()
}
