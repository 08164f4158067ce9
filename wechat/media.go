package wechat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"path"

	"github.com/silenceper/wechat/v2/util"
)

// Material is a permanent material: its media_id (used as thumb_media_id)
// and its URL on WeChat's image servers.
type Material struct {
	MediaID string `json:"media_id"`
	URL     string `json:"url"`
}

// MaterialType is the type of a permanent image material.
type MaterialType string

// The permanent material types wxbot uploads.
const (
	MaterialImage MaterialType = "image" // ≤ 10 MB, bmp/png/jpeg/jpg/gif
	MaterialThumb MaterialType = "thumb" // ≤ 64 KB JPG
)

// UploadImage uploads an image for use inside article content
// (media/uploadimg: jpg/png under 1 MB) and returns its URL. Retried on
// failure: a repeat only leaves an unused copy.
func (c *Client) UploadImage(ctx context.Context, filename string, data []byte) (string, error) {
	if len(data) == 0 {
		return "", errors.New("wechat: upload image: empty file")
	}
	var ans struct {
		URL string `json:"url"`
	}
	err := c.upload(ctx, epUploadImg, nil, filename, data, &ans)
	if err != nil {
		return "", fmt.Errorf("wechat: upload image %s: %w", path.Base(filename), err)
	}
	return ans.URL, nil
}

// AddMaterial uploads a permanent image or thumb material
// (material/add_material) and returns its media_id and URL.
func (c *Client) AddMaterial(ctx context.Context, typ MaterialType, filename string, data []byte) (Material, error) {
	if len(data) == 0 {
		return Material{}, errors.New("wechat: add material: empty file")
	}
	var m Material
	err := c.upload(ctx, epAddMaterial, []string{"type", string(typ)}, filename, data, &m)
	if err != nil {
		return Material{}, fmt.Errorf("wechat: add %s material %s: %w", typ, path.Base(filename), err)
	}
	return m, nil
}

// upload posts a multipart "media" file. The SDK's upload helpers take no
// context and turn errcodes into strings, so the form is built here and
// sent with util.HTTPPostContext.
func (c *Client) upload(ctx context.Context, ep endpoint, query []string, filename string, data []byte, out any) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("media", path.Base(filename))
	if err != nil {
		return err
	}
	if _, err := part.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	header := map[string]string{"Content-Type": w.FormDataContentType()}
	return c.invoke(ctx, ep, true, func(ctx context.Context, token string) error {
		raw, err := util.HTTPPostContext(ctx, c.url(ep.name, token, query...), body.Bytes(), header)
		if err != nil {
			return classify(ep.name, err)
		}
		return decode(ep.name, raw, out)
	})
}
