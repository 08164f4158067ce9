package wechat_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/config"
	"github.com/lifang/wxbot/sandbox"
	"github.com/lifang/wxbot/wechat"
)

type tokenAns struct {
	ErrCode     int    `json:"errcode"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

func stableToken(t *testing.T, e *env, force bool) tokenAns {
	t.Helper()
	o := e.sb.Options()
	b, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": o.AppID, "secret": o.AppSecret, "force_refresh": force})
	resp, err := http.Post(e.sb.URL+"/cgi-bin/stable_token", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a tokenAns
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

func plainToken(t *testing.T, e *env) tokenAns {
	t.Helper()
	o := e.sb.Options()
	resp, err := http.Get(e.sb.URL + "/cgi-bin/token?grant_type=client_credential&appid=" + o.AppID + "&secret=" + o.AppSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a tokenAns
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// The token rules of WECHAT.md §7 as the sandbox plays them.
func TestSandboxTokenRules(t *testing.T) {
	t.Run("stable_token is shared until its last 1/24", func(t *testing.T) {
		e := setup(t, sandbox.Options{})
		a, b := stableToken(t, e, false), stableToken(t, e, false)
		if a.AccessToken == "" || a.AccessToken != b.AccessToken || a.ExpiresIn != 7200 {
			t.Fatalf("two callers got %+v and %+v, want the same 2 h token", a, b)
		}
		e.sb.Advance(2*time.Hour - 4*time.Minute)
		c := stableToken(t, e, false)
		if c.AccessToken == a.AccessToken || c.ExpiresIn != 7200 {
			t.Fatalf("4 minutes before expiry: %+v, want a new token", c)
		}
		if tokenCall(t, e, a.AccessToken) != nil {
			t.Fatal("the old stable token stopped working before its expiry")
		}
	})
	t.Run("force_refresh limits", func(t *testing.T) {
		e := setup(t, sandbox.Options{})
		first := stableToken(t, e, true)
		if first.ErrCode != 0 {
			t.Fatal(first)
		}
		if got := stableToken(t, e, true); got.ErrCode != 45011 {
			t.Fatalf("second force_refresh within 30 s: %+v, want 45011", got)
		}
		for i := 0; i < 19; i++ {
			e.sb.Advance(31 * time.Second)
			if got := stableToken(t, e, true); got.ErrCode != 0 {
				t.Fatalf("force_refresh %d: %+v", i+2, got)
			}
		}
		e.sb.Advance(31 * time.Second)
		if got := stableToken(t, e, true); got.ErrCode != 45009 {
			t.Fatalf("21st force_refresh in a day: %+v, want 45009", got)
		}
	})
	t.Run("cgi-bin/token retires the previous token 5 minutes later", func(t *testing.T) {
		e := setup(t, sandbox.Options{})
		old := plainToken(t, e)
		fresh := plainToken(t, e)
		if old.AccessToken == fresh.AccessToken {
			t.Fatal("cgi-bin/token answered the same token twice")
		}
		if err := tokenCall(t, e, old.AccessToken); err != nil {
			t.Fatalf("old token within 5 minutes: %v", err)
		}
		e.sb.Advance(5*time.Minute + time.Second)
		if err := tokenCall(t, e, old.AccessToken); !wechat.IsCode(err, 42001) {
			t.Fatalf("old token after 5 minutes: %v, want 42001", err)
		}
		if err := tokenCall(t, e, fresh.AccessToken); err != nil {
			t.Fatalf("new token: %v", err)
		}
	})
	t.Run("plain token mode refreshes on 40001 too", func(t *testing.T) {
		e := setup(t, sandbox.Options{}, func(c *config.WeChatConfig) { c.StableToken = false })
		ctx := ctxT(t)
		if _, err := e.api.Tags(ctx); err != nil {
			t.Fatal(err)
		}
		e.sb.RevokeTokens()
		if _, err := e.api.Tags(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.sb.Count("token"); n != 2 {
			t.Fatalf("cgi-bin/token fetched %d times, want 2", n)
		}
	})
}

// Draft update/get/delete and the publish API's rules.
func TestSandboxDraftLifecycle(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := ctxT(t)
	th := thumb(t, e.api)
	a := article(th)
	a.PicCrop2351 = "0.1_0_0.9_0.34"
	id, err := e.api.AddDraft(ctx, []wechat.Article{a, article(th)})
	if err != nil {
		t.Fatal(err)
	}
	b := article(th)
	b.Title = "更新后的标题"
	if err := e.api.UpdateDraft(ctx, id, 1, b); err != nil {
		t.Fatal(err)
	}
	if err := e.api.UpdateDraft(ctx, id, 2, b); !wechat.IsCode(err, 40060) {
		t.Fatalf("update of index 2 of 2: %v, want 40060", err)
	}
	b.Title = strings.Repeat("长", 33)
	if err := e.api.UpdateDraft(ctx, id, 0, b); !wechat.IsCode(err, 45003) {
		t.Fatalf("update with a long title: %v, want 45003", err)
	}
	got, err := e.api.GetDraft(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Title != "更新后的标题" || got[0].PicCrop2351 != "0.1_0_0.9_0.34" || got[0].URL == "" {
		t.Fatalf("draft %+v", got)
	}
	resp, err := http.Get(got[0].URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("draft article page: %v %v", err, resp)
	}
	resp.Body.Close()
	if err := e.api.DeleteDraft(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.api.DeleteDraft(ctx, id); !wechat.IsCode(err, 40007) {
		t.Fatalf("second delete: %v, want 40007", err)
	}

	un := setup(t, sandbox.Options{Unverified: true})
	d, err := un.api.AddDraft(ctx, []wechat.Article{article(thumb(t, un.api))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := un.api.SubmitPublish(ctx, d); !wechat.IsCode(err, wechat.CodeUnauthorized) {
		t.Fatalf("publish on an unverified account: %v, want 48001", err)
	}
}

// At most 60 mass-send requests a minute.
func TestSandboxMassSendRate(t *testing.T) {
	e := setup(t, sandbox.Options{AccountType: "service"})
	body := map[string]any{"filter": map[string]any{"is_to_all": true}, "msgtype": "mpnews", "mpnews": map[string]any{"media_id": "none"}}
	for i := 0; i < 60; i++ {
		if code := raw(t, e, "message/mass/sendall", body); code != 40007 {
			t.Fatalf("request %d: errcode %d, want 40007", i+1, code)
		}
	}
	if code := raw(t, e, "message/mass/sendall", body); code != 45009 {
		t.Fatalf("61st request in a minute: errcode %d, want 45009", code)
	}
	e.sb.Advance(time.Minute)
	if code := raw(t, e, "message/mass/sendall", body); code != 40007 {
		t.Fatalf("a minute later: errcode %d", code)
	}
}
