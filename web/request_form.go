package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/models"
	"datashare/workflow"
)

// requestFormView is the form of a new request and of a draft's edit.
type requestFormView struct {
	Page
	Heading  string
	Action   string // where the form posts
	Cancel   string
	Version  int // the edited draft's version; 0 for a new request
	Problems []problem
	Fields   requestFields
	DueBy    time.Time // if submitted now
	Target   float64   // working days
}

type requestFields struct {
	Title, Purpose, DataDescription, Classification, OwnerAgency, LegalBasis, ProjectCode, Project fieldView
}

// byName maps the field names of the service's errors to the form's fields.
func (f *requestFields) byName() map[string]*fieldView {
	return map[string]*fieldView{
		"title": &f.Title, "purpose": &f.Purpose, "data_description": &f.DataDescription,
		"classification": &f.Classification, "owner_agency": &f.OwnerAgency,
		"legal_basis": &f.LegalBasis, "project": &f.Project, "project_code": &f.ProjectCode,
	}
}

// requestValues are the form's values as entered.
type requestValues struct {
	Title, Purpose, DataDescription, Classification, OwnerAgency, LegalBasis, Project string
	ProjectCode                                                                       string // the project joined; empty for none
}

func formValues(c echo.Context) requestValues {
	return requestValues{
		Title: c.FormValue("title"), Purpose: c.FormValue("purpose"), DataDescription: c.FormValue("data_description"),
		Classification: c.FormValue("classification"), OwnerAgency: c.FormValue("owner_agency"),
		LegalBasis: c.FormValue("legal_basis"), Project: c.FormValue("project"), ProjectCode: c.FormValue("project_code"),
	}
}

func valuesOf(r *models.Request) requestValues {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return requestValues{Title: r.Title, Purpose: r.Purpose, DataDescription: r.DataDescription,
		Classification: r.Classification, OwnerAgency: r.OwnerAgency, LegalBasis: deref(r.LegalBasis), Project: deref(r.Project),
		ProjectCode: deref(r.ProjectCode)}
}

// requestForm fills the form with vals; the owner agencies offered are the
// others than the viewer's, the projects those the viewer's agency may
// join (projects.Service.Joinable).
func (a *app) requestForm(c echo.Context, vals requestValues) (*requestFormView, error) {
	v := viewer(c)
	agencies, err := a.agencyOptions(c, v.Agency)
	if err != nil {
		return nil, err
	}
	joinable, err := a.Projects.Joinable(c.Request().Context(), v.Actor)
	if err != nil {
		return nil, err
	}
	policy := a.Workflow.Policy()
	classes := []option{{Value: "", Label: "Choose a classification"}}
	for _, cl := range policy.Classifications() {
		n := policy.Approvals[cl]
		noun := "approvals"
		if n == 1 {
			noun = "approval"
		}
		classes = append(classes, option{Value: cl, Label: fmt.Sprintf("%s (needs %d %s)", cl, n, noun)})
	}
	owners := append([]option{{Value: "", Label: "Choose an agency"}}, agencies...)
	text := func(id, name, label, hint, value string, required, multi bool, max int) fieldView {
		return fieldView{ID: id, Name: name, Label: label, Hint: hint, Value: value, Required: required, Multiline: multi, MaxLength: max}
	}
	f := requestFields{
		Title:           text("title", "title", "Title", "", vals.Title, true, false, 200),
		Purpose:         text("purpose", "purpose", "Purpose", "What the data is for, and who will use it", vals.Purpose, true, true, 5000),
		DataDescription: text("data-description", "data_description", "Data description", "Which data, over which period, in which form", vals.DataDescription, true, true, 5000),
		Classification: fieldView{ID: "classification", Name: "classification", Label: "Classification", Required: true,
			Hint: "Decides how many approvers of the owner agency must approve", Value: vals.Classification, Options: selected(classes, vals.Classification)},
		OwnerAgency: fieldView{ID: "owner-agency", Name: "owner_agency", Label: "Owner agency", Required: true,
			Hint: "The agency that holds the data", Value: vals.OwnerAgency, Options: selected(owners, vals.OwnerAgency)},
		LegalBasis: text("legal-basis", "legal_basis", "Legal basis", "The law or agreement that allows the sharing", vals.LegalBasis, false, true, 1000),
		ProjectCode: fieldView{ID: "project-code", Name: "project_code", Label: "Cross-agency project",
			Hint:  "The active projects your agency leads or is a partner of; the project's clock counts this request",
			Value: vals.ProjectCode, Options: projectOptions(joinable, vals.ProjectCode)},
		Project: text("project", "project", "Project", "The cross-agency project the data is for, in your own words", vals.Project, false, false, 200),
	}
	return &requestFormView{Page: Page{Nav: "requests"}, Fields: f, DueBy: a.SLA.DueIfSubmitted(a.Now()), Target: a.SLA.Settings().Target}, nil
}

