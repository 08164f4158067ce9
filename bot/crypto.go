package bot

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"

	"github.com/silenceper/wechat/v2/util"
)

// Errors of the message-push protocol. The handler maps them to HTTP statuses
// (errForbidden → 403, the others → 400) in one place, respond.go.
var (
	errForbidden  = errors.New("signature or timestamp refused")
	errCiphertext = errors.New("ciphertext does not decrypt with any configured key")
	errAppID      = errors.New("message is for another AppID")
	errMalformed  = errors.New("malformed message")
)

// keyring holds the push token and the EncodingAESKeys: the current one first,
// then the previous one during a rotation. WeChat's advice for a rotation is
// to try the current key, then the previous, and to reply with the key that worked.
type keyring struct {
	token string
	appID string
	keys  []string // 43-character EncodingAESKeys, current first
}

// canDecrypt reports whether at least one AES key is configured.
func (k *keyring) canDecrypt() bool { return len(k.keys) > 0 }

// verify checks a WeChat signature (the SHA1 of the sorted token and parts)
// in constant time, so an attacker cannot learn a valid signature byte by byte.
func (k *keyring) verify(signature string, parts ...string) bool {
	want := util.Signature(append([]string{k.token}, parts...)...)
	return subtle.ConstantTimeCompare([]byte(signature), []byte(want)) == 1
}

// decrypt opens an Encrypt payload with the current key, then the previous.
// It returns the plaintext and the index of the key that worked, to encrypt
// the reply with. A payload that decrypts to another AppID is refused.
func (k *keyring) decrypt(encrypted string) ([]byte, int, error) {
	var firstErr error
	for i, key := range k.keys {
		_, plain, err := util.DecryptMsg(k.appID, encrypted, key)
		if err == nil {
			return plain, i, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		return nil, 0, fmt.Errorf("decrypt: %w: no EncodingAESKey configured", errCiphertext)
	}
	// util.DecryptMsg reports a foreign AppID with this message only after the
	// payload decrypted and unpadded correctly: the key was right, the AppID not.
	if appIDMismatch(k.keys, k.appID, encrypted) {
		return nil, 0, fmt.Errorf("decrypt: %w", errAppID)
	}
	return nil, 0, fmt.Errorf("decrypt: %w: %v", errCiphertext, firstErr)
}

// appIDMismatch tells a well-formed payload for another account from garbage.
func appIDMismatch(keys []string, appID, encrypted string) bool {
	for _, key := range keys {
		if _, _, err := util.DecryptMsg(appID, encrypted, key); err != nil && err.Error() == "消息解密校验APPID失败" {
			return true
		}
	}
	return false
}

// seal encrypts a reply with the key at keyIdx and wraps it in the signed
// envelope WeChat expects in safe and compatible modes.
func (k *keyring) seal(dst, reply []byte, keyIdx int, timestamp int64, nonce string, asJSON bool) ([]byte, error) {
	var random [16]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, fmt.Errorf("encrypt reply: random: %w", err)
	}
	// util.EncryptMsg wants printable random bytes only by convention; any
	// 16 bytes decrypt the same, but keep them alphanumeric like WeChat's.
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i, b := range random {
		random[i] = alphabet[int(b)%len(alphabet)]
	}
	enc, err := util.EncryptMsg(random[:], reply, k.appID, k.keys[keyIdx])
	if err != nil {
		return nil, fmt.Errorf("encrypt reply: %w", err)
	}
	ts := strconv.FormatInt(timestamp, 10)
	sig := util.Signature(k.token, ts, nonce, string(enc))
	if asJSON {
		return appendJSONEnvelope(dst, enc, sig, ts, nonce), nil
	}
	return appendXMLEnvelope(dst, enc, sig, ts, nonce), nil
}
