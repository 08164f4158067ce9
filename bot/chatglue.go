package bot

import (
	"context"
	"log/slog"
	"strings"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/lifang/wxbot/chat"
	"github.com/lifang/wxbot/subscribers"
)

// The chat (package chat) decides what to answer; the webhook applies its
// plan. These are the names the webhook's files use for it.

// The reply languages.
const (
	langZH   = chat.LangZH
	langEN   = chat.LangEN
	langBoth = chat.LangBoth
)

// Menu keys the CLICK event understands (see chat.KeyLatest …).
const (
	KeyLatest   = chat.KeyLatest
	KeyArchive  = chat.KeyArchive
	KeyHelp     = chat.KeyHelp
	KeyTopics   = chat.KeyTopics
	KeyLangZH   = chat.KeyLangZH
	KeyLangEN   = chat.KeyLangEN
	KeyLangBoth = chat.KeyLangBoth
	KeyMore     = chat.KeyMore
)

// plan is a chat.Plan as the webhook applies it: its preference changes as
// the subscribers package writes them, its effects made into calls to the
// Bot's collaborators.
type plan struct {
	reply *chat.Reply
	rule  string // metrics label: the built-in or rule that answered
	// prefs is what the message changes of the subscriber's preferences;
	// Forget (they unfollowed) takes the search session too.
	prefs        subscribers.PrefsChange
	session      *session
	changesState bool
	// needsState: the answer read preferences or the session beyond the
	// reply language, so it must take the claim-first path.
	needsState bool
	effects    []effect
}

type session = chat.Session

// effect is a call to another part of wxbot that must happen once per message.
type effect struct {
	name string
	run  func(context.Context) error
}

func normalize(s string) string { return chat.Normalize(s) }
func isMore(n string) bool      { return chat.IsMore(n) }

// route decides the answer to a message: the job reports are the
// webhook's (they carry what only the raw push holds), the rest the chat's.
func (b *Bot) route(msg *message.MixMessage, raw []byte, st *userState) plan {
	if msg.MsgType == message.MsgTypeEvent {
		switch msg.Event {
		case message.EventMassSendJobFinish:
			return b.massSendFinished(msg, raw)
		case message.EventPublishJobFinish:
			return b.publishFinished(msg)
		}
	}
	var cs chat.State
	if st != nil {
		cs = chat.State{Lang: st.prefs.Lang, Topics: st.prefs.Topics, Session: st.session}
	}
	return b.apply(string(msg.FromUserName), b.chat.Answer(chatMessage(msg), cs))
}

// chatMessage is what the chat reads of a push. WeChat's wire names stop
// here: the chat knows kinds, and the QR scene without its "qrscene_".
func chatMessage(m *message.MixMessage) chat.Message {
	cm := chat.Message{From: string(m.FromUserName)}
	switch m.MsgType {
	case message.MsgTypeText:
		cm.Kind, cm.Text = chat.Text, m.Content
	case message.MsgTypeVoice:
		cm.Kind, cm.Text = chat.Voice, m.Recognition
	case message.MsgTypeEvent:
		switch m.Event {
		case message.EventSubscribe:
			cm.Kind = chat.Follow
			// A parametric QR code's key is qrscene_<scene>; any other
			// key is not a scene.
			if scene, ok := strings.CutPrefix(m.EventKey, "qrscene_"); ok {
				cm.Scene = scene
			}
		case message.EventScan:
			cm.Kind, cm.Scene = chat.Scan, m.EventKey
		case message.EventUnsubscribe:
			cm.Kind = chat.Unfollow
		case message.EventClick:
			cm.Kind, cm.Key = chat.Click, m.EventKey
		case message.EventMassSendJobFinish:
			cm.Kind = chat.MassSendFinished
		case message.EventPublishJobFinish:
			cm.Kind = chat.PublishFinished
		default:
			cm.Kind = chat.OtherEvent
		}
	}
	return cm
}

// cannotSave replaces the reply of a command that changes preferences when
// Redis is unavailable: the chat's words for it, nothing to store, no calls.
func (b *Bot) cannotSave(p plan) plan {
	return b.apply("", chat.CannotSave(chat.Plan{Rule: p.rule}))
}

// apply turns the chat's plan into the webhook's; effects whose
// collaborator is missing (no WeChat credentials, no approvals) are dropped.
func (b *Bot) apply(openid string, c chat.Plan) plan {
	p := plan{reply: c.Reply, rule: c.Rule,
		prefs:   subscribers.PrefsChange{Forget: c.ClearUser, SetLang: c.SetLang, TopicsOn: c.TopicsOn, TopicsOff: c.TopicsOff},
		session: c.Session, changesState: c.ChangesState, needsState: c.NeedsState}
	for _, e := range c.Effects {
		if run := b.effectFunc(openid, e, p.reply); run != nil {
			p.effects = append(p.effects, effect{name: e.Kind.String(), run: run})
		}
	}
	return p
}

// effectFunc is the call that makes e happen, nil when nobody is there to
// make it. reply is the plan's, which Approve and Reject fill in.
func (b *Bot) effectFunc(openid string, e chat.Effect, reply *chat.Reply) func(context.Context) error {
	a := b.audience
	switch e.Kind {
	case chat.Followed:
		if a != nil {
			return func(ctx context.Context) error { return a.Followed(ctx, openid, e.Scene) }
		}
	case chat.Scanned:
		if a != nil {
			return func(ctx context.Context) error { return a.Scanned(ctx, openid, e.Scene) }
		}
	case chat.Unfollowed:
		if a != nil {
			return func(ctx context.Context) error { return a.Unfollowed(ctx, openid) }
		}
	case chat.LanguageChanged:
		if a != nil {
			return func(ctx context.Context) error { return a.LanguageChanged(ctx, openid, e.Lang) }
		}
	case chat.TopicChanged:
		if a != nil {
			return func(ctx context.Context) error { return a.TopicChanged(ctx, openid, e.Section, e.On) }
		}
	case chat.Approve, chat.Reject:
		if b.approvals != nil {
			return func(ctx context.Context) error { return b.decide(ctx, openid, e, reply) }
		}
	default:
		b.log.Warn("webhook: the chat asked for an unknown effect", slog.String("effect", e.Kind.String()))
	}
	return nil
}
