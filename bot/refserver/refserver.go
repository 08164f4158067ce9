// Package refserver is the baseline the benchmark (cmd/wxbench, which runs
// it as its own process with `wxbench serve-ref`) measures the webhook
// against: the same chat answers served the way a straightforward
// silenceper/wechat webhook does it — the SDK's own officialaccount/server
// package handling each request (signature, decryption, reflection-based XML,
// encrypted reply) — with no Redis, so no dedupe, no sessions and none of
// the webhook's limits. It is a measuring stick, not a server to deploy.
package refserver

import (
	"net/http"

	"github.com/silenceper/wechat/v2/cache"
	offconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	offcontext "github.com/silenceper/wechat/v2/officialaccount/context"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/officialaccount/server"
)

// Handler serves WeChat's message push through the SDK's server.
type Handler struct {
	ctx    *offcontext.Context
	answer func(*message.MixMessage) *message.Reply
}

// New returns the reference handler for an account; answer computes the
// reply (wxbench passes bot.(*Bot).ReplyTo, the chat without Redis).
func New(appID, token, encodingAESKey string, answer func(*message.MixMessage) *message.Reply) *Handler {
	return &Handler{
		ctx: &offcontext.Context{Config: &offconfig.Config{
			AppID: appID, Token: token, EncodingAESKey: encodingAESKey, Cache: cache.NewMemory(),
		}},
		answer: answer,
	}
}

// ServeHTTP is the SDK's documented usage: a server per request, Serve, Send.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv := server.NewServer(h.ctx)
	srv.Request = r
	srv.Writer = w
	srv.SetMessageHandler(h.answer)
	if err := srv.Serve(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := srv.Send(); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}
