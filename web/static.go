package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/errs"
)

//go:embed static
var staticFS embed.FS

const assetPrefix = "/static/"

type asset struct {
	body        []byte
	contentType string
}

// assets are the stylesheet and script under fingerprinted names
// (app.3f2a1b9c.css), so that they can be cached for a year and a new
// release is fetched at once.
type assets struct {
	byURL map[string]asset
	url   map[string]string // file name → fingerprinted URL
}

func loadAssets() (*assets, error) {
	as := &assets{byURL: map[string]asset{}, url: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		ext := path.Ext(name)
		u := assetPrefix + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:4]) + ext
		as.url[name] = u
		as.byURL[u] = asset{body: b, contentType: mime.TypeByExtension(ext)}
		return nil
	})
	return as, err
}

// URL is the fingerprinted address of a static file; templates call it.
func (as *assets) URL(name string) string {
	u, ok := as.url[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return u
}

func (a *app) handleAsset(c echo.Context) error {
	f, ok := a.assets.byURL[c.Request().URL.Path]
	if !ok {
		return errs.E(errs.NotFound, "no such file")
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, f.contentType, f.body)
}
