package publisher

import (
	"errors"
	"fmt"

	"github.com/lifang/wxbot/wechat"
)

// explanations phrase WeChat's errcodes for the editor (WECHAT.md §8),
// saying what happens next where the pipeline decides it.
var explanations = map[int]string{
	-1:    "WeChat is busy (errcode -1); it is asked again later",
	40001: "WeChat refused the access token (40001): it is fetched again and the call retried",
	40003: "the openid is not a follower of this account (40003)",
	40007: "WeChat does not know this media_id (40007): the draft or the cover was deleted on the admin page, or already sent",
	40009: "an image is too large for WeChat (40009)",
	40013: "the AppID is not valid (40013): check wechat.app_id",
	40125: "the AppSecret is wrong (40125): check wechat.app_secret",
	40164: "this machine's IP is not on the account's API whitelist (40164): add it on the admin page (基本配置 → IP白名单)",
	42001: "the access token expired (42001): it is fetched again and the call retried",
	43004: "the reviewer does not follow the account (43004): they must follow it to receive previews",
	45002: "an article is too long for WeChat (45002)",
	45003: "an article title is longer than WeChat's 32 characters (45003)",
	45004: "an article digest is longer than WeChat's 128 characters (45004)",
	45008: "the draft has more articles than WeChat allows (45008)",
	45009: "the account reached an API call quota (45009); it is asked again later",
	45028: "today's mass-send quota is used up (45028) — a subscription account gets one broadcast a day, a service account four a month per follower",
	45065: "WeChat already sent a broadcast with this clientmsgid in the last 24 h (45065)",
	45066: "the same clientmsgid was retried too soon (45066); it is asked again after a minute",
	45067: "the clientmsgid is longer than WeChat's 64 bytes (45067)",
	45159: "the target tag does not exist any more (45159): check publish.to_tag or --to-tag",
	45166: "WeChat refused the article content (45166): a script, style, external link or foreign image",
	48001: "the account is not authorised for this API (48001): unverified accounts lose the publishing APIs",
	53503: "the publication failed WeChat's checks (53503)",
	53504: "the publication failed (53504)",
	53505: "the publication failed WeChat's review (53505)",
}

// explain says in plain words what went wrong: the errcode's meaning when
// WeChat answered, else the error itself.
func explain(code int, err error) string {
	if code != 0 {
		if s, ok := explanations[code]; ok {
			return s
		}
		var ae *wechat.APIError
		if errors.As(err, &ae) {
			return fmt.Sprintf("WeChat answered errcode %d: %s", ae.Code, ae.Msg)
		}
		return fmt.Sprintf("WeChat answered errcode %d", code)
	}
	var te *wechat.TransportError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &te) && te.Timeout:
		return "WeChat did not answer in time (" + te.Endpoint + ")"
	case errors.As(err, &te):
		return "no answer from WeChat (" + te.Error() + ")"
	case errors.Is(err, wechat.ErrNotConfigured):
		return "no WeChat credentials: set wechat.app_id and wechat.app_secret"
	}
	var rf *Refusal
	if errors.As(err, &rf) {
		return rf.Msg
	}
	return err.Error()
}

// publishStatusText reads freepublish's publish_status (WECHAT.md §5).
func publishStatusText(status int) string {
	switch status {
	case 0:
		return "published"
	case 1:
		return "publishing"
	case 2:
		return "WeChat's originality check failed (publish_status 2)"
	case 3:
		return "publication failed (publish_status 3)"
	case 4:
		return "rejected in WeChat's review (publish_status 4)"
	case 5:
		return "deleted by a user on the admin page (publish_status 5)"
	case 6:
		return "banned by WeChat (publish_status 6)"
	}
	return fmt.Sprintf("publish_status %d", status)
}
