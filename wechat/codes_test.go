package wechat_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/lifang/wxbot/wechat"
)

// The errcode table: each code the package names is explained, the
// publish codes say what WECHAT.md says they mean, only the refusals "for
// now" are temporary, and docs/wechat-api.md lists the same table.
func TestCodeTable(t *testing.T) {
	named := []int{wechat.CodeBusy, wechat.CodeInvalidCredential, wechat.CodeInvalidMediaID, wechat.CodeInvalidToken,
		wechat.CodeTokenExpired, wechat.CodeNotFollowing, wechat.CodeQuotaReached, wechat.CodeReplyWindow,
		wechat.CodeNoMassQuota, wechat.CodeCustomQuota, wechat.CodeClientMsgIDUsed, wechat.CodeClientMsgIDFast,
		wechat.CodeClientMsgIDLong, wechat.CodeTagExists, wechat.CodeUnauthorized,
		wechat.CodePublishBanned, wechat.CodePublishTooOften, wechat.CodeBadPublishID,
		wechat.CodeRiskyIP, wechat.CodeIPNotWhitelisted, wechat.CodeHyperlink}
	for _, code := range named {
		c, ok := wechat.LookupCode(code)
		if !ok || c.Meaning == "" || c.Source == "" || c.Code != code {
			t.Errorf("errcode %d: %+v, known %v", code, c, ok)
		}
	}
	for code, want := range map[int]string{
		53500: "publish banned",
		53501: "publishing too often",
		53502: "does not know this publish_id",
		53504: "published from the web platform",
		53505: "saved by hand first",
		45166: "hyperlink",
		89503: "an administrator confirms",
		40164: "IP白名单",
	} {
		c, _ := wechat.LookupCode(code)
		if !strings.Contains(c.String(), want) {
			t.Errorf("errcode %d reads %q, want it to say %q", code, c, want)
		}
	}
	var temporary []int
	for _, c := range wechat.Codes() {
		if c.Temporary {
			temporary = append(temporary, c.Code)
		}
		if wechat.Temporary(&wechat.APIError{Code: c.Code}) != c.Temporary {
			t.Errorf("Temporary(%d) disagrees with the table", c.Code)
		}
	}
	if got := fmt.Sprint(temporary); got != "[-1 45009 45066 53501]" {
		t.Errorf("temporary codes %s", got)
	}
	if got := wechat.ExplainCode(&wechat.APIError{Code: 12345, Msg: "odd"}); got != "WeChat answered errcode 12345: odd" {
		t.Errorf("unknown code explained as %q", got)
	}
	if got := wechat.ExplainCode(fmt.Errorf("wrapped: %w", &wechat.APIError{Code: 53503, Msg: "draft check failed"})); !strings.HasSuffix(got, ": draft check failed") {
		t.Errorf("53503 explained as %q, want WeChat's errmsg", got)
	}

	readme, err := os.ReadFile("../docs/wechat-api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range wechat.Codes() {
		row := fmt.Sprintf("| `%d` | %s |", c.Code, c.Meaning)
		if !strings.Contains(string(readme), row) {
			t.Errorf("docs/wechat-api.md's errcode table lacks or differs for %d (want a row starting %q)", c.Code, row)
		}
	}
}
