package chat

import (
	"testing"

	"github.com/lifang/wxbot/config"
)

func TestStripEmoji(t *testing.T) {
	for in, want := range map[string]string{
		"/::)":                     "",
		"/:8-)":                    "",
		"/:hug":                    "",
		"/::)/::)/:rose":           "",
		"人脸识别/:hug":                "人脸识别",
		"/:strong GDPR /::D":       "GDPR",
		"[微笑]":                     "",
		"［捂脸］人脸识别":                 "人脸识别",
		"[Smile] gdpr [Thumbs Up]": "gdpr",
		"[GDPR] fines":             "[GDPR] fines",   // an acronym is no emoji
		"[个人信息保护法草案] 二审":           "[个人信息保护法草案] 二审", // too long for an emoji name
		"https://example.com/a":    "https://example.com/a",
		"a/:b":                     "a",
		"/:":                       "/:",
		"[":                        "[",
		"[]":                       "[]",
		"[微笑":                      "[微笑",
		"最新[微笑]":                   "最新",
	} {
		if got := stripEmoji(in); got != want {
			t.Errorf("stripEmoji(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBlockList(t *testing.T) {
	bl := newBlockList(config.DefaultBlockedWords)
	for q, want := range map[string]bool{
		"傻逼":          true,
		"你是傻逼吗":       true,
		"FUCK":        true,
		"fucking bot": true,
		"you idiots":  true,
		"Ｓｈｉｔ":        true,
		"GDPR":        false,
		"shiitake":    false, // whole words only
		"Scunthorpe":  false,
		"人脸识别":        false,
		"垃圾分类":        false, // a real topic, not in the list
		"":            false,
	} {
		if got := bl.blocks(q); got != want {
			t.Errorf("blocks(%q) = %v, want %v", q, got, want)
		}
	}
	if newBlockList(nil).blocks("fuck") {
		t.Error("an empty list blocks")
	}
}
