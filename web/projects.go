package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"datashare/models"
	"datashare/projects"
)

func (a *app) registerProjectPages(r router) {
	r.page(http.MethodGet, "/projects", a.handleProjectList)
	r.page(http.MethodGet, "/projects/new", a.handleProjectNew)
	r.page(http.MethodPost, "/projects/new", a.handleProjectCreate)
	r.page(http.MethodGet, "/projects/:code", a.handleProjectShow)
	r.page(http.MethodPost, "/projects/:code/edit", a.handleProjectEdit)
	r.page(http.MethodPost, "/projects/:code/partners", a.handleProjectPartners)
	r.page(http.MethodPost, "/projects/:code/close", a.handleProjectClose)
}

type projectListView struct {
	Page
	Projects  []*projects.Project
	CanCreate bool
}

func (a *app) handleProjectList(c echo.Context) error {
	v := viewer(c)
	ps, err := a.Projects.List(c.Request().Context(), v.Actor)
	if err != nil {
		return err
	}
	view := &projectListView{Page: Page{Nav: "projects"}, Projects: ps, CanCreate: projects.CanCreate(v.Actor) == nil}
	return a.render(c, http.StatusOK, "projects", view)
}

// projectFormView is the form of a new project.
type projectFormView struct {
	Page
	Problems []problem
	Fields   projectFields
	ShowLead bool // an admin chooses the lead agency; others lead their own
}

type projectFields struct {
	Code, Name, LeadAgency, Description, Partners fieldView
}

func (f *projectFields) byName() map[string]*fieldView {
	return map[string]*fieldView{"code": &f.Code, "name": &f.Name, "lead_agency": &f.LeadAgency,
		"description": &f.Description, "partners": &f.Partners}
}

// projectForm fills the form with in; the partners offered are every
// agency but the viewer's own (an admin's, every agency).
func (a *app) projectForm(c echo.Context, in projects.NewProject) (*projectFormView, error) {
	v := viewer(c)
	as, err := a.Accounts.ListAgencies(c.Request().Context())
	if err != nil {
		return nil, err
	}
	admin := v.Has("admin")
	lead := in.LeadAgency
	if lead == "" {
		lead = v.Agency
	}
	var partners []option
	for _, ag := range as {
		if admin || ag.Code != v.Agency {
			partners = append(partners, option{Value: ag.Code, Label: ag.Code + " — " + ag.Name, Selected: slices.Contains(in.Partners, ag.Code)})
		}
	}
	f := projectFields{
		Code: fieldView{ID: "code", Name: "code", Label: "Project code", Required: true, MaxLength: 40, Value: in.Code, Autocomplete: "off",
			Hint: "Upper-case letters, digits and hyphens, like ELDERCARE-2026; it cannot be changed later"},
		Name: fieldView{ID: "name", Name: "name", Label: "Name", Required: true, MaxLength: 200, Value: in.Name},
		LeadAgency: fieldView{ID: "lead-agency", Name: "lead_agency", Label: "Lead agency", Required: true,
			Hint: "The agency that runs the project", Options: agencyOptions(as, lead, "Choose an agency")[1:]},
		Description: fieldView{ID: "description", Name: "description", Label: "Description", Multiline: true, MaxLength: 5000, Value: in.Description,
			Hint: "What the project is for, and which data it combines"},
		Partners: fieldView{ID: "partners", Name: "partners", Label: "Partner agencies", Options: partners,
			Hint: "Their requesters may file requests in the project; you can add and remove partners later"},
	}
	return &projectFormView{Page: Page{Nav: "projects"}, Fields: f, ShowLead: admin}, nil
}

func (a *app) handleProjectNew(c echo.Context) error {
	if err := projects.CanCreate(viewer(c).Actor); err != nil {
		return err
	}
	view, err := a.projectForm(c, projects.NewProject{})
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "project_form", view)
}

func (a *app) handleProjectCreate(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	// Only an admin's form has a lead agency; without one the lead is the
	// creator's agency, and Create refuses another lead to anyone else.
	in := projects.NewProject{Code: form.Get("code"), Name: form.Get("name"), LeadAgency: form.Get("lead_agency"),
		Description: form.Get("description"), Partners: form["partners"]}
	p, err := a.Projects.Create(c.Request().Context(), viewer(c).Actor, in)
	if err == nil {
		a.flash(c, "Project "+p.Code+" has been created.")
		return seeOther(c, "/projects/"+p.Code)
	}
	view, ferr := a.projectForm(c, in)
	if ferr != nil {
		return ferr
	}
	status := http.StatusUnprocessableEntity
	ps, ok := markFields(err, view.Fields.byName(), "code")
	if !ok {
		r, isConflict := refusalOf(err, "code")
		if !isConflict {
			return err
		}
		status, ps = r.Status, markField(r.Field, r.Message, &view.Fields.Code)
	}
	// The summary lists the problems in the order of the form.
	order := []string{"code", "name", "lead-agency", "description", "partners"}
	slices.SortStableFunc(ps, func(x, y problem) int { return slices.Index(order, x.ID) - slices.Index(order, y.ID) })
	view.Problems = ps
	return a.render(c, status, "project_form", view)
}

// projectCode reads the code of the address as the service spells codes.
func projectCode(c echo.Context) string { return strings.TrimSpace(c.Param("code")) }

// projectPath is the page of project code.
func projectPath(code string) string { return "/projects/" + code }

// joinedList writes agency codes for a page: "HDB, IRAS", or a dash.
func joinedList(codes []string) string {
	if len(codes) == 0 {
		return "—"
	}
	return strings.Join(codes, ", ")
}

// projectOptions are the picker's choices: no project, then the projects
// the viewer's agency may join; current, when set and not among them (a
// draft's project since closed), stays chosen so that an edit keeps it.
func projectOptions(joinable []models.Project, current string) []option {
	out := []option{{Value: "", Label: "No project", Selected: current == ""}}
	found := current == ""
	for _, p := range joinable {
		out = append(out, option{Value: p.Code, Label: p.Code + " — " + p.Name, Selected: p.Code == current})
		found = found || p.Code == current
	}
	if !found {
		out = append(out, option{Value: current, Label: current + " (no longer open to your agency)", Selected: true})
	}
	return out
}
