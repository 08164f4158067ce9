package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lifang/wxbot/wechat"
)

// The CLI's hint under a WeChat refusal is wechat.Explain's sentence, the
// one the publisher's notices use; other errors pass unchanged.
func TestExplainAPIError(t *testing.T) {
	ae := &wechat.APIError{Endpoint: "qrcode/create", Code: wechat.CodeIPNotWhitelisted, Msg: "invalid ip"}
	err := explainAPIError(fmt.Errorf("qrcode create spring: %w", ae))
	if !errors.Is(err, ae) {
		t.Fatalf("the errcode is lost: %v", err)
	}
	if want := "\n  → " + wechat.Explain(wechat.CodeIPNotWhitelisted); !strings.HasSuffix(err.Error(), want) || !strings.Contains(err.Error(), "IP白名单") {
		t.Fatalf("hint %q, want it to end %q", err, want)
	}
	plain := errors.New("no answer")
	if got := explainAPIError(plain); got != plain {
		t.Fatalf("a plain error became %q", got)
	}
}