// markFields puts each validation message of err next to its field and
// returns the error summary; ok is false when err is not a validation
// error. A message naming its field by the service's name names it by its
// label instead.
func markFields(err error, fields map[string]*fieldView, fallback string) (ps []problem, ok bool) {
	invalid := errs.Fields(err)
	if len(invalid) == 0 {
		return nil, false
	}
	for _, e := range invalid {
		msg := sentence(e.Message)
		fv, known := fields[e.Field]
		if !known {
			ps = append(ps, problem{ID: fallback, Message: msg})
			continue
		}
		if rest, cut := strings.CutPrefix(e.Message, e.Field); cut {
			msg = fv.Label + rest
		}
		if fv.Error == "" {
			fv.Error = msg
		}
		ps = append(ps, problem{ID: fv.ID, Message: msg})
	}
	return ps, true
}

func (a *app) handleRequestNew(c echo.Context) error {
	if err := workflow.CanCreate(viewer(c).Actor); err != nil {
		return err
	}
	view, err := a.requestForm(c, requestValues{})
	if err != nil {
		return err
	}
	view.Heading, view.Action, view.Cancel = "New request", "/requests/new", "/requests"
	return a.render(c, http.StatusOK, "request_form", view)
}

func optionalValue(s string) *string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

func (a *app) handleRequestCreate(c echo.Context) error {
	vals := formValues(c)
	r, err := a.Workflow.Create(c.Request().Context(), viewer(c).Actor, workflow.NewRequest{
		Title: vals.Title, Purpose: vals.Purpose, DataDescription: vals.DataDescription,
		Classification: vals.Classification, OwnerAgency: vals.OwnerAgency,
		LegalBasis: optionalValue(vals.LegalBasis), Project: optionalValue(vals.Project),
		ProjectCode: optionalValue(vals.ProjectCode),
	})
	if err == nil {
		a.flash(c, "Draft saved")
		return seeOther(c, "/requests/"+strconv.FormatInt(r.ID, 10))
	}
	view, ferr := a.requestForm(c, vals)
	if ferr != nil {
		return ferr
	}
	view.Heading, view.Action, view.Cancel = "New request", "/requests/new", "/requests"
	return a.refuseForm(c, view, err)
}

// refuseForm shows the form again with the problems of err next to their
// fields, or returns err when it is not about the fields.
func (a *app) refuseForm(c echo.Context, view *requestFormView, err error) error {
	ps, ok := markFields(err, view.Fields.byName(), "title")
	if !ok {
		return err
	}
	view.Problems = ps
	return a.render(c, http.StatusUnprocessableEntity, "request_form", view)
}

// editable loads the draft the viewer means to edit, or the reason they
// may not.
func (a *app) editable(c echo.Context) (*models.Request, error) {
	id, err := requestID(c)
	if err != nil {
		return nil, err
	}
	v := viewer(c)
	r, err := a.Workflow.Get(c.Request().Context(), v.Actor, id)
	if err != nil {
		return nil, err
	}
	switch err := workflow.CanEdit(workflow.FactsOf(r), v.Actor); {
	case errs.Is(err, errs.Conflict):
		// The service names the state as the API does; a page by its label.
		return nil, errs.E(errs.Conflict, "Only a draft can be edited; this request is %s.", stateLabel(r.State))
	case err != nil:
		return nil, err
	}
	return r, nil
}

func (a *app) editForm(c echo.Context, r *models.Request, vals requestValues, version int) (*requestFormView, error) {
	view, err := a.requestForm(c, vals)
	if err != nil {
		return nil, err
	}
	path := "/requests/" + strconv.FormatInt(r.ID, 10)
	view.Heading, view.Action, view.Cancel, view.Version = "Edit "+r.Title, path+"/edit", path, version
	return view, nil
}

func (a *app) handleRequestEdit(c echo.Context) error {
	r, err := a.editable(c)
	if err != nil {
		return err
	}
	view, err := a.editForm(c, r, valuesOf(r), r.Version)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "request_form", view)
}

var errEditedMeanwhile = errs.E(errs.Conflict,
	"Someone changed this request while you were editing it, so nothing was saved. Open it again to see it as it is now.")

func (a *app) handleRequestUpdate(c echo.Context) error {
	r, err := a.editable(c)
	if err != nil {
		return err
	}
	version, err := strconv.Atoi(c.FormValue("version"))
	if err != nil || version < 1 {
		return errNoVersion
	}
	vals := formValues(c)
	patch := workflow.Patch{
		Title: &vals.Title, Purpose: &vals.Purpose, DataDescription: &vals.DataDescription,
		Classification: &vals.Classification, OwnerAgency: &vals.OwnerAgency,
		LegalBasis: &vals.LegalBasis, Project: &vals.Project,
	}
	// The project is sent only when the picker changed it: a draft keeps
	// the project it joined even once that project stops taking requests.
	if vals.ProjectCode != valuesOf(r).ProjectCode {
		patch.ProjectCode = &vals.ProjectCode
	}
	_, err = a.Workflow.Update(c.Request().Context(), viewer(c).Actor, r.ID, patch, version)
	switch {
	case err == nil:
		a.flash(c, "Draft saved")
		return seeOther(c, "/requests/"+strconv.FormatInt(r.ID, 10))
	case errs.Is(err, errs.PreconditionFailed):
		return errEditedMeanwhile
	}
	view, ferr := a.editForm(c, r, vals, version)
	if ferr != nil {
		return ferr
	}
	return a.refuseForm(c, view, err)
}

var errNoVersion = errs.E(errs.Malformed, "The form did not say which version of the request it was filled in on. Reload the page and try again.")
