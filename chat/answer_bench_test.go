package chat

import "testing"

// Answer is on every message's path, the one-round-trip one included:
// what it allocates per message is held where it is. The figures are those
// of the chat's own answer (the webhook adds its encoding); the benchmark
// shows them too:
//
//	go test ./chat -run '^$' -bench Answer -benchmem
var answerAllocs = []struct {
	name string
	msg  Message
	st   State
	max  float64
}{
	{"GDPR", text("GDPR"), State{}, 5},
	{"GDPR in English", text("GDPR"), State{Lang: LangEN}, 5},
	{"最新", text("最新"), State{}, 14},
	{"最新 in both", text("最新"), State{Lang: LangBoth}, 21},
}

func TestAnswerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	c := newChat(t, newShelf(fixture(), nil), nil, "")
	for _, tc := range answerAllocs {
		c.Answer(tc.msg, tc.st) // the index and the answer cache are warm
		n := testing.AllocsPerRun(100, func() { c.Answer(tc.msg, tc.st) })
		t.Logf("%s: %v allocations per answer", tc.name, n)
		if n > tc.max {
			t.Errorf("%s: %v allocations per answer, want at most %v", tc.name, n, tc.max)
		}
	}
}

func BenchmarkAnswer(b *testing.B) {
	c := newChat(b, newShelf(fixture(), nil), nil, "")
	for _, tc := range answerAllocs {
		b.Run(tc.name, func(b *testing.B) {
			c.Answer(tc.msg, tc.st)
			b.ReportAllocs()
			for b.Loop() {
				c.Answer(tc.msg, tc.st)
			}
		})
	}
}
