package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/notifications"
)

// eventLabels name the events as the preferences table shows them.
var eventLabels = map[string]string{
	notifications.RequestSubmitted:              "Request submitted",
	notifications.RequestApproved:               "Request approved",
	notifications.RequestClarificationRequested: "Clarification requested",
	notifications.RequestResponded:              "Requester responded",
	notifications.RequestRejected:               "Request rejected",
	notifications.RequestFulfilled:              "Data shared",
	notifications.RequestWithdrawn:              "Request withdrawn",
	notifications.SLAAtRisk:                     "At risk of missing the target",
	notifications.SLABreached:                   "Due time passed (target breached)",
	notifications.DailyDigest:                   "Daily digest",
	notifications.StatementPublished:            "Monthly compliance statement",
	notifications.ProjectAtRisk:                 "Project at risk of missing the target",
	notifications.ProjectBreached:               "Project past its due time (target breached)",
}

var channelLabels = map[string]string{notifications.Email: "Email", notifications.InApp: "In the app", notifications.Webhook: "Webhook"}

type preferencesView struct {
	Page
	Channels []string // column headings
	Rows     []preferenceRow
	Problems []problem
}

type preferenceRow struct {
	Event, Label string
	Locked       bool
	NoteID       string // the explanation of a locked row
	Cells        []preferenceCell
}

// preferenceCell is one checkbox; its Name is "channel.event", the key of
// the form.
type preferenceCell struct {
	ID, Name, Label string
	On, Locked      bool
	NoteID          string
	Error           string
}

func (a *app) preferencesView(p notifications.Preferences, locked []string) *preferencesView {
	v := &preferencesView{Page: Page{Nav: "preferences"}}
	for _, ch := range notifications.UserChannels {
		v.Channels = append(v.Channels, channelLabels[ch])
	}
	for _, e := range notifications.Events {
		row := preferenceRow{Event: e, Label: eventLabels[e], Locked: slices.Contains(locked, e)}
		if row.Locked {
			row.NoteID = "locked-" + strings.ReplaceAll(e, ".", "-")
		}
		for _, ch := range notifications.UserChannels {
			name := ch + "." + e
			row.Cells = append(row.Cells, preferenceCell{
				ID: "pref-" + strings.ReplaceAll(name, ".", "-"), Name: name,
				Label: channelLabels[ch] + ": " + strings.ToLower(eventLabels[e]),
				On:    p[ch][e], Locked: row.Locked, NoteID: row.NoteID,
			})
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func (a *app) handlePreferences(c echo.Context) error {
	u, err := a.Accounts.UserByID(c.Request().Context(), viewer(c).ID)
	if err != nil {
		return err
	}
	p, locked, err := a.Notifications.Preferences(c.Request().Context(), u)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "preferences", a.preferencesView(p, locked))
}

// handlePreferencesSave sends the service every setting the form showed:
// the hidden "shown" fields list them, because a browser sends nothing for
// an unchecked box. Locked settings are not shown as editable, so they are
// not sent; if one is sent anyway, the service refuses it.
func (a *app) handlePreferencesSave(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := a.Accounts.UserByID(ctx, viewer(c).ID)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	p := notifications.Preferences{}
	for _, name := range form["shown"] {
		ch, e, _ := strings.Cut(name, ".")
		if p[ch] == nil {
			p[ch] = map[string]bool{}
		}
		p[ch][e] = form.Get(name) != ""
	}
	_, _, err = a.Notifications.SetPreferences(ctx, u, p)
	field, msg, ok := fieldProblem(err)
	if err != nil && !ok {
		return err
	}
	if ok {
		return a.refusePreferences(c, u.ID, p, field, msg)
	}
	a.flash(c, "Your notification preferences have been saved.")
	return seeOther(c, "/preferences")
}

// refusePreferences shows the form again as it was sent, with the
// service's message beside the setting it refused.
func (a *app) refusePreferences(c echo.Context, userID int64, sent notifications.Preferences, field, msg string) error {
	u, err := a.Accounts.UserByID(c.Request().Context(), userID)
	if err != nil {
		return err
	}
	p, locked, err := a.Notifications.Preferences(c.Request().Context(), u)
	if err != nil {
		return err
	}
	for ch, events := range sent {
		for e, on := range events {
			if _, known := p[ch][e]; known && !slices.Contains(locked, e) {
				p[ch][e] = on
			}
		}
	}
	v := a.preferencesView(p, locked)
	target := "preferences-table"
	for i := range v.Rows {
		for j := range v.Rows[i].Cells {
			if cell := &v.Rows[i].Cells[j]; cell.Name == field {
				cell.Error, target = msg, cell.ID
			}
		}
	}
	v.Problems = []problem{{ID: target, Message: msg}}
	return a.render(c, http.StatusUnprocessableEntity, "preferences", v)
}
