package subscribers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/lifang/wxbot/store"
)

// A subscriber's preferences are one hash, store.Keys.Prefs(openid), with
// no TTL:
//
//	lang            zh | en | both: the reply language chosen
//	topic:SECTION   "1": the subscriber follows SECTION (its Chinese title)
//
// This file is the one that knows those fields. The webhook reads and
// writes them within its own round trips — the read in the pipeline that
// claims a message, the writes in the one that stores its reply — so the
// functions here queue commands into the caller's pipeline rather than run
// them; LanguageChanged and TopicChanged then mirror the change to WeChat
// tags.
const (
	fieldLang  = "lang"
	fieldTopic = "topic:"
	topicOn    = "1"
)

// Prefs are a subscriber's preferences as stored.
type Prefs struct {
	Lang   string   // "" when none was chosen; else as stored (zh, en, both)
	Topics []string // the sections followed, by Chinese title, sorted; nil for none
}

// PrefsChange is what one message changes of a subscriber's preferences.
type PrefsChange struct {
	Forget    bool   // delete them all first (the subscriber unfollowed)
	SetLang   string // "": the language stays
	TopicsOn  []string
	TopicsOff []string
}

// IsZero reports whether c changes nothing.
func (c PrefsChange) IsZero() bool {
	return !c.Forget && c.SetLang == "" && len(c.TopicsOn) == 0 && len(c.TopicsOff) == 0
}

// PrefsRead is a read queued by QueuePrefsRead; Prefs decodes it once the
// pipeline has run.
type PrefsRead struct{ cmd *redis.MapStringStringCmd }

// QueuePrefsRead queues the read of openid's preferences into pipe.
func QueuePrefsRead(ctx context.Context, pipe redis.Pipeliner, k store.Keys, openid string) PrefsRead {
	return PrefsRead{pipe.HGetAll(ctx, k.Prefs(openid))}
}

// Prefs is what the read found: the zero Prefs for a subscriber who has
// none. Only topics marked "1" count as followed.
func (r PrefsRead) Prefs() (Prefs, error) {
	h, err := r.cmd.Result()
	if err != nil {
		return Prefs{}, fmt.Errorf("subscribers: read preferences: %w", err)
	}
	return decodePrefs(h), nil
}

func decodePrefs(h map[string]string) Prefs {
	p := Prefs{Lang: h[fieldLang]}
	for f, v := range h {
		if t, ok := strings.CutPrefix(f, fieldTopic); ok && v == topicOn {
			p.Topics = append(p.Topics, t)
		}
	}
	sort.Strings(p.Topics)
	return p
}

// QueuePrefsChange queues c's writes to openid's preferences into pipe, in
// order: forget, then set, then remove. A change that changes nothing
// queues nothing.
func QueuePrefsChange(ctx context.Context, pipe redis.Pipeliner, k store.Keys, openid string, c PrefsChange) {
	if c.IsZero() {
		return
	}
	key := k.Prefs(openid)
	if c.Forget {
		pipe.Del(ctx, key)
	}
	if c.SetLang != "" || len(c.TopicsOn) > 0 {
		set := make([]any, 0, 2+2*len(c.TopicsOn))
		if c.SetLang != "" {
			set = append(set, fieldLang, c.SetLang)
		}
		for _, t := range c.TopicsOn {
			set = append(set, fieldTopic+t, topicOn)
		}
		pipe.HSet(ctx, key, set...)
	}
	if len(c.TopicsOff) > 0 {
		del := make([]string, len(c.TopicsOff))
		for i, t := range c.TopicsOff {
			del[i] = fieldTopic + t
		}
		pipe.HDel(ctx, key, del...)
	}
}

// LangField is the field of the reply language, for a caller that reads it
// alone within its own batched commands (store.Commits, the webhook's
// one-round-trip path).
const LangField = fieldLang
