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

func TestParseFault(t *testing.T) {
	cases := []struct {
		kind, spec string
		want       sandbox.Fault
		err        string
	}{
		{"fail", "draft/add", sandbox.Fault{Kind: "fail", Endpoint: "draft/add", Count: 1}, ""},
		{"fail", "/cgi-bin/draft/add=3:45009", sandbox.Fault{Kind: "fail", Endpoint: "draft/add", Count: 3, Code: 45009}, ""},
		{"lose", "message/mass/sendall=2", sandbox.Fault{Kind: "lose", Endpoint: "message/mass/sendall", Count: 2}, ""},
		{"latency", "*=300ms", sandbox.Fault{Kind: "latency", Endpoint: "*", Delay: sandbox.Duration(300 * time.Millisecond)}, ""},
		{"latency", "tags/get=1s:2", sandbox.Fault{Kind: "latency", Endpoint: "tags/get", Count: 2, Delay: sandbox.Duration(time.Second)}, ""},
		{"revoke", "draft/add=1", sandbox.Fault{Kind: "revoke", Endpoint: "draft/add", After: 1, Count: 1}, ""},
		{"latency", "tags/get", sandbox.Fault{}, "ENDPOINT=DURATION"},
		{"fail", "draft/ad", sandbox.Fault{}, "unknown endpoint"},
		{"fail", "draft/add=x", sandbox.Fault{}, "must be a number"},
		{"explode", "draft/add", sandbox.Fault{}, "want fail, lose, latency or revoke"},
	}
	for _, tc := range cases {
		t.Run(tc.kind+" "+tc.spec, func(t *testing.T) {
			got, err := sandbox.ParseFault(tc.kind, tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tc.want.Kind || got.Endpoint != tc.want.Endpoint || got.Count != tc.want.Count ||
				got.After != tc.want.After || got.Code != tc.want.Code || got.Delay != tc.want.Delay {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func errcode(t *testing.T, resp *http.Response) int {
	t.Helper()
	defer resp.Body.Close()
	var a struct {
		ErrCode int `json:"errcode"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a.ErrCode
}

// The sandbox's own endpoints: faults in, calls out, reset.
func TestAdminEndpoints(t *testing.T) {
	srv := sandbox.New(sandbox.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })

	resp, err := http.Post(ts.URL+"/sandbox/faults", "application/json", strings.NewReader(`{"kind":"fail","endpoint":"*","count":1,"code":45009}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("add fault: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, _ = http.Post(ts.URL+"/sandbox/faults", "application/json", strings.NewReader(`{"kind":"fail","endpoint":"nope"}`))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad fault accepted: %d", resp.StatusCode)
	}
	resp.Body.Close()

	body := `{"grant_type":"client_credential","appid":"` + sandbox.DefaultAppID + `","secret":"` + sandbox.DefaultAppSecret + `"}`
	resp, _ = http.Post(ts.URL+"/cgi-bin/stable_token", "application/json", strings.NewReader(body))
	if c := errcode(t, resp); c != 45009 {
		t.Fatalf("first call with a * fault: errcode %d", c)
	}
	resp, _ = http.Post(ts.URL+"/cgi-bin/stable_token", "application/json", strings.NewReader(body))
	if c := errcode(t, resp); c != 0 {
		t.Fatalf("second call: errcode %d", c)
	}
	resp, _ = http.Get(ts.URL + "/cgi-bin/stable_token")
	if c := errcode(t, resp); c != 43002 {
		t.Fatalf("GET of a POST endpoint: errcode %d", c)
	}
	resp, _ = http.Get(ts.URL + "/cgi-bin/user/get?access_token=x")
	if c := errcode(t, resp); c != 48001 {
		t.Fatalf("unimplemented endpoint: errcode %d", c)
	}

	resp, _ = http.Get(ts.URL + "/sandbox/calls?endpoint=stable_token")
	var calls []sandbox.Call
	if err := json.NewDecoder(resp.Body).Decode(&calls); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(calls) != 3 || calls[0].Fault != "fail" || calls[1].ErrCode != 0 {
		t.Fatalf("calls %+v", calls)
	}
	if strings.Contains(calls[1].Body, sandbox.DefaultAppSecret) || !strings.Contains(calls[1].Body, "REDACTED") {
		t.Fatalf("the call log keeps the secret: %s", calls[1].Body)
	}

	resp, _ = http.Post(ts.URL+"/sandbox/reset", "", nil)
	resp.Body.Close()
	if n := len(srv.Calls()); n != 0 {
		t.Fatalf("%d calls after reset", n)
	}
}
