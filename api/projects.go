package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"datashare/projects"
	"datashare/sla"
	"datashare/spreadsheet"
)

type projectClockJSON struct {
	Status             string     `json:"status"`
	TargetWorkingDays  float64    `json:"target_working_days"`
	ElapsedWorkingDays float64    `json:"elapsed_working_days"`
	DueAt              *time.Time `json:"due_at"`
	StartedAt          *time.Time `json:"started_at"`
	StoppedAt          *time.Time `json:"stopped_at"`
	WaitingOn          []string   `json:"waiting_on"`
}

type projectRequestJSON struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	OwnerAgency string `json:"owner_agency"`
	State       string `json:"state"`
	SLAStatus   string `json:"sla_status"`
}

type projectJSON struct {
	Code        string               `json:"code"`
	Name        string               `json:"name"`
	LeadAgency  string               `json:"lead_agency"`
	Description string               `json:"description"`
	State       string               `json:"state"`
	Partners    []string             `json:"partners"`
	CreatedAt   time.Time            `json:"created_at"`
	CreatedBy   int64                `json:"created_by"`
	Clock       projectClockJSON     `json:"clock"`
	Requests    []projectRequestJSON `json:"requests,omitempty"`
}

// toProject converts p; withRequests adds its requests, as a single
// project's answer carries them and a list does not.
func (s *server) toProject(p *projects.Project, withRequests bool) projectJSON {
	out := projectJSON{
		Code: p.Code, Name: p.Name, LeadAgency: p.LeadAgency, Description: p.Description, State: p.State,
		Partners: p.Partners, CreatedAt: p.CreatedAt.UTC(), CreatedBy: p.CreatedBy,
		Clock: projectClockJSON{
			Status: p.Clock.Status, TargetWorkingDays: s.SLA.Settings().Target, ElapsedWorkingDays: round3(p.Clock.Elapsed),
			DueAt: utc(p.Clock.DueAt), StartedAt: utc(p.Clock.StartedAt), StoppedAt: utc(p.Clock.StoppedAt),
			WaitingOn: p.Clock.WaitingOn,
		},
	}
	if out.Partners == nil {
		out.Partners = []string{}
	}
	if out.Clock.WaitingOn == nil {
		out.Clock.WaitingOn = []string{}
	}
	if withRequests {
		out.Requests = []projectRequestJSON{}
		now := s.Now()
		for i := range p.Requests {
			r := &p.Requests[i]
			out.Requests = append(out.Requests, projectRequestJSON{
				ID: r.ID, Title: r.Title, OwnerAgency: r.OwnerAgency, State: r.State, SLAStatus: s.SLA.Evaluate(r, now).Status,
			})
		}
	}
	return out
}

func registerProjectRoutes(g authedGroup, s *server) {
	g.POST("/projects", s.handleProjectCreate)
	g.GET("/projects", s.handleProjectList)
	g.GET("/projects/:code", s.handleProjectGet)
	g.PATCH("/projects/:code", s.handleProjectUpdate)
	g.GET("/reports/projects", s.handleProjectReport)
	g.GET("/reports/projects.csv", s.handleProjectReportFile("csv"))
	g.GET("/reports/projects.xlsx", s.handleProjectReportFile("xlsx"))
}

// projectReport reads the project report's query: the scope of the
// request report (sla.Authorize), its window and a grouping.
func (s *server) projectReport(c echo.Context) (*projects.Report, error) {
	agency, err := sla.Authorize(caller(c).actor, c.QueryParam("agency"))
	if err != nil {
		return nil, err
	}
	q := projects.ReportQuery{GroupBy: c.QueryParam("group_by"), Agency: agency}
	if q.From, q.To, err = parseWindow(c.QueryParam("from"), c.QueryParam("to")); err != nil {
		return nil, err
	}
	return s.Projects.Report(c.Request().Context(), q, s.Now())
}

func (s *server) handleProjectReport(c echo.Context) error {
	rep, err := s.projectReport(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func (s *server) handleProjectReportFile(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		rep, err := s.projectReport(c)
		if err != nil {
			return err
		}
		f, err := spreadsheet.ProjectDownload(rep, format)
		if err != nil {
			return err
		}
		return Download(c, f)
	}
}

func (s *server) handleProjectCreate(c echo.Context) error {
	var in struct {
		Code        string   `json:"code"`
		Name        string   `json:"name"`
		LeadAgency  string   `json:"lead_agency"`
		Description string   `json:"description"`
		Partners    []string `json:"partners"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	p, err := s.Projects.Create(c.Request().Context(), caller(c).actor, projects.NewProject{
		Code: in.Code, Name: in.Name, LeadAgency: in.LeadAgency, Description: in.Description, Partners: in.Partners,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/projects/"+p.Code)
	return c.JSON(http.StatusCreated, s.toProject(p, true))
}

func (s *server) handleProjectList(c echo.Context) error {
	ps, err := s.Projects.List(c.Request().Context(), caller(c).actor)
	if err != nil {
		return err
	}
	out := struct {
		Items []projectJSON `json:"items"`
	}{Items: make([]projectJSON, len(ps))}
	for i, p := range ps {
		out.Items[i] = s.toProject(p, false)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) handleProjectGet(c echo.Context) error {
	p, err := s.Projects.Get(c.Request().Context(), caller(c).actor, c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.toProject(p, true))
}

func (s *server) handleProjectUpdate(c echo.Context) error {
	var in struct {
		Name           *string  `json:"name"`
		Description    *string  `json:"description"`
		AddPartners    []string `json:"add_partners"`
		RemovePartners []string `json:"remove_partners"`
		State          *string  `json:"state"`
	}
	if err := c.Bind(&in); err != nil {
		return err
	}
	p, err := s.Projects.Update(c.Request().Context(), caller(c).actor, c.Param("code"), projects.Patch{
		Name: in.Name, Description: in.Description, AddPartners: in.AddPartners, RemovePartners: in.RemovePartners, State: in.State,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.toProject(p, true))
}
