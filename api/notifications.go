package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/models"
	"datashare/notifications"
)

type notificationJSON struct {
	ID        int64      `json:"id"`
	Event     string     `json:"event"`
	RequestID *int64     `json:"request_id"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

func toNotification(n models.Notification) notificationJSON {
	return notificationJSON{ID: n.ID, Event: n.Event, RequestID: n.RequestID, Title: n.Title, Body: n.Body,
		CreatedAt: n.CreatedAt.UTC(), ReadAt: utc(n.ReadAt)}
}

type webhookJSON struct {
	ID        int64     `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
}

func toWebhook(h models.Webhook) webhookJSON {
	return webhookJSON{ID: h.ID, URL: notifications.DisplayURL(h.URL), Events: splitList(h.Events), CreatedAt: h.CreatedAt.UTC()}
}

func splitList(s string) []string {
	out := []string{}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

type deliveryJSON struct {
	ID            int64      `json:"id"`
	DeliveryID    string     `json:"delivery_id"`
	Event         string     `json:"event"`
	Channel       string     `json:"channel"`
	Recipient     string     `json:"recipient"`
	RequestID     *int64     `json:"request_id"`
	WebhookID     *int64     `json:"webhook_id"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

func toDelivery(d models.Delivery) deliveryJSON {
	to := d.Recipient
	if d.Channel == notifications.Webhook {
		to = notifications.DisplayURL(to)
	}
	return deliveryJSON{ID: d.ID, DeliveryID: d.DeliveryID, Event: d.Event, Channel: d.Channel, Recipient: to,
		RequestID: d.RequestID, WebhookID: d.WebhookID, State: d.State, Attempts: d.Attempts,
		NextAttemptAt: d.NextAttemptAt.UTC(), LastError: d.LastError, CreatedAt: d.CreatedAt.UTC(), DeliveredAt: utc(d.DeliveredAt)}
}

type preferencesJSON struct {
	Email  map[string]bool `json:"email"`
	InApp  map[string]bool `json:"in_app"`
	Locked []string        `json:"locked"`
}

func toPreferences(p notifications.Preferences, locked []string) preferencesJSON {
	if locked == nil {
		locked = []string{}
	}
	return preferencesJSON{Email: p[notifications.Email], InApp: p[notifications.InApp], Locked: locked}
}

func registerNotificationRoutes(g authedGroup, s *server) {
	g.GET("/notifications", s.handleInbox)
	g.POST("/notifications/read-all", s.handleReadAll)
	g.POST("/notifications/:notification_id/read", s.handleRead)
	g.GET("/me/preferences", s.handlePreferencesGet)
	g.PUT("/me/preferences", s.handlePreferencesPut)
	g.POST("/webhooks", s.handleWebhookCreate)
	g.GET("/webhooks", s.handleWebhookList)
	g.DELETE("/webhooks/:webhook_id", s.handleWebhookDelete)
	g.GET("/webhooks/:webhook_id/deliveries", s.handleWebhookDeliveries)
	g.GET("/admin/deliveries", s.handleDeliveryList)
	g.POST("/admin/deliveries/:delivery_id/retry", s.handleDeliveryRetry)
}

func (s *server) handleInbox(c echo.Context) error {
	unread := false
	switch c.QueryParam("unread") {
	case "", "false":
	case "true":
		unread = true
	default:
		return errs.Field("unread", "unread must be true or false")
	}
	ns, err := s.Notifications.Inbox(c.Request().Context(), caller(c).user.ID, unread)
	if err != nil {
		return err
	}
	out := list[notificationJSON]{Items: []notificationJSON{}}
	for _, n := range ns {
		out.Items = append(out.Items, toNotification(n))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleRead(c echo.Context) error {
	id, err := pathID(c, "notification_id")
	if err != nil {
		return err
	}
	n, err := s.Notifications.MarkRead(c.Request().Context(), caller(c).user.ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toNotification(n))
}

func (s *server) handleReadAll(c echo.Context) error {
	n, err := s.Notifications.MarkAllRead(c.Request().Context(), caller(c).user.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int64{"marked": n})
}

func (s *server) handlePreferencesGet(c echo.Context) error {
	p, locked, err := s.Notifications.Preferences(c.Request().Context(), caller(c).user)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPreferences(p, locked))
}

func (s *server) handlePreferencesPut(c echo.Context) error {
	var in struct {
		Email map[string]bool `json:"email"`
		InApp map[string]bool `json:"in_app"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	p := notifications.Preferences{}
	if in.Email != nil {
		p[notifications.Email] = in.Email
	}
	if in.InApp != nil {
		p[notifications.InApp] = in.InApp
	}
	out, locked, err := s.Notifications.SetPreferences(c.Request().Context(), caller(c).user, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPreferences(out, locked))
}

func (s *server) handleWebhookCreate(c echo.Context) error {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
		Secret string   `json:"secret"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	h, err := s.Notifications.CreateWebhook(c.Request().Context(), caller(c).actor, notifications.NewWebhook{URL: in.URL, Events: in.Events, Secret: in.Secret})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/webhooks/"+strconv.FormatInt(h.ID, 10))
	return c.JSON(http.StatusCreated, toWebhook(h))
}

func (s *server) handleWebhookList(c echo.Context) error {
	hs, err := s.Notifications.Webhooks(c.Request().Context(), caller(c).actor)
	if err != nil {
		return err
	}
	out := list[webhookJSON]{Items: []webhookJSON{}}
	for _, h := range hs {
		out.Items = append(out.Items, toWebhook(h))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleWebhookDelete(c echo.Context) error {
	id, err := pathID(c, "webhook_id")
	if err != nil {
		return err
	}
	if err := s.Notifications.DeleteWebhook(c.Request().Context(), caller(c).actor, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) deliveries(c echo.Context, webhookID int64) error {
	ds, err := s.Notifications.Deliveries(c.Request().Context(), caller(c).actor, webhookID, c.QueryParam("state"))
	if err != nil {
		return err
	}
	out := list[deliveryJSON]{Items: []deliveryJSON{}}
	for _, d := range ds {
		out.Items = append(out.Items, toDelivery(d))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleWebhookDeliveries(c echo.Context) error {
	id, err := pathID(c, "webhook_id")
	if err != nil {
		return err
	}
	return s.deliveries(c, id)
}

func (s *server) handleDeliveryList(c echo.Context) error { return s.deliveries(c, 0) }

func (s *server) handleDeliveryRetry(c echo.Context) error {
	id, err := pathID(c, "delivery_id")
	if err != nil {
		return err
	}
	d, err := s.Notifications.Requeue(c.Request().Context(), caller(c).actor, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDelivery(d))
}
