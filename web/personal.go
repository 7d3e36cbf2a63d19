package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/models"
)

func (a *app) registerPersonalPages(r router) {
	r.page(http.MethodGet, "/notifications", a.handleNotifications)
	r.page(http.MethodPost, "/notifications/read-all", a.handleNotificationsReadAll)
	r.page(http.MethodPost, "/notifications/:id/read", a.handleNotificationRead)
	r.page(http.MethodGet, "/preferences", a.handlePreferences)
	r.page(http.MethodPost, "/preferences", a.handlePreferencesSave)
	r.page(http.MethodGet, "/account", a.handleAccount)
	r.page(http.MethodPost, "/account/password", a.handlePasswordChange)
	r.page(http.MethodPost, "/account/tokens", a.handleTokenCreate)
	r.page(http.MethodPost, "/account/tokens/:id/revoke", a.handleTokenRevoke)
}

type notificationsView struct {
	Page
	Unseen []notice // unread, newest first
	Seen   []notice // read, newest first
}

// notice is one notification with the form token its button needs.
type notice struct {
	N    models.Notification
	CSRF string
}

// handleNotifications lists the unread notifications above the read ones.
// Both come from their own query, so that a long history of read ones
// never pushes an unread one off the page.
func (a *app) handleNotifications(c echo.Context) error {
	ctx, v := c.Request().Context(), viewer(c)
	unseen, err := a.Notifications.Inbox(ctx, v.ID, true)
	if err != nil {
		return fmt.Errorf("unread notifications of user %d: %w", v.ID, err)
	}
	all, err := a.Notifications.Inbox(ctx, v.ID, false)
	if err != nil {
		return fmt.Errorf("notifications of user %d: %w", v.ID, err)
	}
	view := &notificationsView{Page: Page{Nav: "notifications"}}
	token := csrfToken(c)
	for _, n := range unseen {
		view.Unseen = append(view.Unseen, notice{N: n, CSRF: token})
	}
	for _, n := range all {
		if n.ReadAt != nil {
			view.Seen = append(view.Seen, notice{N: n, CSRF: token})
		}
	}
	return a.render(c, http.StatusOK, "notifications", view)
}

func (a *app) handleNotificationRead(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return errs.E(errs.NotFound, "no such notification")
	}
	if _, err := a.Notifications.MarkRead(c.Request().Context(), viewer(c).ID, id); err != nil {
		return err
	}
	a.flash(c, "Notification marked as read.")
	return seeOther(c, "/notifications")
}

func (a *app) handleNotificationsReadAll(c echo.Context) error {
	n, err := a.Notifications.MarkAllRead(c.Request().Context(), viewer(c).ID)
	if err != nil {
		return err
	}
	switch n {
	case 0:
		a.flash(c, "There were no unread notifications.")
	case 1:
		a.flash(c, "1 notification marked as read.")
	default:
		a.flash(c, fmt.Sprintf("%d notifications marked as read.", n))
	}
	return seeOther(c, "/notifications")
}
