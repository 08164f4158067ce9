package admin

// The pages' words, in Chinese (the default) and English: every sentence
// an editor reads is here, including what the publisher's typed refusals
// and steps mean. Nothing the command line prints reaches a page.

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Languages of the pages.
const (
	langZH = "zh"
	langEN = "en"
)

// langCookie keeps the language chosen with ?lang=.
const langCookie = "wxbot_lang"

// words: key → {zh, en}. Placeholders in braces ({n}, {state}, {when},
// {by}, {detail}, {ids}, {max}) are filled by say.
var words = map[string][2]string{
	"app":           {"wxbot · 编辑台", "wxbot · workbench"},
	"login.title":   {"wxbot · 登录", "wxbot · log in"},
	"login.user":    {"用户名（脚本用 admin 与 admin.token）", "Name (admin with admin.token for scripts)"},
	"login.pass":    {"密码", "Password"},
	"login.submit":  {"登录", "Log in"},
	"login.wrong":   {"用户名或密码错误。", "Wrong name or password."},
	"login.blocked": {"失败次数过多：请 {n} 秒后再试。", "Too many failed logins from your address: try again in {n} s."},
	"login.expired": {"表单已过期：请重新登录。", "The form had expired: log in again."},
	"logout":        {"退出", "Log out"},
	"signed":        {"登录为 {by}", "Logged in as {by}"},
	"times":         {"所有时间为 {detail} 时区", "All times in {detail}"},
	"lang.other":    {"English", "中文"},
	"readership":    {"阅读与关注", "Readership"},
	"back":          {"← 返回编辑台", "← Back to the workbench"},

	"preview.drafted": {"草稿原样：微信中保存的文章，订阅者将看到的样子。", "Exactly as drafted: the articles WeChat holds, as subscribers will see them."},
	"preview.archive": {"尚未生成草稿：按本服务器的排版设置预览。", "Not drafted yet: rendered with this server's render settings, as it would be drafted."},
	"preview.pipeerr": {"暂时无法读取草稿：按本服务器的排版设置预览。", "The draft cannot be read now: rendered with this server's render settings instead."},
	"upload.title":    {"上传一期", "Upload an issue"},
	"upload.hint":     {"Markdown（.md）或 Word（.docx）文件，最大 {max}。上传后生成草稿并发送预览，不会群发。", "A Markdown (.md) or Word (.docx) file, at most {max}. It is drafted and previewed, not broadcast."},
	"upload.file":     {"文件", "File"},
	"upload.submit":   {"上传并生成草稿", "Upload and draft"},
	"upload.toobig":   {"文件太大：最大 {max}。", "The file is too big: at most {max}."},
	"upload.nofile":   {"请选择一个 .md 或 .docx 文件。", "Choose a .md or .docx file."},
	"upload.type":     {"只接受 .md 与 .docx 文件。", "Only .md and .docx files are taken."},
	"upload.broken":   {"文件无法解析，未做任何改动。请修改后重新上传：", "The file does not parse; nothing was changed. Fix it and upload it again:"},
	"upload.line":     {"第 {n} 行", "line {n}"},
	"upload.where":    {"{detail}", "{detail}"},
	"upload.done":     {"第 {n} 期已上传。", "No.{n} uploaded."},
	"upload.warn":     {"提示", "Notes"},
	"inbox.title":     {"从收件箱选择", "Pick from the inbox"},
	"inbox.none":      {"收件箱里没有文件。", "The inbox holds no file."},
	"inbox.submit":    {"生成草稿", "Draft it"},
	"inbox.problems":  {"收件箱中无法解析的文件", "Inbox files that do not parse"},
	"inbox.err":       {"收件箱暂时无法读取。", "The inbox cannot be read now."},
	"inbox.fine":      {"收件箱中的文件都能解析。", "Every inbox file parses."},

	"issues":          {"各期", "Issues"},
	"col.issue":       {"期", "Issue"},
	"col.problem":     {"问题与修改方法", "What to fix"},
	"col.state":       {"状态", "State"},
	"col.when":        {"时间", "When"},
	"col.items":       {"条目", "Items"},
	"items":           {"{n} 条", "{n} items"},
	"no.issues":       {"还没有任何一期：上传一个文件。", "No issue yet: upload a file."},
	"not.pipeline":    {"未进入发布流程", "not in the pipeline"},
	"no.publisher":    {"此进程未运行发布器", "the publisher does not run in this process"},
	"pipe.err":        {"发布状态暂不可读（Redis 无应答）。", "The pipeline state cannot be read now (Redis does not answer)."},
	"due":             {"定于 {when}", "due {when}"},
	"sent":            {"发送于 {when}", "sent {when}"},
	"open":            {"打开", "open"},
	"preview":         {"预览", "Preview"},
	"schedule":        {"发送计划", "Schedule"},
	"next.slot":       {"下一个发送时段：{when}", "Next broadcast slot: {when}"},
	"nothing.sched":   {"没有待发送的期。", "Nothing scheduled."},
	"broadcasts":      {"最近的群发", "Last broadcasts"},
	"no.broadcasts":   {"还没有群发。", "No broadcast yet."},
	"col.total":       {"总数", "Total"},
	"col.filter":      {"过滤后", "After filtering"},
	"col.ok":          {"成功", "Sent OK"},
	"col.errors":      {"失败", "Errors"},
	"col.articles":    {"文章", "Articles"},
	"col.wxstatus":    {"微信状态", "WeChat status"},
	"waiting.report":  {"等待微信报告", "waiting for WeChat's report"},
	"article.n":       {"第 {n} 篇", "article {n}"},
	"campaigns":       {"二维码推广", "QR campaigns"},
	"col.scene":       {"场景", "Scene"},
	"col.code":        {"二维码", "Code"},
	"col.gained":      {"新增关注", "Followers gained"},
	"col.following":   {"仍在关注", "Still following"},
	"col.scanned":     {"扫码", "Scanned"},
	"permanent":       {"永久", "permanent"},
	"expires":         {"{when} 过期", "expires {when}"},
	"download":        {"下载 PNG", "Download PNG"},
	"no.campaigns":    {"还没有推广二维码。", "No campaign yet."},
	"camp.err":        {"推广数据暂不可读。", "The campaign figures cannot be read now."},
	"camp.new":        {"新建二维码", "New QR code"},
	"camp.scene":      {"场景名（字母、数字、-、_）", "Scene (letters, digits, - or _)"},
	"camp.days":       {"有效天数（0 为永久）", "Days valid (0: permanent)"},
	"camp.create":     {"生成", "Create"},
	"camp.bad":        {"场景名为 1 至 64 个字母、数字、- 或 _；天数为 0 至 30。", "A scene is 1 to 64 letters, digits, - or _; days 0 to 30."},
	"camp.failed":     {"微信未能生成二维码：{detail}", "WeChat could not make the code: {detail}"},
	"camp.created":    {"二维码 {detail} 已生成。", "QR code {detail} created."},
	"no.subscribers":  {"此进程未统计订阅者。", "Subscribers are not tracked in this process."},
	"history":         {"操作记录", "History"},
	"col.at":          {"时间", "At"},
	"col.by":          {"操作人", "By"},
	"col.action":      {"操作", "Action"},
	"no.history":      {"没有记录。", "Nothing recorded."},
	"system":          {"系统", "wxbot"},
	"actions":         {"操作", "Actions"},
	"approve":         {"批准", "Approve"},
	"reject":          {"驳回", "Reject"},
	"reject.reason":   {"驳回理由", "Reason for rejecting"},
	"sched.at":        {"发送时间（{detail}）", "Send at ({detail})"},
	"sched.submit":    {"安排发送", "Schedule"},
	"sched.slots":     {"接下来的发送时段", "The next slots"},
	"slot.used":       {"当日群发额度已用完（{n}/{max}）：将顺延", "the day's quota is used ({n}/{max}): it will be deferred"},
	"slot.free":       {"当日已发 {n}/{max}", "{n}/{max} sent that day"},
	"due.quota":       {"注意：本期定于 {when}，但当日群发额度已用完（{n}/{max}），届时将顺延到下一个时段。", "Note: this issue is due {when}, but that day's broadcast quota is used ({n}/{max}): it will be deferred to the next slot."},
	"sendnow":         {"立即发送", "Send now"},
	"sendnow.confirm": {"立即向订阅者群发（不可撤回，只能事后删除）", "Broadcast to subscribers now (cannot be undone, only withdrawn)"},
	"cancel":          {"取消发送", "Cancel"},
	"retract":         {"撤回（删除已发文章）", "Retract (delete the sent articles)"},
	"retract.which":   {"文章（0 为全部）", "Article (0: all)"},
	"review":          {"发送预览", "Send a preview"},
	"review.who":      {"审阅人：openid 或微信号，每行一个", "Reviewers: openids or WeChat IDs, one a line"},
	"review.submit":   {"发送预览", "Send the preview"},
	"review.bad":      {"请填写 1 至 20 个审阅人（openid 或微信号）。", "Give 1 to 20 reviewers (openids or WeChat IDs)."},
	"done":            {"已完成：{detail}", "Done: {detail}"},
	"approved.by":     {"已由 {by} 于 {when} 批准", "approved by {by} on {when}"},
	"rejected.by":     {"已由 {by} 驳回：{detail}", "rejected by {by}: {detail}"},
	"retracted.by":    {"已由 {by} 于 {when} 撤回", "retracted by {by} on {when}"},
	"csrf":            {"表单已失效（缺少或错误的校验码）：请从页面重新提交。", "The form is not valid (missing or wrong check token): submit it again from the page."},
	"bad.when":        {"时间格式为 2006-01-02 15:04，或留空使用下一个时段。", "Give the time as 2006-01-02 15:04, or leave it empty for the next slot."},
	"bad.article":     {"文章编号为 0 或正整数。", "The article is 0 or a positive number."},
	"failed":          {"操作失败：{detail}", "It failed: {detail}"},
	"unavailable":     {"发布器暂不可用，请稍后再试。", "The publisher is unavailable now: try again shortly."},
	"readonly":        {"此进程未运行发布器：不能操作。", "The publisher does not run in this process: no actions."},

	// Pipeline states.
	"state.parsed":            {"已解析", "parsed"},
	"state.rendered":          {"已排版", "rendered"},
	"state.uploaded":          {"图片已上传", "images uploaded"},
	"state.drafted":           {"草稿已生成", "drafted"},
	"state.previewed":         {"已发预览", "preview sent"},
	"state.awaiting_approval": {"等待批准", "awaiting approval"},
	"state.scheduled":         {"已安排", "scheduled"},
	"state.sending":           {"发送中", "sending"},
	"state.sent":              {"已发送", "sent"},
	"state.finished":          {"已送达", "delivered"},
	"state.failed":            {"失败", "failed"},
	"state.cancelled":         {"已取消", "cancelled"},
	"state.retracted":         {"已撤回", "retracted"},
	"state.rejected":          {"已驳回", "rejected"},

	// Actions in the history (publisher Transition.Action).
	"action.uploaded":  {"上传", "uploaded"},
	"action.approved":  {"批准", "approved"},
	"action.rejected":  {"驳回", "rejected"},
	"action.scheduled": {"安排发送", "scheduled"},
	"action.send_now":  {"立即发送", "asked to send now"},
	"action.cancelled": {"取消", "cancelled"},
	"action.sent":      {"群发", "broadcast"},
	"action.retracted": {"撤回", "retracted"},
	"action.preview":   {"发送预览", "sent a preview"},

	// What a form did (?done=).
	"done.approve":  {"已批准。", "Approved."},
	"done.reject":   {"已驳回。", "Rejected."},
	"done.schedule": {"已安排发送。", "Scheduled."},
	"done.send":     {"已请求立即发送。", "Sent now."},
	"done.cancel":   {"已取消发送。", "Cancelled."},
	"done.retract":  {"已撤回。", "Retracted."},
	"done.preview":  {"预览已发送。", "Preview sent."},

	// Steps a run took (publisher Step.Kind).
	"step.edited":         {"内容已修改", "the content changed"},
	"step.rendered":       {"已排版 {count} 篇文章", "rendered {count} articles"},
	"step.uploaded":       {"图片 {count} 张（新上传 {fresh} 张）", "{count} images ({fresh} uploaded now)"},
	"step.drafted":        {"草稿已生成", "drafted"},
	"step.previewed":      {"预览已发送给 {ids}", "preview sent to {ids}"},
	"step.preview_failed": {"预览未送达 {ids}", "preview not delivered to {ids}"},
	"step.awaiting":       {"等待批准（定于 {when}）", "waiting for approval (due {when})"},
	"step.scheduled":      {"已安排于 {when}", "scheduled for {when}"},
	"step.deferred":       {"{detail} 的群发额度（{count} 次）已用完：顺延至 {when}", "the quota of {detail} ({count}) is used: deferred to {when}"},
	"step.sent":           {"已群发", "broadcast"},
	"step.published":      {"已发布", "published"},
	"step.other":          {"{detail}", "{detail}"},

	// Refusals (publisher Refusal.Reason, and the pages' own).
	"refuse.not_in_pipeline":    {"第 {n} 期不在发布流程中。", "No.{n} is not in the pipeline."},
	"refuse.already_broadcast":  {"第 {n} 期已于 {when} 群发（{state}）：不能再取消、批准、安排或预览。", "No.{n} was broadcast on {when} ({state}): it can no longer be cancelled, approved, scheduled or previewed."},
	"refuse.edit_after_send":    {"第 {n} 期已群发：修改后的文件不会再发；更正请另出一期。", "No.{n} was broadcast: an edited file is not sent again; send a correction as a new issue."},
	"refuse.edit_maybe_sent":    {"第 {n} 期可能已经发出（结果未知）：修改后的文件暂不处理，请先在微信后台（群发记录）核对。", "No.{n} may have gone out (outcome unknown): the edit waits; check WeChat's admin page (群发记录) first."},
	"refuse.send_unknown":       {"第 {n} 期上次发送的结果未知：请先在微信后台（群发记录）核对，未发出时再发送。", "Whether No.{n}'s last send went out is not known: check WeChat's admin page (群发记录) first."},
	"refuse.already_cancelled":  {"第 {n} 期已经取消。", "No.{n} is already cancelled."},
	"refuse.not_scheduled":      {"第 {n} 期没有安排发送（{state}）：无需取消。", "No.{n} is not scheduled ({state}): nothing to cancel."},
	"refuse.not_waiting":        {"第 {n} 期是“{state}”：没有等待批准的内容。", "No.{n} is {state}: nothing waits for approval."},
	"refuse.already_approved":   {"第 {n} 期（此内容）已由 {by} 于 {when} 批准。", "No.{n} (this content) was already approved by {by} on {when}."},
	"refuse.already_rejected":   {"第 {n} 期（此内容）已被 {by} 驳回：{detail}", "No.{n} (this content) was already rejected by {by}: {detail}"},
	"refuse.reason_required":    {"驳回时请写明理由。", "Give a reason for rejecting."},
	"refuse.not_approved":       {"第 {n} 期（此内容）尚未批准：请同事先批准。", "No.{n} (this content) is not approved yet: a colleague approves it first."},
	"refuse.already_retracted":  {"第 {n} 期已于 {when} 由 {by} 撤回。", "No.{n} was withdrawn on {when} by {by}."},
	"refuse.not_sent":           {"第 {n} 期尚未群发（{state}）：没有可撤回的内容；要停止定时发送请点“取消发送”。", "No.{n} was not broadcast ({state}): nothing to withdraw; to stop a scheduled send, cancel it."},
	"refuse.outcome_unknown":    {"第 {n} 期是否已发出尚不知道（{state}）：暂时无法撤回。", "Whether No.{n} went out is not known yet ({state}): nothing to withdraw yet."},
	"refuse.no_such_article":    {"第 {n} 期只有 {articles} 篇文章，没有第 {article} 篇。", "No.{n} has {articles} articles: there is no article {article}."},
	"refuse.tag_unknown":        {"公众号没有名为 {detail} 的标签。", "The account has no tag named {detail}."},
	"refuse.tag_needs_mass":     {"发布模式下不能按标签 {detail} 群发。", "A tag ({detail}) needs mass sending, not publishing."},
	"refuse.time_in_past":       {"{when} 已经过去：请选一个将来的时间。", "{when} has passed: choose a time ahead."},
	"refuse.no_draft":           {"第 {n} 期还没有当前内容的草稿（{state}）：无法预览。", "No.{n} has no draft of its current content yet ({state}): nothing to preview."},
	"refuse.no_reviewers":       {"请填写审阅人。", "Give the reviewers."},
	"refuse.too_many_reviewers": {"一次最多发给 {articles} 位审阅人。", "At most {articles} reviewers at once."},
	"refuse.bad_reviewer":       {"{detail} 既不是 openid 也不是微信号。", "{detail} is neither an openid nor a WeChat ID."},
	"refuse.self_approval":      {"第 {n} 期由 {by} 上传：须由另一位同事批准。", "No.{n} was uploaded by {by}: a colleague approves it, not the uploader."},
	"refuse.busy":               {"此期正在处理中：请稍后再试。", "The issue is being worked on: try again shortly."},
	"refuse.other":              {"第 {n} 期：操作被拒绝（{state}）。", "No.{n}: refused ({state})."},
}

