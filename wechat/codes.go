package wechat

import (
	"errors"
	"fmt"
	"sort"
)

// Code is what wxbot knows about one WeChat errcode: what it means, what
// the person who must act does about it, whether asking again later can
// succeed, and where the meaning comes from. This table is the one place
// errcodes are put into words: the publisher's notices and status and the
// CLI's hints all read it.
type Code struct {
	Code    int
	Meaning string // what WeChat says, in plain words
	// Action is what happens next or what the operator or editor must do;
	// empty when the meaning says it all.
	Action string
	// Temporary: WeChat refused for now (busy, too often, a quota that
	// resets): the same request may succeed later, so it is asked again
	// with backoff. Everything else is final for that request.
	Temporary bool
	// Source is where the meaning comes from: "official" (WeChat's
	// 全局返回码说明 or the endpoint's own page), or an SDK file, or
	// "reports" (developers' reports, not documented).
	Source string
}

// Sources of the meanings.
const (
	srcGlobal   = "official: 全局返回码说明"
	srcMass     = "official: 群发接口和原创校验"
	srcPublish  = "official: 发布能力 freepublish/submit"
	srcCustom   = "official: 客服消息"
	srcDraft    = "official: 草稿箱 draft/add"
	srcTags     = "official: 用户标签管理"
	srcDatacube = "official: 数据统计"
	srcReports  = "developers' reports (WECHAT.md §5), not in the official table"
	// srcNotes: the project's platform notes, WECHAT.md §8, whose official
	// page was not at hand when the table was written.
	srcNotes = "WECHAT.md §8"
)

var codes = map[int]Code{
	CodeBusy:              {Meaning: "WeChat is busy", Action: "asked again later, with backoff", Temporary: true, Source: srcGlobal},
	CodeInvalidCredential: {Meaning: "WeChat refused the access token (or, when fetching one, the AppSecret)", Action: "the token is fetched again and the call retried once; if it persists, check wechat.app_secret", Source: srcGlobal},
	CodeNotFollower:       {Meaning: "the openid is not a follower of this account", Source: srcGlobal},
	CodeInvalidMediaID:    {Meaning: "WeChat does not know this media_id", Action: "the draft or the cover was deleted on the admin page, or the draft was already sent", Source: srcGlobal},
	CodeImageTooLarge:     {Meaning: "an image is too large for WeChat", Source: srcGlobal},
	CodeInvalidAppID:      {Meaning: "the AppID is not valid", Action: "check wechat.app_id", Source: srcGlobal},
	CodeInvalidToken:      {Meaning: "the access token is not valid", Action: "it is fetched again and the call retried once", Source: srcGlobal},
	CodeInvalidURL:        {Meaning: "WeChat (or the proxy at wechat.api_base) does not know this API path", Action: "check wechat.api_base", Source: srcGlobal},
	CodeInvalidSecret:     {Meaning: "the AppSecret is wrong", Action: "check wechat.app_secret (it changes when reset on the admin page)", Source: srcGlobal},
	CodeIPNotWhitelisted:  {Meaning: "this machine's IP is not on the account's API whitelist", Action: "an administrator adds it on the admin page (设置与开发 → 基本配置 → IP白名单), then run again", Source: srcGlobal},
	CodeNoToken:           {Meaning: "the call carried no access token", Source: srcGlobal},
	CodeTokenExpired:      {Meaning: "the access token expired", Action: "it is fetched again and the call retried once", Source: srcGlobal},
	CodeNotFollowing:      {Meaning: "the user does not follow the account", Action: "they must follow it to receive previews or messages", Source: srcGlobal},
	CodeTooLong:           {Meaning: "the content is too long for WeChat", Source: srcGlobal},
	CodeTitleTooLong:      {Meaning: "an article title is longer than WeChat's 32 characters", Source: srcDraft},
	CodeDigestTooLong:     {Meaning: "an article digest is longer than WeChat's 128 characters", Source: srcDraft},
	CodeTooManyArticles:   {Meaning: "more articles than WeChat allows (8 in a draft, 1 in a customer-service news message)", Source: srcCustom},
	CodeQuotaReached:      {Meaning: "the account reached this API's daily call quota", Action: "asked again later; the quota resets at midnight, Beijing time", Temporary: true, Source: srcGlobal},
	CodeReplyWindow:       {Meaning: "the customer-service window passed (48 h after the user's last message)", Source: srcCustom},
	CodeNoMassQuota:       {Meaning: "today's mass-send quota is used up — a subscription account gets one broadcast a day, a service account four a month per follower", Source: srcMass},
	CodeCustomQuota:       {Meaning: "the customer-service message quota for this user is used up", Source: srcCustom},
	CodeClientMsgIDUsed:   {Meaning: "WeChat already sent a broadcast with this clientmsgid in the last 24 h", Action: "nothing is sent again", Source: srcMass},
	CodeClientMsgIDFast:   {Meaning: "the same clientmsgid was retried too soon", Action: "asked again after a minute", Temporary: true, Source: srcMass},
	CodeClientMsgIDLong:   {Meaning: "the clientmsgid is too long for WeChat (documented 64 bytes; refused from 34 in practice, so wxbot uses at most 32)", Source: srcMass + "; " + srcReports},
	CodeTagExists:         {Meaning: "a tag with this name exists already", Source: srcTags},
	CodeTagGone:           {Meaning: "the target tag does not exist any more", Action: "check publish.to_tag or --to-tag", Source: srcTags},
	CodeHyperlink:         {Meaning: "WeChat refused the article content: it carries a hyperlink it does not allow (only links to published mp.weixin.qq.com articles are)", Action: "remove the link or let the renderer turn it into a footnote", Source: srcNotes},
	CodeUnauthorized:      {Meaning: "the account is not authorised for this API", Action: "since July 2025 personal-subject and unverified accounts lose the publishing APIs (freepublish): use publish.mode mass or verify the account", Source: srcGlobal},
	CodeUserBlocked:       {Meaning: "the user blocked messages from the account", Source: srcGlobal},
	CodePublishBanned:     {Meaning: "WeChat does not allow publishing this content or from this account (publish banned)", Action: "see the notice on the admin page", Source: srcPublish + "; " + srcNotes},
	CodePublishTooOften:   {Meaning: "publishing too often", Action: "asked again later", Temporary: true, Source: srcPublish + "; " + srcNotes},
	CodeBadPublishID:      {Meaning: "WeChat does not know this publish_id", Source: srcPublish + "; " + srcNotes},
	CodePublishRefused:    {Meaning: "WeChat refused the draft for publication (53503: meaning not confirmed; WeChat's own message follows)", Source: srcPublish + "; " + srcNotes},
	CodePublishOnWeb:      {Meaning: "WeChat wants this draft published from the web platform", Action: "open 草稿箱 on mp.weixin.qq.com and publish it there", Source: srcPublish + "; " + srcNotes},
	CodeSaveDraftFirst:    {Meaning: "WeChat wants this draft saved by hand first", Action: "open it in 草稿箱 on mp.weixin.qq.com, save it, then run again", Source: srcPublish + "; " + srcNotes},
	CodeBadStatsDate:      {Meaning: "the statistics date is not in WeChat's format", Source: srcDatacube},
	CodeStatsRange:        {Meaning: "the statistics date range is too long or reaches today", Source: srcDatacube},
	CodeRiskyIP:           {Meaning: "WeChat holds calls from this new or risky IP until an administrator confirms them", Action: "an administrator of the account confirms the prompt WeChat sent them (phone or admin page), then run again", Source: srcNotes},
}

