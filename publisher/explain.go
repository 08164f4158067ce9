package publisher

import (
	"errors"
	"fmt"

	"github.com/lifang/wxbot/wechat"
)

// explain says in plain words what went wrong: the errcode's meaning
// (wechat.Explain) when WeChat answered, else what is particular to the
// publisher's errors (no answer, no credentials, a refusal).
func explain(code int, err error) string {
	if code != 0 {
		// One table of errcodes for every caller: wechat.Explain.
		if s := wechat.ExplainCode(err); s != "" {
			return s
		}
		return wechat.Explain(code)
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
		return rf.Error()
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