// say returns the word for key in lang with its placeholders filled.
func say(lang, key string, kv ...string) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	s := w[0]
	if lang == langEN {
		s = w[1]
	}
	if len(kv) == 0 {
		return s
	}
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// stateWord is a pipeline state in page words.
func stateWord(lang, state string) string {
	if _, ok := words["state."+state]; ok {
		return say(lang, "state."+state)
	}
	return state
}

// refusalWords phrases a refusal for the page.
func (h *Handler) refusalWords(lang string, r *Refusal) string {
	key := "refuse." + r.Reason
	if _, ok := words[key]; !ok {
		key = "refuse.other"
	}
	return say(lang, key, "n", strconv.Itoa(r.Number), "state", stateWord(lang, r.State),
		"when", h.fmt(r.When), "by", r.By, "detail", r.Detail,
		"article", strconv.Itoa(r.Article), "articles", strconv.Itoa(r.Articles))
}

// stepWords phrases one step of a run.
func (h *Handler) stepWords(lang string, s Step) string {
	key := "step." + s.Kind
	if _, ok := words[key]; !ok {
		key = "step.other"
	}
	return say(lang, key, "ids", strings.Join(s.IDs, ", "), "count", strconv.Itoa(s.Count),
		"fresh", strconv.Itoa(s.Fresh), "when", h.fmt(s.At), "detail", s.Detail)
}

// langOf is the request's language: ?lang=, else the cookie, else zh.
func langOf(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == langEN || l == langZH {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langEN || c.Value == langZH) {
		return c.Value
	}
	return langZH
}

// rememberLang keeps a ?lang= choice in a cookie for the next pages.
func (h *Handler) rememberLang(w http.ResponseWriter, r *http.Request) {
	if l := r.URL.Query().Get("lang"); l == langEN || l == langZH {
		c := h.cookie(r, langCookie, l, "/admin", int((365 * 24 * time.Hour).Seconds()))
		c.SameSite = http.SameSiteLaxMode // the language may follow a link from elsewhere
		http.SetCookie(w, c)
	}
}
