package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lifang/wxbot/sandbox"
)

// The customer-service window: 45015 outside 48 h of the user's last
// message, 45047 after 5 messages, 45008 for news with 2 articles; off by
// default.
func TestCustomWindow(t *testing.T) {
	srv := sandbox.New(sandbox.Options{CustomWindow: true})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	token := tokenOf(t, ts.URL)
	send := func(body string) int {
		t.Helper()
		resp, err := http.Post(ts.URL+"/cgi-bin/message/custom/send?access_token="+token, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return errcode(t, resp)
	}
	text := `{"touser":"oAdmin","msgtype":"text","text":{"content":"hello"}}`
	if c := send(text); c != 45015 {
		t.Fatalf("a user who never wrote: errcode %d, want 45015", c)
	}
	srv.UserWrote("oAdmin")
	for i := 0; i < sandbox.CustomQuota; i++ {
		if c := send(text); c != 0 {
			t.Fatalf("message %d inside the window: errcode %d", i+1, c)
		}
	}
	if c := send(text); c != 45047 {
		t.Fatalf("message 6 without a reply: errcode %d, want 45047", c)
	}
	srv.UserWrote("oAdmin")
	if c := send(text); c != 0 {
		t.Fatalf("after the user wrote again: errcode %d", c)
	}
	news := `{"touser":"oAdmin","msgtype":"news","news":{"articles":[{"title":"a","url":"https://x/a"},{"title":"b","url":"https://x/b"}]}}`
	if c := send(news); c != 45008 {
		t.Fatalf("news with 2 articles: errcode %d, want 45008", c)
	}
	srv.Advance(sandbox.CustomWindowLength + time.Minute)
	token = tokenOf(t, ts.URL)
	if c := send(text); c != 45015 {
		t.Fatalf("49 h after the user wrote: errcode %d, want 45015", c)
	}
	// The admin endpoint: wrote 47 h ago is inside, 49 h ago outside.
	wrote := func(body string) int {
		resp, err := http.Post(ts.URL+"/sandbox/wrote", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := wrote(`{"openid":"oAdmin","ago_seconds":169200}`); st != 200 {
		t.Fatalf("POST /sandbox/wrote: %d", st)
	}
	if c := send(text); c != 0 {
		t.Fatalf("wrote 47 h ago: errcode %d", c)
	}
	wrote(`{"openid":"oAdmin","ago_seconds":176400}`)
	if c := send(text); c != 45015 {
		t.Fatalf("wrote 49 h ago: errcode %d, want 45015", c)
	}
	if st := wrote(`{"openid":""}`); st != http.StatusBadRequest {
		t.Fatalf("empty openid: %d", st)
	}
	if st := wrote(`not json`); st != http.StatusBadRequest {
		t.Fatalf("bad body: %d", st)
	}

	// Off (the default): no window, no quota.
	off := sandbox.New(sandbox.Options{})
	ts2 := httptest.NewServer(off)
	t.Cleanup(func() { ts2.Close(); off.Close() })
	token2 := tokenOf(t, ts2.URL)
	for i := 0; i < 7; i++ {
		resp, err := http.Post(ts2.URL+"/cgi-bin/message/custom/send?access_token="+token2, "application/json", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if c := errcode(t, resp); c != 0 {
			t.Fatalf("window off, message %d: errcode %d", i+1, c)
		}
	}
}

func tokenOf(t *testing.T, base string) string {
	t.Helper()
	body := `{"grant_type":"client_credential","appid":"` + sandbox.DefaultAppID + `","secret":"` + sandbox.DefaultAppSecret + `"}`
	resp, err := http.Post(base+"/cgi-bin/stable_token", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Token string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || a.Token == "" {
		t.Fatalf("token: %v %+v", err, a)
	}
	return a.Token
}
