package bot

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/lifang/wxbot/bot/wechatsim"
	"github.com/lifang/wxbot/config"
)

// FuzzOpenPush drives the webhook's decrypt and parse path (open: envelope,
// msg_signature, AES, the message itself) in every mode, two ways per input:
//
//   - body as it arrives, under a query signed over whatever Encrypt it
//     carries, so arbitrary envelopes and ciphertexts reach the decrypter;
//   - inner sealed with the configured key (or the previous one) into an
//     XML or JSON envelope beside forged plaintext fields, so arbitrary
//     plaintexts reach the message parser.
//
// Nothing may panic; in safe and compat modes only decrypted messages are
// accepted; a properly sealed message is read from its ciphertext alone.
// The seeds, large ones included, run in every `go test`.
func FuzzOpenPush(f *testing.F) {
	for _, s := range seedMessages {
		f.Add([]byte(s), []byte(s), uint8(0))
	}
	text := wechatsim.Text(testOpenID, testAccount, "最新", 1, 1714112445)
	acct := wechatsim.Account{Token: testToken, AppID: testAppID, AESKey: testAESKey, UserName: testAccount}
	for i, mode := range []wechatsim.Mode{wechatsim.Plain, wechatsim.Compat, wechatsim.Safe} {
		p, _ := acct.Seal(text, mode, time.Unix(1714112445, 0))
		f.Add(p.Body, text, uint8(i)|4)
	}
	// Large inputs: runs of brackets, deep nesting, long CDATA, a long
	// ciphertext, a deep JSON document.
	big := func(parts ...string) []byte { return []byte(strings.Join(parts, "")) }
	f.Add(big("<xml><Encrypt><![CDATA[", strings.Repeat("A", 1<<20), "]]></Encrypt></xml>"), big("<xml><Content><![CDATA[", strings.Repeat("[![", 170<<10), "]]></Content></xml>"), uint8(2|4))
	f.Add(big(strings.Repeat("<", 1<<20)), big(strings.Repeat("<a>", 100<<10), "<xml>"), uint8(1|4|16))
	f.Add(big(`{"Encrypt":"`, strings.Repeat("+/", 256<<10), `"}`), big(strings.Repeat("[", 512<<10)), uint8(2|4|16))
	f.Add(big("<xml>", strings.Repeat("<Content>x</Content>", 40<<10), "</xml>"), big(`{"FromUserName":"o","MsgType":"text","Content":"`, strings.Repeat("\\u00e4", 100<<10), `"}`), uint8(8))
	f.Add(big("<xml><ToUserName>a</ToUserName>", strings.Repeat("<!-- c -->", 50<<10), "</xml>"), big("<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content>", strings.Repeat("&amp;", 100<<10), "</Content></xml>"), uint8(1|8))

	bots := map[string]*Bot{}
	for _, mode := range []string{config.MessageModePlain, config.MessageModeCompat, config.MessageModeSafe} {
		kr, err := newKeyring(testToken, testAppID, testAESKey, prevAESKey)
		if err != nil {
			f.Fatal(err)
		}
		bots[mode] = &Bot{intake: intake{keyring: kr, mode: mode}}
	}
	noKey, _ := newKeyring(testToken, testAppID)
	bots["plain without a key"] = &Bot{intake: intake{keyring: noKey, mode: config.MessageModePlain}}
	names := []string{config.MessageModePlain, config.MessageModeCompat, config.MessageModeSafe, "plain without a key"}

	f.Fuzz(func(t *testing.T, body, inner []byte, flags uint8) {
		name := names[int(flags&3)]
		b := bots[name]
		const ts, nonce = "1714112445", "415670741"
		q := query{signature: util.Signature(testToken, ts, nonce), timestamp: ts, nonce: nonce}

		// 1. The body as it arrives.
		if flags&4 != 0 {
			q.encryptType = "aes"
			if env, err := parseEnvelope(body); err == nil {
				var sig [40]byte
				signatureEnc(&sig, testToken, ts, nonce, env.Encrypt)
				q.msgSignature = string(sig[:])
			} else {
				q.msgSignature = strings.Repeat("0", 40)
			}
		}
		in, err := b.open(&q, body)
		switch {
		case err == nil:
			if in.msg == nil || in.msg.FromUserName == "" || in.msg.MsgType == "" {
				t.Fatalf("%s: accepted a message without sender or type", name)
			}
			if b.mode != config.MessageModePlain && !in.encrypted {
				t.Fatalf("%s: accepted a message that was not decrypted", name)
			}
		case b.mode != config.MessageModePlain && q.encryptType != "aes" && !errors.Is(err, errPlaintext):
			t.Fatalf("%s: a plaintext push refused as %v, want errPlaintext", name, err)
		}

		// 2. inner, sealed and signed as WeChat would, beside forged
		// plaintext fields.
		if b.keyring.canDecrypt() {
			key := testAESKey
			if flags&8 != 0 {
				key = prevAESKey
			}
			enc, err := util.EncryptMsg([]byte("0123456789abcdef"), inner, testAppID, key)
			if err != nil {
				t.Fatal(err)
			}
			var env []byte
			if flags&16 != 0 {
				env = []byte(`{"ToUserName":"gh_forged","FromUserName":"oForged","MsgType":"text","Content":"forged","Encrypt":"` + string(enc) + `"}`)
			} else {
				env = []byte("<xml><ToUserName><![CDATA[gh_forged]]></ToUserName><FromUserName><![CDATA[oForged]]></FromUserName>" +
					"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[forged]]></Content><Encrypt><![CDATA[" + string(enc) + "]]></Encrypt></xml>")
			}
			sq := q
			sq.encryptType = "aes"
			sq.msgSignature = util.Signature(testToken, ts, nonce, string(enc))
			in, err := b.open(&sq, env)
			want, wantErr := parseMessage(inner)
			if wantErr == nil && (want.FromUserName == "" || want.MsgType == "") {
				wantErr = errMalformed
			}
			switch {
			case err != nil && !errors.Is(err, errMalformed):
				t.Fatalf("%s: a sealed message refused as %v", name, err)
			case (err == nil) != (wantErr == nil):
				t.Fatalf("%s: sealed message: err %v, its plaintext alone: %v", name, err, wantErr)
			case err == nil:
				if !in.encrypted || !bytes.Equal(in.raw, inner) || in.keyIdx != int(flags>>3&1) {
					t.Fatalf("%s: sealed message not read from its ciphertext (encrypted %v, key %d)", name, in.encrypted, in.keyIdx)
				}
				if in.msg.FromUserName != want.FromUserName || in.msg.Content != want.Content {
					t.Fatalf("%s: the forged plaintext fields were read: from %q content %q", name, in.msg.FromUserName, in.msg.Content)
				}
				if in.json != (flags&16 != 0) {
					t.Fatalf("%s: JSON envelope %v, reply JSON %v", name, flags&16 != 0, in.json)
				}
			}
		}
	})
}
