package bot

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/silenceper/wechat/v2/util"
)

// Errors of a message the webhook cannot read; the handler answers them 400.
// (A bad signature or timestamp is answered 403 before any of these.)
var (
	errCiphertext = errors.New("ciphertext does not decrypt with any configured key")
	errAppID      = errors.New("message is for another AppID")
	errMalformed  = errors.New("malformed message")
)

// Refusals the handler answers 403.
var (
	// errSignature: msg_signature does not verify over the Encrypt element.
	errSignature = errors.New("msg_signature does not match the ciphertext")
	// errPlaintext: a plaintext push (no encrypt_type=aes, or no Encrypt
	// element) while wechat.message_mode is safe or compat. Its query's
	// signature covers no part of the body.
	errPlaintext = errors.New("plaintext push refused: wechat.message_mode accepts only encrypted pushes")
)

// keyring holds the push token and the EncodingAESKeys: the current one first,
// then the previous one during a rotation. WeChat's advice for a rotation is
// to try the current key, then the previous, and to reply with the key that
// worked. The keys are decoded once; the AES work is the SDK's
// (util.AESDecryptMsg, util.AESEncryptMsg).
type keyring struct {
	token string
	appID string
	keys  [][]byte // 32-byte AES keys, current first
}

func newKeyring(token, appID string, encodingAESKeys ...string) (keyring, error) {
	k := keyring{token: token, appID: appID}
	for _, e := range encodingAESKeys {
		if e == "" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(e + "=")
		if err != nil || len(e) != 43 || len(key) != 32 {
			return k, errors.New("bot: an EncodingAESKey is not 43 characters of base64")
		}
		k.keys = append(k.keys, key)
	}
	return k, nil
}

// canDecrypt reports whether at least one AES key is configured.
func (k *keyring) canDecrypt() bool { return len(k.keys) > 0 }

// verify checks a WeChat signature (the SHA1 of the sorted token and parts)
// in constant time, so an attacker cannot learn a valid signature byte by byte.
func (k *keyring) verify(sig string, parts ...string) bool {
	var want [40]byte
	signature(&want, k.token, parts...)
	return subtle.ConstantTimeCompare([]byte(sig), want[:]) == 1
}

// signature is util.Signature — lowercase hex SHA1 of the dictionary-sorted
// strings, concatenated — without its allocations (fmt, sort), for the hot
// path. TestSignatureMatchesSDK holds the two together.
func signature(dst *[40]byte, token string, parts ...string) {
	var all [5]string
	s := append(all[:0], token)
	s = append(s, parts...)
	for i := 1; i < len(s); i++ { // insertion sort: at most 4 strings
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	var stack [2048]byte
	buf := stack[:0]
	for _, p := range s {
		buf = append(buf, p...)
	}
	sum := sha1.Sum(buf)
	hex.Encode(dst[:], sum[:])
}

// signatureEnc is signature(dst, token, ts, nonce, string(enc)) for an
// Encrypt text held as bytes — the body's, or the reply's written straight
// into its envelope — without copying it into a string. (Comparing
// string(enc) does not copy.)
func signatureEnc(dst *[40]byte, token, ts, nonce string, enc []byte) {
	s := [3]string{token, ts, nonce}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	var stack [4096]byte
	buf := stack[:0]
	placed := false
	for _, p := range s {
		if !placed && string(enc) < p {
			buf, placed = append(buf, enc...), true
		}
		buf = append(buf, p...)
	}
	if !placed {
		buf = append(buf, enc...)
	}
	sum := sha1.Sum(buf)
	hex.Encode(dst[:], sum[:])
}

// verifyEnc checks a msg_signature over the Encrypt text enc.
func (k *keyring) verifyEnc(sig, ts, nonce string, enc []byte) bool {
	var want [40]byte
	signatureEnc(&want, k.token, ts, nonce, enc)
	return subtle.ConstantTimeCompare([]byte(sig), want[:]) == 1
}

// decrypt opens an Encrypt payload with the current key, then the previous.
// It returns the plaintext and the index of the key that worked, to encrypt
// the reply with. A payload that decrypts to another AppID is refused.
func (k *keyring) decrypt(encrypted []byte) ([]byte, int, error) {
	if len(k.keys) == 0 {
		return nil, 0, fmt.Errorf("decrypt: %w: no EncodingAESKey configured", errCiphertext)
	}
	// The ciphertext is only needed until AESDecryptMsg has decrypted it
	// into a buffer of its own: borrow the space.
	bufp := bufPool.Get().(*[]byte)
	defer putBuf(bufp)
	raw := slices.Grow((*bufp)[:0], base64.StdEncoding.DecodedLen(len(encrypted)))
	*bufp = raw
	raw = raw[:base64.StdEncoding.DecodedLen(len(encrypted))]
	n, err := base64.StdEncoding.Decode(raw, encrypted)
	if err != nil {
		return nil, 0, fmt.Errorf("decrypt: %w: not base64", errCiphertext)
	}
	raw = raw[:n]
	foreign := false
	var firstErr error
	for i, key := range k.keys {
		// AESDecryptMsg decrypts into a fresh buffer; raw stays intact for
		// the next key.
		_, plain, appID, err := util.AESDecryptMsg(raw, key)
		switch {
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		case string(appID) != k.appID:
			foreign = true
		default:
			return plain, i, nil
		}
	}
	if foreign {
		return nil, 0, fmt.Errorf("decrypt: %w", errAppID)
	}
	return nil, 0, fmt.Errorf("decrypt: %w: %v", errCiphertext, firstErr)
}

// seal encrypts a reply with the key at keyIdx and wraps it in the signed
// envelope WeChat expects in safe and compatible modes, appended to dst.
func (k *keyring) seal(dst, reply []byte, keyIdx int, timestamp int64, nonce string, asJSON bool) ([]byte, error) {
	// WeChat's random prefix is 16 printable characters; any bytes decrypt
	// the same, but keep to letters and digits like WeChat.
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var random [16]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, fmt.Errorf("encrypt reply: random: %w", err)
	}
	for i, c := range random {
		random[i] = alphabet[int(c)%len(alphabet)]
	}
	cipher := util.AESEncryptMsg(random[:], reply, k.appID, k.keys[keyIdx])
	var tsBuf [20]byte
	ts := string(strconv.AppendInt(tsBuf[:0], timestamp, 10))
	var sig [40]byte
	if asJSON {
		enc := base64.StdEncoding.AppendEncode(nil, cipher)
		signatureEnc(&sig, k.token, ts, nonce, enc)
		return appendJSONEnvelope(dst, enc, string(sig[:]), ts, nonce), nil
	}
	// The base64 text goes straight into the envelope, and is signed there.
	dst = append(dst, "<xml><Encrypt><![CDATA["...)
	start := len(dst)
	dst = base64.StdEncoding.AppendEncode(dst, cipher)
	signatureEnc(&sig, k.token, ts, nonce, dst[start:])
	return appendXMLEnvelopeTail(dst, sig[:], ts, nonce), nil
}
