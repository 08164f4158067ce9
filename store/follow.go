package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// followScript records a follow or a scan atomically. A scene counts as
// gained only for a subscribe (ARGV[3] = "1") of an openid not following
// yet, so WeChat's retry of the subscribe on another replica never counts
// twice, and a SCAN — WeChat sends it only to people already following,
// some since before wxbot kept count — never counts at all. All keys share
// the {qr} hash tag.
//
//	KEYS: following, gained:SCENE, scanned:SCENE, scenes   ARGV: openid, scene, gain
var followScript = redis.NewScript(`
local was = redis.call("SISMEMBER", KEYS[1], ARGV[1])
redis.call("SADD", KEYS[1], ARGV[1])
if ARGV[2] ~= "" then
  redis.call("SADD", KEYS[3], ARGV[1])
  redis.call("SADD", KEYS[4], ARGV[2])
  if was == 0 and ARGV[3] == "1" then redis.call("SADD", KEYS[2], ARGV[1]) end
end
return was`)

// RecordFollow records that openid follows the account, through the
// campaign scene ("" for none): a subscribe (subscribe true) or a SCAN of
// a follower. The scene counts openid as gained only for a subscribe of
// someone not following yet; as scanned either way. It reports whether
// openid was following already.
func RecordFollow(ctx context.Context, rdb redis.Scripter, k Keys, openid, scene string, subscribe bool) (bool, error) {
	keys := []string{k.QRFollowing(), k.QRGained(scene), k.QRScanned(scene), k.QRScenes()}
	gain := "0"
	if subscribe {
		gain = "1"
	}
	was, err := followScript.Run(ctx, rdb, keys, openid, scene, gain).Int()
	return was == 1, err
}

// RecordCampaign stores a campaign (its JSON) under its scene and adds the
// scene to the scenes seen, in one MULTI: a scene with a campaign is always
// listed. Both keys share the {qr} hash tag. A campaign recorded again for
// a scene replaces the one there.
func RecordCampaign(ctx context.Context, rdb redis.Cmdable, k Keys, scene string, campaign []byte) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.QRCampaigns(), scene, campaign)
		p.SAdd(ctx, k.QRScenes(), scene)
		return nil
	})
	return err
}
