package sandbox

import (
	"time"
)

// Access tokens as WeChat hands them out (WECHAT.md §7):
//   - cgi-bin/token issues a new token each call, 2,000 a day; the previous
//     one keeps working for 5 more minutes, then 42001.
//   - cgi-bin/stable_token answers the same token to every caller until it
//     nears expiry (the last 1/24 of its life: 5 minutes of 2 hours);
//     force_refresh replaces it at most 20 times a day, 30 s apart.
//   - Every other call checks access_token: missing 41001, unknown or
//     revoked 40001, expired 42001.

const (
	tokenGrace      = 5 * time.Minute
	maxTokensPerDay = 2000
)

func (s *Server) checkCredentials(grantType, appID, secret string) *answer {
	switch {
	case grantType != "client_credential":
		a := fail(40002, "invalid grant_type")
		return &a
	case appID != s.opts.AppID:
		a := fail(40013, "invalid appid")
		return &a
	case secret != s.opts.AppSecret:
		a := fail(40125, "invalid appsecret")
		return &a
	}
	return nil
}

func (s *Server) handleToken(c *apiCall) answer {
	q := c.r.URL.Query()
	if a := s.checkCredentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); a != nil {
		return *a
	}
	st := s.st
	issued := 0
	for _, t := range st.tokens {
		if !t.Stable && c.now.Sub(t.Issued) < 24*time.Hour {
			issued++
		}
	}
	if issued >= maxTokensPerDay {
		return fail(45009, "reach max api daily quota limit: cgi-bin/token at most 2,000 times a day")
	}
	if old := st.tokens[st.normal]; old != nil {
		if grace := c.now.Add(tokenGrace); old.Expires.After(grace) {
			old.Expires = grace
		}
	}
	t := s.issue(c.now, false)
	st.normal = t.Value
	return ok(map[string]any{"access_token": t.Value, "expires_in": int(s.opts.TokenTTL / time.Second)})
}

func (s *Server) handleStableToken(c *apiCall) answer {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if a := decodeJSON(c.body, &req); a != nil {
		return *a
	}
	if a := s.checkCredentials(req.GrantType, req.AppID, req.Secret); a != nil {
		return *a
	}
	st := s.st
	cur := st.tokens[st.stable]
	if req.ForceRefresh {
		day := c.now.Add(-24 * time.Hour)
		recent := st.forceTimes[:0]
		for _, t := range st.forceTimes {
			if t.After(day) {
				recent = append(recent, t)
			}
		}
		st.forceTimes = recent
		switch {
		case len(recent) >= 20:
			return fail(45009, "reach max api daily quota limit (force_refresh 20 times a day)")
		case len(recent) > 0 && c.now.Sub(recent[len(recent)-1]) < 30*time.Second:
			return fail(45011, "api minute-quota reach limit: force_refresh at most every 30 seconds")
		}
		st.forceTimes = append(st.forceTimes, c.now)
		if cur != nil {
			if grace := c.now.Add(tokenGrace); cur.Expires.After(grace) {
				cur.Expires = grace
			}
		}
		cur = nil
	}
	window := s.opts.TokenTTL / 24
	if cur == nil || cur.Revoked || cur.Expires.Sub(c.now) <= window {
		cur = s.issue(c.now, true)
		st.stable = cur.Value
	}
	left := int(cur.Expires.Sub(c.now) / time.Second)
	return ok(map[string]any{"access_token": cur.Value, "expires_in": left})
}

func (s *Server) issue(now time.Time, stable bool) *accessToken {
	t := &accessToken{
		Value:   randomToken("SBX_", 48),
		Stable:  stable,
		Issued:  now,
		Expires: now.Add(s.opts.TokenTTL),
	}
	s.st.tokens[t.Value] = t
	return t
}

// checkToken answers nothing (zero answer) for a valid token, else the errcode.
func (s *Server) checkToken(value string, now time.Time) answer {
	if value == "" {
		return fail(41001, "access_token missing")
	}
	t := s.st.tokens[value]
	switch {
	case t == nil || t.Revoked:
		return fail(40001, "invalid credential, access_token is invalid or not latest")
	case !now.Before(t.Expires):
		return fail(42001, "access_token expired")
	}
	return answer{}
}

// revokeTokens invalidates every token issued so far, as when the AppSecret
// is reset on the admin page.
func (st *state) revokeTokens() {
	for _, t := range st.tokens {
		t.Revoked = true
	}
}

// RevokeTokens invalidates every token issued so far: the next call with
// one gets 40001.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.revokeTokens()
}
