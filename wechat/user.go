package wechat

import (
	"context"
	"fmt"

	"github.com/silenceper/wechat/v2/util"
)

// UserInfo is what user/info tells about a follower.
type UserInfo struct {
	Subscribed     bool   `json:"subscribed"`
	OpenID         string `json:"openid"`
	Language       string `json:"language"`
	SubscribeTime  int64  `json:"subscribe_time"`
	Remark         string `json:"remark"`
	TagIDs         []int  `json:"tagid_list"`
	SubscribeScene string `json:"subscribe_scene"`
	QRScene        string `json:"qr_scene_str"`
}

// UserInfo returns a follower's profile. For an openid that does not
// follow (any more) WeChat answers errcode 0 with subscribe 0 and nothing
// but the openid: Subscribed is false then. 40003: a malformed openid.
func (c *Client) UserInfo(ctx context.Context, openID string) (UserInfo, error) {
	var info UserInfo
	err := c.sdkCall(ctx, epUserInfo, func() error {
		u, err := c.users.GetUserInfo(openID)
		if err != nil || u == nil {
			return err
		}
		info = UserInfo{
			Subscribed:     u.Subscribe == 1,
			OpenID:         u.OpenID,
			Language:       u.Language,
			SubscribeTime:  int64(u.SubscribeTime),
			Remark:         u.Remark,
			SubscribeScene: u.SubscribeScene,
			QRScene:        u.QrSceneStr,
		}
		for _, id := range u.TagIDList {
			info.TagIDs = append(info.TagIDs, int(id))
		}
		return nil
	})
	if err != nil {
		return UserInfo{}, fmt.Errorf("wechat: user info %s: %w", openID, err)
	}
	return info, nil
}

// httpGet is util.HTTPGetContext; a name for the calls wxbot builds itself.
var httpGet = util.HTTPGetContext
