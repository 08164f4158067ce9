package wechat

import (
	"context"
	"fmt"

	"github.com/silenceper/wechat/v2/officialaccount/menu"

	"github.com/lifang/wxbot/config"
)

// MenuButton is a button of the custom menu: click (Key), view (URL), or a
// parent with sub-buttons.
type MenuButton struct {
	Type       string       `json:"type,omitempty"`
	Name       string       `json:"name"`
	Key        string       `json:"key,omitempty"`
	URL        string       `json:"url,omitempty"`
	SubButtons []MenuButton `json:"sub_button,omitempty"`
}

// MenuFromConfig converts bot.menu into menu buttons.
func MenuFromConfig(buttons []config.MenuButton) []MenuButton {
	out := make([]MenuButton, 0, len(buttons))
	for _, b := range buttons {
		mb := MenuButton{Name: b.Name}
		if len(b.SubButtons) > 0 {
			mb.SubButtons = MenuFromConfig(b.SubButtons)
		} else {
			mb.Type, mb.Key, mb.URL = b.Type, b.Key, b.URL
		}
		out = append(out, mb)
	}
	return out
}

// CreateMenu replaces the account's custom menu.
func (c *Client) CreateMenu(ctx context.Context, buttons []MenuButton) error {
	err := c.sdkCall(ctx, epMenuCreate, func() error { return c.menu.SetMenu(toSDKButtons(buttons)) })
	if err != nil {
		return fmt.Errorf("wechat: create menu: %w", err)
	}
	return nil
}

// Menu returns the account's custom menu; errcode 46003 means there is none.
func (c *Client) Menu(ctx context.Context) ([]MenuButton, error) {
	var res menu.ResMenu
	err := c.sdkCall(ctx, epMenuGet, func() error {
		var err error
		res, err = c.menu.GetMenu()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wechat: get menu: %w", err)
	}
	return fromSDKButtons(res.Menu.Button), nil
}

func toSDKButtons(bs []MenuButton) []*menu.Button {
	out := make([]*menu.Button, 0, len(bs))
	for _, b := range bs {
		out = append(out, &menu.Button{Type: b.Type, Name: b.Name, Key: b.Key, URL: b.URL, SubButtons: toSDKButtons(b.SubButtons)})
	}
	return out
}

func fromSDKButtons(bs []menu.Button) []MenuButton {
	out := make([]MenuButton, 0, len(bs))
	for _, b := range bs {
		subs := make([]menu.Button, 0, len(b.SubButtons))
		for _, s := range b.SubButtons {
			if s != nil {
				subs = append(subs, *s)
			}
		}
		mb := MenuButton{Type: b.Type, Name: b.Name, Key: b.Key, URL: b.URL}
		if len(subs) > 0 {
			mb.SubButtons = fromSDKButtons(subs)
		}
		out = append(out, mb)
	}
	return out
}
