package bot

import (
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// Routing a question is on the one-round-trip path of most messages: what
// it allocates (the chat's answer and the webhook's plan, before encoding)
// is held where it is, for a subscriber with no stored language and for one
// whose language this replica knows (a hint): the language costs nothing.
func TestRouteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	h := newHarness(t, harnessOpt{})
	for _, tc := range []struct {
		ask, lang string
		max       float64
	}{
		{"GDPR", "", 8},
		{"GDPR", langEN, 8},
		{"最新", "", 15},
		{"最新", langZH, 15},
	} {
		m := &message.MixMessage{}
		m.FromUserName, m.ToUserName, m.MsgType, m.Content, m.MsgID = testOpenID, testAccount, message.MsgTypeText, tc.ask, 1
		in := &inbound{msg: m}
		if _, ok := h.bot.pureRoute(in, tc.lang); !ok {
			t.Fatalf("%s: not a question", tc.ask)
		}
		n := testing.AllocsPerRun(100, func() { h.bot.pureRoute(in, tc.lang) })
		t.Logf("%s (language %q): %v allocations", tc.ask, tc.lang, n)
		if n > tc.max {
			t.Errorf("%s (language %q): %v allocations per routed message, want at most %v", tc.ask, tc.lang, n, tc.max)
		}
	}
}
