package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/models"
	"datashare/notifications"
)

type webhooksView struct {
	Page
	Hooks            []webhookRow
	URL, Secret      fieldView
	Events           fieldView // the checkboxes
	Problems         []problem
	RecentDeliveries int
}

type webhookRow struct {
	ID         int64
	URL        string // as notifications.DisplayURL shows it
	Events     []string
	Created    models.Webhook
	Deliveries []models.Delivery // the newest few
}

// recentDeliveries is how many deliveries each webhook shows.
const recentDeliveries = 5

// webhookEvents are the events a webhook may hear of: every event but the
// daily digest, which is a mail.
func webhookEvents() []string {
	return slices.DeleteFunc(slices.Clone(notifications.Events), func(e string) bool { return e == notifications.DailyDigest })
}

func eventLabel(e string) string {
	if e == "*" {
		return "Every event"
	}
	return label(eventLabels, e)
}

func (a *app) webhooksView(c echo.Context, chosen []string) (*webhooksView, error) {
	ctx, actor := c.Request().Context(), viewer(c).Actor
	hs, err := a.Notifications.Webhooks(ctx, actor)
	if err != nil {
		return nil, err
	}
	v := &webhooksView{Page: Page{Nav: "admin"}, RecentDeliveries: recentDeliveries,
		URL: fieldView{ID: "webhook-url", Name: "url", Label: "Address", Type: "url", Required: true,
			Hint: "The https address that receives a signed POST for each event."},
		Secret: fieldView{ID: "webhook-secret", Name: "secret", Label: "Signing secret", Type: "password", Required: true, Autocomplete: "off",
			Hint: "16 to 200 characters, shared with the receiver, which checks each request's signature with it. It is not shown again."},
		Events: fieldView{ID: "webhook-events", Name: "events", Label: "Events", Required: true, Hint: "Choose at least one."},
	}
	for _, e := range append([]string{"*"}, webhookEvents()...) {
		v.Events.Options = append(v.Events.Options, option{Value: e, Label: eventLabel(e), Selected: slices.Contains(chosen, e)})
	}
	for _, h := range hs {
		ds, err := a.Notifications.Deliveries(ctx, actor, h.ID, "")
		if err != nil {
			return nil, err
		}
		row := webhookRow{ID: h.ID, URL: notifications.DisplayURL(h.URL), Created: h, Deliveries: ds[:min(len(ds), recentDeliveries)]}
		for _, e := range strings.Split(h.Events, ",") {
			row.Events = append(row.Events, eventLabel(e))
		}
		v.Hooks = append(v.Hooks, row)
	}
	return v, nil
}

func (a *app) handleWebhooks(c echo.Context) error {
	v, err := a.webhooksView(c, nil)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "admin_webhooks", v)
}

func (a *app) handleWebhookCreate(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	in := notifications.NewWebhook{URL: form.Get("url"), Events: form["events"], Secret: form.Get("secret")}
	h, err := a.Notifications.CreateWebhook(c.Request().Context(), viewer(c).Actor, in)
	if r, ok := refusalOf(err, ""); ok {
		v, verr := a.webhooksView(c, in.Events)
		if verr != nil {
			return verr
		}
		// The secret is not sent back into the page.
		v.URL.Value = in.URL
		v.Problems = markField(r.Field, r.Message, &v.URL, &v.Events, &v.Secret)
		return a.render(c, r.Status, "admin_webhooks", v)
	}
	if err != nil {
		return err
	}
	a.flash(c, fmt.Sprintf("Webhook %d to %s has been added.", h.ID, notifications.DisplayURL(h.URL)))
	return seeOther(c, "/admin/webhooks")
}

func (a *app) handleWebhookDelete(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "no webhook %q", c.Param("id"))
	}
	if err := a.Notifications.DeleteWebhook(c.Request().Context(), viewer(c).Actor, id); err != nil {
		return err
	}
	a.flash(c, fmt.Sprintf("Webhook %d has been deleted; deliveries still queued for it will not be sent.", id))
	return seeOther(c, "/admin/webhooks")
}

type deliveriesView struct {
	Page
	Dead     []models.Delivery
	Problems []problem
}

func (a *app) deliveriesView(c echo.Context) (*deliveriesView, error) {
	ds, err := a.Notifications.Deliveries(c.Request().Context(), viewer(c).Actor, 0, notifications.StateDead)
	if err != nil {
		return nil, err
	}
	return &deliveriesView{Page: Page{Nav: "admin"}, Dead: ds}, nil
}

func (a *app) handleDeliveries(c echo.Context) error {
	v, err := a.deliveriesView(c)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "admin_deliveries", v)
}

// handleDeliveryRetry shows a refused retry (the delivery was retried
// meanwhile, or its webhook deleted) at the top of the list it came from.
func (a *app) handleDeliveryRetry(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "no delivery %q", c.Param("id"))
	}
	_, err = a.Notifications.Requeue(c.Request().Context(), viewer(c).Actor, id)
	if errs.Is(err, errs.Conflict) || errs.Is(err, errs.NotFound) {
		v, verr := a.deliveriesView(c)
		if verr != nil {
			return verr
		}
		v.Problems = []problem{{ID: "dead-deliveries", Message: messageOf(err)}}
		status := http.StatusConflict
		if errs.Is(err, errs.NotFound) {
			status = http.StatusNotFound
		}
		return a.render(c, status, "admin_deliveries", v)
	}
	if err != nil {
		return err
	}
	a.flash(c, fmt.Sprintf("Delivery %d is queued again.", id))
	return seeOther(c, "/admin/deliveries")
}

func (a *app) handleDeliveriesRetryAll(c echo.Context) error {
	n, skipped, err := a.Notifications.RequeueDead(c.Request().Context(), viewer(c).Actor)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%d %s queued again.", n, plural(n, "delivery is", "deliveries are"))
	if skipped > 0 {
		msg += fmt.Sprintf(" %d could not be: their webhook was deleted, or they were retried meanwhile.", skipped)
	}
	a.flash(c, msg)
	return seeOther(c, "/admin/deliveries")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
