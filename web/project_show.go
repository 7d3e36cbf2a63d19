package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/projects"
)

// projectView is one project as the viewer sees it, with its forms when
// the viewer may change it.
type projectView struct {
	Page
	P         *projects.Project
	Target    float64 // working days
	Timeline  []ownerGroup
	CanChange bool
	Name      fieldView
	Desc      fieldView
	Add       fieldView // a partner to add
	Problems  []problem
	Notice    string // why the page was shown again instead of the change
}

// ownerGroup is the requests asked of one owner agency, with their SLA.
type ownerGroup struct {
	projects.OwnerRequests
	Rows []requestRow
}

// loadProject fills the page of project code as the viewer sees it now.
func (a *app) loadProject(c echo.Context, code string) (*projectView, error) {
	v := viewer(c)
	ctx := c.Request().Context()
	p, err := a.Projects.Get(ctx, v.Actor, code)
	if err != nil {
		return nil, err
	}
	view := &projectView{Page: Page{Nav: "projects"}, P: p, Target: a.SLA.Settings().Target,
		CanChange: projects.CanChange(v.Actor, &p.Project) == nil}
	for _, g := range projects.ByOwner(p.Requests) {
		view.Timeline = append(view.Timeline, ownerGroup{OwnerRequests: g, Rows: a.rows(g.Requests, v)})
	}
	if !view.CanChange {
		return view, nil
	}
	view.Name = fieldView{ID: "project-name", Name: "name", Label: "Name", Required: true, MaxLength: 200, Value: p.Name}
	view.Desc = fieldView{ID: "project-description", Name: "description", Label: "Description", Multiline: true, MaxLength: 5000, Value: p.Description}
	as, err := a.Accounts.ListAgencies(ctx)
	if err != nil {
		return nil, err
	}
	add := []option{{Value: "", Label: "Choose an agency"}}
	for _, ag := range as {
		if ag.Code != p.LeadAgency && !slices.Contains(p.Partners, ag.Code) {
			add = append(add, option{Value: ag.Code, Label: ag.Code + " — " + ag.Name})
		}
	}
	view.Add = fieldView{ID: "add-partner", Name: "add_partners", Label: "Add a partner agency", Options: add,
		Hint: "Its requesters may then file requests in the project"}
	return view, nil
}

func (a *app) handleProjectShow(c echo.Context) error {
	view, err := a.loadProject(c, projectCode(c))
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "project", view)
}

func (a *app) handleProjectEdit(c echo.Context) error {
	name, desc := c.FormValue("name"), c.FormValue("description")
	return a.changeProject(c, projects.Patch{Name: &name, Description: &desc}, "Project saved", func(v *projectView) {
		v.Name.Value, v.Desc.Value = name, desc
	})
}

func (a *app) handleProjectPartners(c echo.Context) error {
	if remove := c.FormValue("remove"); remove != "" {
		return a.changeProject(c, projects.Patch{RemovePartners: []string{remove}}, remove+" is no longer a partner", nil)
	}
	add := c.FormValue("add_partners")
	if add == "" {
		return a.refuseChange(c, errs.Field("add_partners", "choose an agency to add as a partner"), nil)
	}
	return a.changeProject(c, projects.Patch{AddPartners: []string{add}}, add+" is now a partner", nil)
}

func (a *app) handleProjectClose(c echo.Context) error {
	closed := projects.Closed
	return a.changeProject(c, projects.Patch{State: &closed}, "Project closed: it takes no more requests", nil)
}

// changeProject applies patch and shows the project with flash, or the
// page again with the refusal; keep puts back what the viewer entered.
func (a *app) changeProject(c echo.Context, patch projects.Patch, flash string, keep func(*projectView)) error {
	code := projectCode(c)
	if _, err := a.Projects.Update(c.Request().Context(), viewer(c).Actor, code, patch); err != nil {
		return a.refuseChange(c, err, keep)
	}
	a.flash(c, flash)
	return seeOther(c, projectPath(code))
}

// refuseChange shows the project again as it is now, saying why the change
// was not made: a field's problem beside it (422), or a project closed
// meanwhile (409). Any other refusal is an error page.
func (a *app) refuseChange(c echo.Context, err error, keep func(*projectView)) error {
	var status int
	var e *errs.Error
	switch {
	case len(errs.Fields(err)) > 0:
		status = http.StatusUnprocessableEntity
	case errs.Is(err, errs.Conflict) && errors.As(err, &e):
		status = http.StatusConflict
	default:
		return err
	}
	view, lerr := a.loadProject(c, projectCode(c))
	if lerr != nil {
		return lerr
	}
	if status == http.StatusConflict {
		view.Notice = sentence(e.Message) + ". Here is the project as it is now. Nothing was changed."
		return a.render(c, status, "project", view)
	}
	if keep != nil {
		keep(view)
	}
	remove := fieldView{ID: "partners", Name: "remove_partners", Label: "Partner"}
	ps, _ := markFields(err, map[string]*fieldView{"name": &view.Name, "description": &view.Desc,
		"add_partners": &view.Add, "remove_partners": &remove}, "project-name")
	view.Problems = ps
	return a.render(c, status, "project", view)
}
