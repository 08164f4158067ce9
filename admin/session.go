package admin

// Login sessions of the editor's pages, kept in Redis so that every replica
// knows them and a logout on one ends them on all. The type is small and
// knows nothing of HTTP: the pages set the cookie, the store keeps the
// session; a workbench with named users reuses it with User set.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/store"
)

// ErrNoSession is returned for a cookie that names no live session:
// unknown, expired, revoked or malformed.
var ErrNoSession = errors.New("admin: no such session")

// Session is one login. ID is the secret the browser holds (the cookie
// value); Redis holds only its SHA-256, so neither a look at Redis nor a
// dump of it hands out a live cookie.
type Session struct {
	ID   string `json:"-"`
	User string `json:"user"`
	// Realm is what the creator bound the session to; the pages put a
	// fingerprint of admin.token there, so a new token ends every session
	// made with the old one.
	Realm   string    `json:"realm,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// CSRF is the token the session's forms carry: derived from the secret ID,
// so it needs no storage, differs per session and dies with it.
func (s Session) CSRF() string {
	mac := hmac.New(sha256.New, []byte(s.ID))
	mac.Write([]byte("wxbot admin csrf v1"))
	return hex.EncodeToString(mac.Sum(nil))
}

// ValidCSRF reports whether tok is the session's CSRF token.
func (s Session) ValidCSRF(tok string) bool {
	return s.ID != "" && hmac.Equal([]byte(tok), []byte(s.CSRF()))
}

// sessionIDBytes is the randomness of a session ID: 256 bits.
const sessionIDBytes = 32

// sessionIDLen is the length of an ID as the browser holds it.
var sessionIDLen = base64.RawURLEncoding.EncodedLen(sessionIDBytes)

// SessionStore creates, finds and revokes sessions in Redis. Sessions
// expire after a fixed time from login (no sliding renewal: a stolen
// cookie is good for at most TTL).
type SessionStore struct {
	rdb  redis.UniversalClient
	keys store.Keys
	ttl  time.Duration
	now  func() time.Time
}

// NewSessionStore keeps sessions for ttl under keys' layout.
func NewSessionStore(rdb redis.UniversalClient, keys store.Keys, ttl time.Duration) *SessionStore {
	return &SessionStore{rdb: rdb, keys: keys, ttl: ttl, now: time.Now}
}

// TTL is how long a new session lasts.
func (s *SessionStore) TTL() time.Duration { return s.ttl }

func (s *SessionStore) key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.keys.AdminSession(hex.EncodeToString(sum[:]))
}

// Create starts a session for user in realm with a fresh random ID.
func (s *SessionStore) Create(ctx context.Context, user, realm string) (Session, error) {
	var raw [sessionIDBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Session{}, fmt.Errorf("admin: session id: %w", err)
	}
	now := s.now()
	sess := Session{ID: base64.RawURLEncoding.EncodeToString(raw[:]), User: user, Realm: realm, Created: now, Expires: now.Add(s.ttl)}
	b, err := json.Marshal(sess)
	if err != nil {
		return Session{}, fmt.Errorf("admin: encode session: %w", err)
	}
	// NX: a collision of 256 random bits does not happen, but if it did it
	// must not hand someone else's session over.
	ok, err := s.rdb.SetNX(ctx, s.key(sess.ID), b, s.ttl).Result()
	if err != nil {
		return Session{}, fmt.Errorf("admin: store session: %w", err)
	}
	if !ok {
		return Session{}, errors.New("admin: store session: id already in use")
	}
	return sess, nil
}

// Lookup returns the live session with this ID, ErrNoSession when there is
// none, or another error when Redis does not answer.
func (s *SessionStore) Lookup(ctx context.Context, id string) (Session, error) {
	if !wellFormedID(id) {
		return Session{}, ErrNoSession
	}
	b, err := s.rdb.Get(ctx, s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("admin: look up session: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return Session{}, ErrNoSession
	}
	// Redis expires the key; the recorded expiry guards against a key whose
	// TTL was lost (a restore from a dump, a PERSIST by hand).
	if !sess.Expires.After(s.now()) {
		return Session{}, ErrNoSession
	}
	sess.ID = id
	return sess, nil
}

// Revoke ends the session with this ID; ending one that does not exist is
// not an error.
func (s *SessionStore) Revoke(ctx context.Context, id string) error {
	if !wellFormedID(id) {
		return nil
	}
	if err := s.rdb.Del(ctx, s.key(id)).Err(); err != nil {
		return fmt.Errorf("admin: revoke session: %w", err)
	}
	return nil
}

func wellFormedID(id string) bool {
	if len(id) != sessionIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
