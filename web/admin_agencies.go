package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

type agenciesView struct {
	Page
	Rows       []agencyRow
	Code, Name fieldView // the new agency
	Problems   []problem
}

// agencyRow is one agency with its rename form.
type agencyRow struct {
	Code   string
	Name   fieldView
	Anchor string // the row's id, where a refused rename sends the summary
}

func (a *app) agenciesView(c echo.Context) (*agenciesView, error) {
	as, err := a.Accounts.ListAgencies(c.Request().Context())
	if err != nil {
		return nil, err
	}
	v := &agenciesView{Page: Page{Nav: "admin"},
		Code: fieldView{ID: "agency-code", Name: "code", Label: "Code", Required: true, MaxLength: 16,
			Hint: "2 to 16 upper-case letters or digits, like MOH. It cannot be changed later."},
		Name: fieldView{ID: "agency-name", Name: "name", Label: "Name", Required: true, MaxLength: 200,
			Hint: "The agency's full name, like Ministry of Health."},
	}
	for _, ag := range as {
		v.Rows = append(v.Rows, agencyRow{Code: ag.Code, Anchor: "agency-" + ag.Code, Name: fieldView{
			ID: "rename-" + ag.Code, Name: "name", Label: "Name of " + ag.Code, Value: ag.Name, Required: true, MaxLength: 200,
		}})
	}
	return v, nil
}

func (a *app) handleAgencies(c echo.Context) error {
	v, err := a.agenciesView(c)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "admin_agencies", v)
}

func (a *app) handleAgencyCreate(c echo.Context) error {
	code, name := strings.TrimSpace(c.FormValue("code")), c.FormValue("name")
	ag, err := a.Accounts.CreateAgency(c.Request().Context(), viewer(c).Actor, code, name)
	if r, ok := refusalOf(err, "code"); ok {
		v, verr := a.agenciesView(c)
		if verr != nil {
			return verr
		}
		v.Code.Value, v.Name.Value = code, name
		v.Problems = markField(r.Field, r.Message, &v.Code, &v.Name)
		return a.render(c, r.Status, "admin_agencies", v)
	}
	if err != nil {
		return err
	}
	a.flash(c, "Agency "+ag.Code+" ("+ag.Name+") has been added.")
	return seeOther(c, "/admin/agencies")
}

func (a *app) handleAgencyRename(c echo.Context) error {
	code, name := c.Param("code"), c.FormValue("name")
	ag, err := a.Accounts.RenameAgency(c.Request().Context(), viewer(c).Actor, code, name)
	if r, ok := refusalOf(err, ""); ok {
		v, verr := a.agenciesView(c)
		if verr != nil {
			return verr
		}
		for i := range v.Rows {
			if row := &v.Rows[i]; row.Code == code {
				row.Name.Value = name
				v.Problems = markField(r.Field, r.Message, &row.Name)
			}
		}
		return a.render(c, r.Status, "admin_agencies", v)
	}
	if err != nil {
		return err
	}
	a.flash(c, "Agency "+ag.Code+" is now named "+ag.Name+".")
	return seeOther(c, "/admin/agencies")
}
