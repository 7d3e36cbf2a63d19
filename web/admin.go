package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// The admin pages call the services the API's admin routes call; the
// services refuse anyone but an admin, and onlyAdmins answers 403 before a
// page is drawn, so that a non-admin never sees a half-empty form.
func (a *app) registerAdminPages(r router) {
	admin := func(method, path string, h echo.HandlerFunc) { r.page(method, path, onlyAdmins(h)) }
	admin(http.MethodGet, "/admin", a.handleAdminSummary)
	admin(http.MethodGet, "/admin/agencies", a.handleAgencies)
	admin(http.MethodPost, "/admin/agencies", a.handleAgencyCreate)
	admin(http.MethodPost, "/admin/agencies/:code", a.handleAgencyRename)
	admin(http.MethodGet, "/admin/webhooks", a.handleWebhooks)
	admin(http.MethodPost, "/admin/webhooks", a.handleWebhookCreate)
	admin(http.MethodPost, "/admin/webhooks/:id/delete", a.handleWebhookDelete)
	admin(http.MethodGet, "/admin/deliveries", a.handleDeliveries)
	admin(http.MethodPost, "/admin/deliveries/retry-all", a.handleDeliveriesRetryAll)
	admin(http.MethodPost, "/admin/deliveries/:id/retry", a.handleDeliveryRetry)
	admin(http.MethodGet, "/admin/calendar", a.handleCalendar)
	admin(http.MethodPost, "/admin/calendar", a.handleCalendarAdd)
	admin(http.MethodPost, "/admin/calendar/import", a.handleCalendarImport)
	admin(http.MethodPost, "/admin/calendar/:date/remove", a.handleCalendarRemove)
	admin(http.MethodGet, "/admin/users", a.handleUsers)
	admin(http.MethodPost, "/admin/users", a.handleUserCreate)
	admin(http.MethodGet, "/admin/users/:id", a.handleUser)
	admin(http.MethodPost, "/admin/users/:id", a.handleUserUpdate)
	admin(http.MethodPost, "/admin/users/:id/active", a.handleUserActive)
	admin(http.MethodPost, "/admin/users/:id/requests/:request/reassign", a.handleUserReassign)
}

func onlyAdmins(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !viewer(c).Has(string(workflow.Admin)) {
			return errs.E(errs.Forbidden, "only an admin may open the admin pages")
		}
		return next(c)
	}
}

// refusal is a service's refusal of a form as the page shows it: the field
// it names (conflict names none, so the caller says which field a conflict
// is about), the message, and the status of the answer.
type refusal struct {
	Field, Message string
	Status         int
}

// refusalOf returns the refusal of err, or ok false for an error that is
// not about what was sent, which the caller returns.
func refusalOf(err error, conflictField string) (refusal, bool) {
	if field, msg, ok := fieldProblem(err); ok {
		return refusal{Field: field, Message: msg, Status: http.StatusUnprocessableEntity}, true
	}
	var e *errs.Error
	if errors.As(err, &e) && e.Code == errs.Conflict && conflictField != "" {
		return refusal{Field: conflictField, Message: sentence(e.Message), Status: http.StatusConflict}, true
	}
	return refusal{}, false
}

// markField puts msg beside the field of fs named field, and returns the
// error summary that links to it; when no field has that name, the summary
// links to the first.
func markField(field, msg string, fs ...*fieldView) []problem {
	for _, f := range fs {
		if f.Name == field {
			f.Error = msg
			return []problem{{ID: f.ID, Message: msg}}
		}
	}
	return []problem{{ID: fs[0].ID, Message: msg}}
}

type summaryView struct {
	Page
	Agencies     int
	Users        int
	Deactivated  int
	RoleCounts   []roleCount // of active users
	Open         []stateCount
	OpenTotal    int64
	Dead         int64
	NextHolidays []models.Holiday
}

type roleCount struct {
	Role, Label string
	N           int
}

type stateCount struct {
	State string
	N     int64
}

// awaitedStates are the states of a submitted request someone still has to act on.
var awaitedStates = []workflow.State{workflow.Submitted, workflow.ClarificationRequested, workflow.Approved}

// nextHolidays is how many coming days off the summary lists.
const nextHolidays = 5

func (a *app) handleAdminSummary(c echo.Context) error {
	ctx, actor := c.Request().Context(), viewer(c).Actor
	v := &summaryView{Page: Page{Nav: "admin"}}
	agencies, err := a.Accounts.ListAgencies(ctx)
	if err != nil {
		return err
	}
	v.Agencies = len(agencies)
	users, err := a.Accounts.ListUsers(ctx, actor)
	if err != nil {
		return err
	}
	v.Users = len(users)
	for _, u := range users {
		if !u.Active() {
			v.Deactivated++
		}
	}
	for _, r := range workflow.Roles {
		rc := roleCount{Role: string(r), Label: roleLabel(string(r))}
		for _, u := range users {
			if u.Active() && accounts.ActorOf(u).Has(r) {
				rc.N++
			}
		}
		v.RoleCounts = append(v.RoleCounts, rc)
	}
	byState, err := a.Workflow.CountByState(ctx)
	if err != nil {
		return err
	}
	for _, st := range awaitedStates {
		v.Open = append(v.Open, stateCount{State: string(st), N: byState[st]})
		v.OpenTotal += byState[st]
	}
	backlog, err := a.Notifications.Backlog(ctx)
	if err != nil {
		return err
	}
	v.Dead = backlog.Dead
	if v.NextHolidays, err = a.comingDaysOff(c, nextHolidays); err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "admin", v)
}

// comingDaysOff are the next n days off from today, in the calendar's
// zone, looking into this year and the next.
func (a *app) comingDaysOff(c echo.Context, n int) ([]models.Holiday, error) {
	today := a.Now().In(a.Holidays.Location())
	from := today.Format(time.DateOnly)
	var out []models.Holiday
	for _, y := range []int{today.Year(), today.Year() + 1} {
		hs, err := a.Holidays.List(c.Request().Context(), y)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if h.Date >= from && len(out) < n {
				out = append(out, h)
			}
		}
	}
	return out, nil
}

// messageOf is the message of the service's error in err, for a person.
func messageOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return sentence(e.Message)
	}
	return sentence(err.Error())
}