// LookupCode returns what wxbot knows about errcode code.
func LookupCode(code int) (Code, bool) {
	c, ok := codes[code]
	c.Code = code
	return c, ok
}

// Codes lists the table in errcode order, for documentation.
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for k, c := range codes {
		c.Code = k
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// String is the sentence for editors and operators: "meaning (code): action".
func (c Code) String() string {
	s := fmt.Sprintf("%s (%d)", c.Meaning, c.Code)
	if c.Action != "" {
		s += ": " + c.Action
	}
	return s
}

// Explain puts errcode code into words for editors and operators: the
// table's "meaning (code): action", or for a code the table lacks, a
// sentence saying so. Every caller that shows an errcode reads this.
func Explain(code int) string {
	if c, ok := LookupCode(code); ok {
		return c.String()
	}
	return fmt.Sprintf("WeChat answered errcode %d (not in wxbot's table of errcodes)", code)
}

// ExplainCode is Explain for a WeChat answer, with WeChat's own errmsg
// where the table's meaning is not enough (a code it lacks, or
// CodePublishRefused, whose meaning is not confirmed). It returns "" when
// err carries no errcode.
func ExplainCode(err error) string {
	var ae *APIError
	if !errors.As(err, &ae) {
		return ""
	}
	if _, ok := codes[ae.Code]; !ok {
		return fmt.Sprintf("WeChat answered errcode %d: %s", ae.Code, ae.Msg)
	}
	s := Explain(ae.Code)
	if ae.Code == CodePublishRefused && ae.Msg != "" {
		s += ": " + ae.Msg
	}
	return s
}

// Temporary reports whether err is a WeChat refusal that may succeed when
// asked again later (the table's Temporary: -1, 45009, 45066, 53501). It
// answered, so nothing was done.
func Temporary(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	c, ok := codes[ae.Code]
	return ok && c.Temporary
}
