package wechat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"

	"github.com/silenceper/wechat/v2/util"
)

// The errcodes wxbot knows, by name. What each means, and what to do
// about it, is in the one table of codes.go (keyed by these names);
// Explain puts one into words.
const (
	CodeBusy              = -1    // system busy: retry with backoff
	CodeInvalidCredential = 40001 // access_token invalid (or AppSecret wrong when fetching one)
	CodeNotFollower       = 40003
	CodeInvalidMediaID    = 40007
	CodeImageTooLarge     = 40009
	CodeInvalidAppID      = 40013
	CodeInvalidToken      = 40014
	CodeInvalidURL        = 40066
	CodeInvalidSecret     = 40125
	CodeIPNotWhitelisted  = 40164 // the operator adds the IP on the admin page
	CodeNoToken           = 41001
	CodeTokenExpired      = 42001
	CodeNotFollowing      = 43004
	CodeTooLong           = 45002
	CodeTitleTooLong      = 45003
	CodeDigestTooLong     = 45004
	CodeTooManyArticles   = 45008
	CodeQuotaReached      = 45009
	CodeReplyWindow       = 45015
	CodeNoMassQuota       = 45028
	CodeCustomQuota       = 45047
	CodeClientMsgIDUsed   = 45065 // same clientmsgid sent within 24 h: the answer carries the original msg_id
	CodeClientMsgIDFast   = 45066 // same clientmsgid retried too fast: wait a minute
	CodeClientMsgIDLong   = 45067
	CodeTagExists         = 45157
	CodeTagGone           = 45159
	CodeHyperlink         = 45166 // the article content carries a hyperlink WeChat refuses
	CodeUnauthorized      = 48001
	CodeUserBlocked       = 48002
	CodePublishBanned     = 53500
	CodePublishTooOften   = 53501 // temporary: asked again later
	CodeBadPublishID      = 53502
	CodePublishRefused    = 53503 // meaning not confirmed: WeChat's errmsg is shown with it
	CodePublishOnWeb      = 53504
	CodeSaveDraftFirst    = 53505
	CodeBadStatsDate      = 61500
	CodeStatsRange        = 61501
	CodeRiskyIP           = 89503 // an administrator must confirm calls from this IP
)

// ErrNotConfigured is returned by every call of a Client built without
// wechat.app_id and wechat.app_secret.
var ErrNotConfigured = errors.New("wechat: no API credentials configured (wechat.app_id, wechat.app_secret)")

// APIError is an answer from WeChat with a non-zero errcode. The errcode is
// data: callers decide with IsCode, Retryable and TokenInvalid.
type APIError struct {
	Endpoint string // path under /cgi-bin/, e.g. "message/mass/sendall"
	Code     int
	Msg      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
}

// Retryable reports whether WeChat asked us to try again later (-1). It
// answered, so nothing was done and a retry cannot duplicate an effect.
func (e *APIError) Retryable() bool { return e.Code == CodeBusy }

// TokenInvalid reports whether the access_token was refused.
func (e *APIError) TokenInvalid() bool {
	switch e.Code {
	case CodeInvalidCredential, CodeInvalidToken, CodeTokenExpired:
		return true
	}
	return false
}

// TransportError is a call that got no usable answer: a connection error, a
// timeout, an HTTP status other than 200, or a body that is not WeChat's
// JSON. For a call with an effect, the outcome is unknown: WeChat may have
// done it. Its message never carries the access_token or the AppSecret.
type TransportError struct {
	Endpoint string
	// Status is the HTTP status when WeChat (or a proxy) answered with one
	// other than 200, else 0.
	Status int
	// Timeout is true when the call ran out of time.
	Timeout bool
	msg     string
	cause   error // only context.Canceled or context.DeadlineExceeded, never the raw error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("wechat %s: %s", e.Endpoint, e.msg)
}

// Unwrap exposes context cancellation, so errors.Is(err, context.Canceled) works.
func (e *TransportError) Unwrap() error { return e.cause }

// Retryable reports whether a retry may succeed: connection errors,
// timeouts and 5xx, not 4xx answers (a wrong api_base, say).
func (e *TransportError) Retryable() bool {
	if errors.Is(e.cause, context.Canceled) {
		return false
	}
	return e.Status == 0 || e.Status >= 500
}

// IsCode reports whether err is a WeChat answer with one of codes.
func IsCode(err error, codes ...int) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.Code == c {
			return true
		}
	}
	return false
}

// CodeOf returns the errcode of a WeChat answer, or false for other errors.
func CodeOf(err error) (int, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code, true
	}
	return 0, false
}

// Retryable reports whether err is worth retrying later: errcode -1, or a
// transport failure that may be temporary. For calls with an effect a
// transport failure means the outcome is unknown; see the method docs.
func Retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var te *TransportError
	if errors.As(err, &te) {
		return te.Retryable()
	}
	return false
}

// TokenInvalid reports whether err is WeChat refusing the access_token.
func TokenInvalid(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.TokenInvalid()
}

// secretParams matches the parts of a URL that must never reach a log: the
// SDK and net/http put the full URL, query included, in their errors.
var secretParams = regexp.MustCompile(`(access_token|secret|appsecret)=[^&\s"']*`)

func scrub(s string) string { return secretParams.ReplaceAllString(s, "$1=REDACTED") }

// sdkCode recovers errcode and errmsg from the SDK errors that format them
// into a string instead of returning *util.CommonError (v2.1.10:
// AddMaterial, GetQRTicket (which says errormsg), GetMenu, GetUserInfo,
// customer Send, CreateTag).
var sdkCode = regexp.MustCompile(`errcode=(-?\d+)\s*,\s*err(?:or)?msg=(.*)$`)

// statusCode recovers the HTTP status from util's "statusCode=502" errors.
var statusCode = regexp.MustCompile(`statusCode=(\d+)`)

// classify turns any error from the SDK or its util helpers into an
// *APIError or a *TransportError.
func classify(endpoint string, err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	var te *TransportError
	if errors.As(err, &ae) || errors.As(err, &te) {
		return err
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return &APIError{Endpoint: endpoint, Code: int(ce.ErrCode), Msg: ce.ErrMsg}
	}
	msg := err.Error()
	if m := sdkCode.FindStringSubmatch(msg); m != nil {
		code, convErr := strconv.Atoi(m[1])
		if convErr == nil {
			return &APIError{Endpoint: endpoint, Code: code, Msg: m[2]}
		}
	}
	out := &TransportError{Endpoint: endpoint, msg: scrub(msg)}
	if m := statusCode.FindStringSubmatch(msg); m != nil {
		out.Status, _ = strconv.Atoi(m[1])
		out.msg = "HTTP status " + m[1]
	}
	switch {
	case errors.Is(err, context.Canceled):
		out.cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		out.cause = context.DeadlineExceeded
		out.Timeout = true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		out.Timeout = true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error repeats the URL; keep the operation and the cause only.
		out.msg = ue.Op + ": " + scrub(ue.Err.Error())
	}
	return out
}
