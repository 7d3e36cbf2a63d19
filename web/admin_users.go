package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/accounts"
	"datashare/models"
	"datashare/workflow"
)

type usersView struct {
	Page
	Search, Agency, Role, Active fieldView // the filters
	Filtered                     bool
	Rows                         []userRow
	Total                        int // users before the filters
	New                          newUserForm
	Problems                     []problem
}

type userRow struct {
	U      models.User
	Agency string // its name
	Roles  string
}

type newUserForm struct {
	Name, Email, Agency, Roles, Password fieldView
}

func (f *newUserForm) fields() []*fieldView {
	return []*fieldView{&f.Name, &f.Email, &f.Agency, &f.Roles, &f.Password}
}

func roleOptions(chosen []string) []option {
	var out []option
	for _, r := range workflow.Roles {
		out = append(out, option{Value: string(r), Label: roleLabel(string(r)), Selected: slices.Contains(chosen, string(r))})
	}
	return out
}

func agencyOptions(as []models.Agency, chosen, none string) []option {
	out := []option{{Value: "", Label: none, Selected: chosen == ""}}
	for _, ag := range as {
		out = append(out, option{Value: ag.Code, Label: ag.Code + " · " + ag.Name, Selected: ag.Code == chosen})
	}
	return out
}

// usersView lists the users the filters of the query keep; a filter the
// service refuses is shown beside its field.
func (a *app) usersView(c echo.Context) (*usersView, error) {
	ctx, actor := c.Request().Context(), viewer(c).Actor
	as, err := a.Accounts.ListAgencies(ctx)
	if err != nil {
		return nil, err
	}
	f := accounts.UserFilter{Search: c.QueryParam("q"), Agency: c.QueryParam("agency"), Role: c.QueryParam("role"), Active: c.QueryParam("active")}
	v := &usersView{Page: Page{Nav: "admin"},
		Search: fieldView{ID: "user-search", Name: "q", Label: "Search by name or email", Type: "search", Value: f.Search},
		Agency: fieldView{ID: "user-agency", Name: "agency", Label: "Filter by agency", Options: agencyOptions(as, f.Agency, "Any agency")},
		Role:   fieldView{ID: "user-role", Name: "role", Label: "Filter by role", Options: append([]option{{Value: "", Label: "Any role", Selected: f.Role == ""}}, roleOptions([]string{f.Role})...)},
		Active: fieldView{ID: "user-active", Name: "active", Label: "Filter by status", Options: []option{
			{Value: "", Label: "Active or deactivated", Selected: f.Active == ""},
			{Value: "active", Label: "Active", Selected: f.Active == "active"},
			{Value: "deactivated", Label: "Deactivated", Selected: f.Active == "deactivated"},
		}},
		New: newUserForm{
			Name:   fieldView{ID: "new-name", Name: "name", Label: "Name", Required: true, MaxLength: 200, Autocomplete: "off"},
			Email:  fieldView{ID: "new-email", Name: "email", Label: "Email", Type: "email", Required: true, Autocomplete: "off", Hint: "Their work address; they sign in with it."},
			Agency: fieldView{ID: "new-agency", Name: "agency", Label: "Agency", Required: true, Options: agencyOptions(as, "", "Choose an agency")},
			Roles:  fieldView{ID: "new-roles", Name: "roles", Label: "Roles", Required: true, Options: roleOptions(nil), Hint: "Choose at least one."},
			Password: fieldView{ID: "new-password", Name: "password", Label: "Password", Type: "password", Autocomplete: "new-password",
				Hint: "At least 12 characters. Leave it empty for a user who signs in another way; they can be given one later."},
		},
	}
	v.Filtered = f != accounts.UserFilter{}
	names := map[string]string{}
	for _, ag := range as {
		names[ag.Code] = ag.Name
	}
	all, err := a.Accounts.ListUsers(ctx, actor)
	if err != nil {
		return nil, err
	}
	v.Total = len(all)
	us := all // FindUsers filters ListUsers: without a filter, that is all
	if v.Filtered {
		us, err = a.Accounts.FindUsers(ctx, actor, f)
		if r, ok := refusalOf(err, ""); ok {
			v.Problems = markField(r.Field, r.Message, &v.Search, &v.Agency, &v.Role, &v.Active)
			return v, nil
		}
		if err != nil {
			return nil, err
		}
	}
	for _, u := range us {
		var roles []string
		for _, r := range accounts.RolesOf(u) {
			roles = append(roles, roleLabel(string(r)))
		}
		v.Rows = append(v.Rows, userRow{U: u, Agency: names[u.AgencyCode], Roles: strings.Join(roles, ", ")})
	}
	return v, nil
}

func (a *app) handleUsers(c echo.Context) error {
	v, err := a.usersView(c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if v.Problems != nil {
		status = http.StatusUnprocessableEntity
	}
	return a.render(c, status, "admin_users", v)
}

func (a *app) handleUserCreate(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	in := accounts.NewUser{Name: form.Get("name"), Email: form.Get("email"), Agency: form.Get("agency"), Roles: form["roles"]}
	if p := form.Get("password"); p != "" {
		in.Password = &p
	}
	u, err := a.Accounts.CreateUser(c.Request().Context(), viewer(c).Actor, in)
	if r, ok := refusalOf(err, "email"); ok {
		v, verr := a.usersView(c)
		if verr != nil {
			return verr
		}
		n := &v.New
		n.Name.Value, n.Email.Value = in.Name, in.Email
		for i := range n.Agency.Options {
			n.Agency.Options[i].Selected = n.Agency.Options[i].Value == in.Agency
		}
		n.Roles.Options = roleOptions(in.Roles)
		// The password is not sent back into the page.
		v.Problems = markField(r.Field, r.Message, n.fields()...)
		return a.render(c, r.Status, "admin_users", v)
	}
	if err != nil {
		return err
	}
	a.flash(c, fmt.Sprintf("%s (%s) has been added to %s.", u.Name, u.Email, u.AgencyCode))
	return seeOther(c, "/admin/users")
}
