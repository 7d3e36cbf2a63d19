package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

type userView struct {
	Page
	U                             models.User
	Self                          bool
	Name, Agency, Roles, Password fieldView
	Open                          []handOver
	Problems                      []problem
}

// handOver is an open request of the user with the form that hands it to
// another requester of its agency.
type handOver struct {
	R  models.Request
	To fieldView
}

func (a *app) userID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, errs.E(errs.NotFound, "no user %q", c.Param("id"))
	}
	return id, nil
}

// userView shows user id with its edit form, and its open requests with
// the requesters of their agency who may take them over.
func (a *app) userView(c echo.Context, id int64) (*userView, error) {
	ctx, actor := c.Request().Context(), viewer(c).Actor
	u, err := a.Accounts.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	as, err := a.Accounts.ListAgencies(ctx)
	if err != nil {
		return nil, err
	}
	var roles []string
	for _, r := range accounts.RolesOf(u) {
		roles = append(roles, string(r))
	}
	v := &userView{Page: Page{Nav: "admin"}, U: u, Self: u.ID == actor.ID,
		Name:   fieldView{ID: "edit-name", Name: "name", Label: "Name", Value: u.Name, Required: true, MaxLength: 200},
		Agency: fieldView{ID: "edit-agency", Name: "agency", Label: "Agency", Required: true, Options: agencyOptions(as, u.AgencyCode, "Choose an agency")[1:], Hint: "Changing the agency signs them out and revokes their API tokens."},
		Roles:  fieldView{ID: "edit-roles", Name: "roles", Label: "Roles", Required: true, Options: roleOptions(roles), Hint: "Changing the roles signs them out."},
		Password: fieldView{ID: "edit-password", Name: "password", Label: "New password", Type: "password", Autocomplete: "new-password",
			Hint: "Leave it empty to keep their password. A new one (at least 12 characters) signs them out."},
	}
	open, err := a.Workflow.OpenRequestsOf(ctx, actor, u.ID)
	if err != nil {
		return nil, err
	}
	if len(open) > 0 {
		users, err := a.Accounts.ListUsers(ctx, actor)
		if err != nil {
			return nil, err
		}
		for _, r := range open {
			to := fieldView{ID: fmt.Sprintf("to-%d", r.ID), Name: "requester", Label: fmt.Sprintf("Hand request %d to", r.ID), Required: true,
				Options: []option{{Value: "", Label: "Choose a requester of " + r.RequestingAgency}}}
			for _, other := range users {
				if other.ID != u.ID && other.Active() && other.AgencyCode == r.RequestingAgency && accounts.ActorOf(other).Has(workflow.Requester) {
					to.Options = append(to.Options, option{Value: strconv.FormatInt(other.ID, 10), Label: other.Name + " <" + other.Email + ">"})
				}
			}
			v.Open = append(v.Open, handOver{R: r, To: to})
		}
	}
	return v, nil
}

func (a *app) handleUser(c echo.Context) error {
	id, err := a.userID(c)
	if err != nil {
		return err
	}
	v, err := a.userView(c, id)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "admin_user", v)
}

// handleUserUpdate sends the whole form: the service changes only what
// differs, so that an unchanged agency or role list neither signs the user
// out nor revokes their tokens. An empty password keeps theirs.
func (a *app) handleUserUpdate(c echo.Context) error {
	id, err := a.userID(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	name, agency, roles := form.Get("name"), form.Get("agency"), form["roles"]
	if roles == nil {
		roles = []string{}
	}
	p := accounts.UserPatch{Name: &name, Agency: &agency, Roles: roles}
	if pw := form.Get("password"); pw != "" {
		p.Password = &pw
	}
	u, err := a.Accounts.UpdateUser(c.Request().Context(), viewer(c).Actor, id, p)
	if fs := errs.Fields(err); len(fs) > 0 {
		v, verr := a.userView(c, id)
		if verr != nil {
			return verr
		}
		v.Name.Value = form.Get("name")
		for i := range v.Agency.Options {
			v.Agency.Options[i].Selected = v.Agency.Options[i].Value == form.Get("agency")
		}
		v.Roles.Options = roleOptions(roles)
		for _, f := range fs {
			v.Problems = append(v.Problems, markField(f.Field, sentence(f.Message), &v.Name, &v.Agency, &v.Roles, &v.Password)...)
		}
		return a.render(c, http.StatusUnprocessableEntity, "admin_user", v)
	}
	if err != nil {
		return err
	}
	a.flash(c, fmt.Sprintf("%s has been saved.", u.Name))
	return seeOther(c, fmt.Sprintf("/admin/users/%d", id))
}

func (a *app) handleUserActive(c echo.Context) error {
	id, err := a.userID(c)
	if err != nil {
		return err
	}
	var active bool
	switch c.FormValue("active") {
	case "true":
		active = true
	case "false":
	default:
		return errs.E(errs.Malformed, "active must be true or false")
	}
	u, err := a.Accounts.UpdateUser(c.Request().Context(), viewer(c).Actor, id, accounts.UserPatch{Active: &active})
	if r, ok := refusalOf(err, ""); ok {
		v, verr := a.userView(c, id)
		if verr != nil {
			return verr
		}
		v.Problems = []problem{{ID: "status", Message: r.Message}}
		return a.render(c, r.Status, "admin_user", v)
	}
	if err != nil {
		return err
	}
	if active {
		a.flash(c, fmt.Sprintf("%s is active again and may sign in.", u.Name))
	} else {
		a.flash(c, fmt.Sprintf("%s is deactivated: signed out everywhere, with every API token revoked.", u.Name))
	}
	return seeOther(c, fmt.Sprintf("/admin/users/%d", id))
}

func (a *app) handleUserReassign(c echo.Context) error {
	id, err := a.userID(c)
	if err != nil {
		return err
	}
	reqID, err := strconv.ParseInt(c.Param("request"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "no request %q", c.Param("request"))
	}
	to, err := strconv.ParseInt(c.FormValue("requester"), 10, 64)
	if err != nil {
		err = errs.Field("requester", "choose the requester to hand the request to")
	} else {
		var r *models.Request
		r, err = a.Workflow.Reassign(c.Request().Context(), viewer(c).Actor, reqID, to, "", 0)
		if err == nil {
			a.flash(c, fmt.Sprintf("Request %d (%s) has been handed to %s.", r.ID, r.Title, r.Requester.Name))
			return seeOther(c, fmt.Sprintf("/admin/users/%d", id))
		}
	}
	if r, ok := refusalOf(err, ""); ok {
		v, verr := a.userView(c, id)
		if verr != nil {
			return verr
		}
		for i := range v.Open {
			if h := &v.Open[i]; h.R.ID == reqID {
				v.Problems = markField(r.Field, r.Message, &h.To)
			}
		}
		if v.Problems == nil {
			v.Problems = []problem{{ID: "open-requests", Message: r.Message}}
		}
		return a.render(c, r.Status, "admin_user", v)
	}
	return err
}
