package bot

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/chat"
	"github.com/lifang/wxbot/internal/redistest"
)

// A realistic openid (28 characters) and the largest MsgId: the longest
// dedupe key a message gets with the default prefix.
const (
	memOpenID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
	memMsgID  = int64(9223372036854775807)
)

// Redis holds a deduped message in at most 128 bytes (MEMORY USAGE of its
// key), whatever the reply: the key names the body, held once for everyone.
func TestDedupeMemoryPerMessage(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	h := newHarness(t, harnessOpt{rdb: srv.Client()})
	rdb := h.rdb

	usage := func(key string) int64 {
		t.Helper()
		n, err := rdb.MemoryUsage(ctx, key).Result()
		if err != nil {
			t.Fatalf("MEMORY USAGE %s: %v", key, err)
		}
		return n
	}
	for i, text := range []string{"最新", "GDPR", "53", "English", "帮助"} {
		id := memMsgID - int64(i)
		r, err := h.send(wechatsim.Text(memOpenID, testAccount, text, id, time.Now().Unix()), wechatsim.Safe)
		if err != nil || r.Success {
			t.Fatalf("%s: %v %+v", text, err, r)
		}
		key := h.keys.Dedupe(memOpenID, "m"+strconv.FormatInt(id, 36))
		n := usage(key)
		t.Logf("%s: reply %d bytes, dedupe key %d bytes (%q), MEMORY USAGE %d", text, len(r.Plain), len(key), key, n)
		if n > 128 {
			t.Errorf("%s: a deduped message holds %d bytes in Redis, want ≤ 128", text, n)
		}
	}
	// Fifty subscribers asking for the latest issue share one body.
	for i := 0; i < 50; i++ {
		h.ask("oShare"+strconv.Itoa(i), "最新", wechatsim.Safe)
	}
	bodies, err := rdb.Keys(ctx, h.keys.Prefix+"{r:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	// 最新 in two languages (English chosen above), GDPR, 53, 帮助, English's answer.
	if len(bodies) > 6 {
		t.Errorf("%d reply bodies kept for 6 distinct answers: %v", len(bodies), bodies)
	}
	for _, k := range bodies {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl < h.bot.cfg.DedupeTTL {
			t.Errorf("body %s expires in %v, before the dedupe keys naming it (%v)", k, ttl, h.bot.cfg.DedupeTTL)
		}
	}
}

// A retry gets the first answer byte for byte though a new issue was
// published in between — on another replica too, which has never seen the
// body and reads it from Redis — while a new question gets the new issue.
func TestRetryAfterArchiveChanged(t *testing.T) {
	srv := redistest.Start(t)
	a := newHarness(t, harnessOpt{rdb: srv.Client()})
	for _, text := range []string{"最新", "GDPR"} {
		t.Run(text, func(t *testing.T) {
			p, err := a.acct.Seal(wechatsim.Text(testOpenID, testAccount, text, nextMsgID(), time.Now().Unix()), wechatsim.Safe, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			first, err := a.acct.Send(http.DefaultClient, a.url(), p)
			if err != nil {
				t.Fatal(err)
			}
			// A new issue No.55, about the GDPR, and the second replica
			// starts after it.
			issues := append(testIssues(), oneItemIssue(55, "2021-06", "新的GDPR判决", "A new GDPR ruling", "法院就GDPR作出判决。", "A court ruled under the GDPR."))
			if _, err := a.arch.Replace(context.Background(), issues); err != nil {
				t.Fatal(err)
			}
			b := newHarness(t, harnessOpt{rdb: srv.Client(), issues: issues})
			time.Sleep(1100 * time.Millisecond) // a retry comes seconds later: another CreateTime if rebuilt from now
			for name, h := range map[string]*harness{"same replica": a, "other replica": b} {
				retry, err := h.acct.Send(http.DefaultClient, h.url(), p)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(first.Plain, retry.Plain) {
					t.Fatalf("%s: retry got another reply:\n%s\n%s", name, first.Plain, retry.Plain)
				}
			}
			if fresh := b.ask("oFresh"+text, text, wechatsim.Safe); !bytes.Contains(fresh.Plain, []byte("55")) {
				t.Fatalf("a new question is not answered from the new archive:\n%s", fresh.Plain)
			}
			if _, err := a.arch.Replace(context.Background(), testIssues()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A body Redis lost (a flush, a failover) leaves the retry of a question
// answered afresh, not with nothing; here nothing changed, so it is the
// same answer.
func TestRetryAfterBodyLost(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a := newHarness(t, harnessOpt{rdb: srv.Client()})
	p, err := a.acct.Seal(wechatsim.Text(testOpenID, testAccount, "GDPR", nextMsgID(), time.Now().Unix()), wechatsim.Safe, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	first, err := a.acct.Send(http.DefaultClient, a.url(), p)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := a.rdb.Keys(ctx, a.keys.Prefix+"{r:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no reply body in redis: %v %v", keys, err)
	}
	if err := a.rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	b := newHarness(t, harnessOpt{rdb: srv.Client()}) // nothing in its memory either
	retry, err := b.acct.Send(http.DefaultClient, b.url(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Plain, retry.Plain) {
		t.Fatalf("retry got another reply:\n%s\n%s", first.Plain, retry.Plain)
	}
}

// The head written on a retry is the one appendReplyXML and appendReplyJSON
// wrote, for any subscriber and account text.
func TestReplyHeadMatchesEncoders(t *testing.T) {
	reply := &chat.Reply{Kind: chat.TextReply, Text: "a <b> & \"c\" \u2028 ]]> 文"}
	for _, to := range []string{testOpenID, "o<&>\"\\\u2028x", "", "]]>"} {
		for _, now := range []int64{0, 1733112345, -5} {
			x, err := appendReplyXML(nil, reply, to, testAccount, now)
			if err != nil {
				t.Fatal(err)
			}
			if h := appendHead(nil, false, to, testAccount, now); !bytes.HasPrefix(x, h) {
				t.Errorf("xml head %q is not the start of %q", h, x)
			}
			j, err := appendReplyJSON(nil, reply, to, testAccount, now)
			if err != nil {
				t.Fatal(err)
			}
			h := appendHead(nil, true, to, testAccount, now)
			if !bytes.HasPrefix(j, h) || !isJSONBody(j[len(h):]) {
				t.Errorf("json head %q is not the start of %q", h, j)
			}
		}
	}
}

// Stored values round-trip, in every form, and other values are refused.
func TestReplyRefValues(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	reply := &chat.Reply{Kind: chat.TextReply, Text: "hello"}
	for _, tc := range []struct {
		msgTime, now int64
		form         byte
	}{{1733112345, 1733112347, markRef}, {1733112345, 1733112345 - 3, markRef}, {0, 1733112345, markRefTime}} {
		payload, _ := appendReplyXML(nil, reply, testOpenID, testAccount, tc.now)
		ref := h.bot.refFor(payload, 'e', false, testOpenID, testAccount, tc.msgTime, tc.now)
		if ref.value[0] != tc.form || ref.value[1] != 'e' {
			t.Fatalf("value %q: want form %c", ref.value, tc.form)
		}
		if tc.form == markRef && len(ref.value) > 12 {
			t.Fatalf("value of %d bytes", len(ref.value))
		}
		digest, created, ok := parseRef(string(ref.value), tc.msgTime)
		if !ok || digest != ref.digest || created != tc.now {
			t.Fatalf("parseRef(%q) = %q %d %v; want %q %d", ref.value, digest, created, ok, ref.digest, tc.now)
		}
		rebuilt := append(appendHead(nil, false, testOpenID, testAccount, created), ref.body...)
		if !bytes.Equal(rebuilt, payload) {
			t.Fatalf("rebuilt %q, want %q", rebuilt, payload)
		}
	}
	for _, v := range []string{"", "R", "Rx", "R-123456789012", "T-1234567890", markPending, markSuccess} {
		if _, _, ok := parseRef(v, 0); ok {
			t.Errorf("parseRef(%q) accepted", v)
		}
	}
}

// Whatever a dedupe key holds (another version's value, a hand edit), it is
// read without a panic, and only the two reference forms are taken.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"", "P", "S", "R-12345678ab", "T*1234567812345678", "F-<xml/>", "Rz\x00\x01\x02\x03\x04\x05\x06\x07\xff\xff"} {
		f.Add(s, int64(1733112345))
	}
	f.Fuzz(func(t *testing.T, v string, msgTime int64) {
		digest, _, ok := parseRef(v, msgTime)
		if ok && (len(digest) != 2*digestLen || !isRef(v) || v[0] == markFull) {
			t.Fatalf("parseRef(%q) took a value of another form: %q", v, digest)
		}
	})
}
