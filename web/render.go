package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed templates
var templateFS embed.FS

// pages holds every page's template: the layout and the partials, with
// one page file that defines "title" and "content".
type pages struct {
	byName map[string]*template.Template
}

func parsePages(funcs template.FuncMap) (*pages, error) {
	shared, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := path.Base(f)
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(shared.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, err
		}
		for _, need := range []string{"title", "content"} {
			if t.Lookup(need) == nil {
				return nil, fmt.Errorf("%s defines no %q", name, need)
			}
		}
		p.byName[strings.TrimSuffix(name, ".html")] = t
	}
	return p, nil
}

// Page is what every page's view carries for the layout.
type Page struct {
	Viewer *Viewer // nil when nobody is signed in
	CSRF   string
	Unread int64
	Flash  string
	Nav    string // which header link is the current page
	Assets *assets
}

func (p *Page) page() *Page { return p }

// view is a page's typed view struct, which embeds Page.
type view interface{ page() *Page }

// render writes page name with v under status. The page is rendered to a
// buffer first, so that a template error answers a clean 500 instead of
// half a page.
func (a *app) render(c echo.Context, status int, name string, v view) error {
	t, ok := a.pages.byName[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	p := v.page()
	p.Assets = a.assets
	p.CSRF = csrfToken(c)
	if p.Viewer == nil {
		p.Viewer = viewer(c)
	}
	if p.Viewer != nil {
		n, err := a.Notifications.Unread(c.Request().Context(), p.Viewer.ID)
		if err != nil {
			return fmt.Errorf("count unread notifications: %w", err)
		}
		p.Unread = n
	}
	if p.Flash == "" && hasSession(c) {
		p.Flash = a.popFlash(c)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// seeOther redirects after a successful form post (POST, redirect, GET), so
// that reloading the page does not send the form twice.
func seeOther(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}
