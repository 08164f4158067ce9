package admin

// The limit on failed logins: per client address, counted in Redis so that
// a guesser spread over the replicas behind a Service is counted once.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/store"
)

// LoginLimiter refuses further login attempts from a client that failed
// Max times within Window of its first failure, until that window ends.
// Each counter is one small key with a TTL of Window, so what an attacker
// can make Redis hold is bounded by the addresses it has (IPv6 counted
// per /64) times a few dozen bytes, for a minute.
type LoginLimiter struct {
	rdb    redis.UniversalClient
	keys   store.Keys
	Max    int
	Window time.Duration
}

// Default limit: 5 failures a minute.
const (
	DefaultMaxFailures   = 5
	DefaultFailureWindow = time.Minute
)

// NewLoginLimiter counts failures under keys' layout, with the default limit.
func NewLoginLimiter(rdb redis.UniversalClient, keys store.Keys) *LoginLimiter {
	return &LoginLimiter{rdb: rdb, keys: keys, Max: DefaultMaxFailures, Window: DefaultFailureWindow}
}

// Blocked reports how long client must wait before trying again, 0 when
// it may try now.
func (l *LoginLimiter) Blocked(ctx context.Context, client string) (time.Duration, error) {
	d, err := store.WindowBlocked(ctx, l.rdb, l.keys.AdminLoginFailures(client), l.Max, l.Window)
	if err != nil {
		return 0, fmt.Errorf("admin: login limit: %w", err)
	}
	return d, nil
}

// Failed counts a failed attempt by client and returns how long it must
// now wait, 0 while it still has attempts left.
func (l *LoginLimiter) Failed(ctx context.Context, client string) (time.Duration, error) {
	n, left, err := store.CountFailure(ctx, l.rdb, l.keys.AdminLoginFailures(client), l.Window)
	if err != nil {
		return 0, fmt.Errorf("admin: count failed login: %w", err)
	}
	if n < int64(l.Max) {
		return 0, nil
	}
	return left, nil
}

// Succeeded forgets client's failures: a mistyped token before the right
// one does not count against the next login.
func (l *LoginLimiter) Succeeded(ctx context.Context, client string) error {
	if err := l.rdb.Del(ctx, l.keys.AdminLoginFailures(client)).Err(); err != nil {
		return fmt.Errorf("admin: reset login limit: %w", err)
	}
	return nil
}

// clientAddr is the address failures are counted under: the connection's
// peer, or — when the peer is one of the trusted proxies — the rightmost
// X-Forwarded-For entry that is not itself a trusted proxy (entries left of
// it were written by the client and prove nothing). An IPv6 client is
// counted by its /64, which one host usually has whole.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "unknown"
	}
	addr = addr.Unmap()
	if isTrusted(addr, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			a = a.Unmap()
			addr = a
			if !isTrusted(a, trusted) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads http.trusted_proxies: addresses or CIDRs.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("admin: trusted proxy %q is neither an address nor a CIDR", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
