package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"datashare/api"
	"datashare/errs"
	"datashare/statements"
)

func (a *app) registerStatementPages(r router) {
	r.page(http.MethodGet, "/statements", a.handleStatements)
	r.page(http.MethodGet, "/statements/:id/statement.csv", a.handleStatementFile("csv"))
	r.page(http.MethodGet, "/statements/:id/statement.xlsx", a.handleStatementFile("xlsx"))
}

// statementsView lists the statements the viewer may read, by month.
type statementsView struct {
	Page
	Months []statementMonth
}

type statementMonth struct {
	Month      string // YYYY-MM
	Label      string // November 2026
	Statements []statements.Statement
}

func (a *app) handleStatements(c echo.Context) error {
	list, err := a.Statements.List(c.Request().Context(), viewer(c).Actor, statements.ListQuery{})
	if err != nil {
		return err
	}
	v := &statementsView{Page: Page{Nav: "statements"}}
	for _, st := range list {
		if n := len(v.Months); n == 0 || v.Months[n-1].Month != st.Month {
			label := st.Month
			if m, err := statements.ParseMonth(st.Month); err == nil {
				label = m.Month.String() + " " + strconv.Itoa(m.Year)
			}
			v.Months = append(v.Months, statementMonth{Month: st.Month, Label: label})
		}
		m := &v.Months[len(v.Months)-1]
		m.Statements = append(m.Statements, st)
	}
	return a.render(c, http.StatusOK, "statements", v)
}

func (a *app) handleStatementFile(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id <= 0 {
			return errs.E(errs.NotFound, "no such statement")
		}
		st, err := a.Statements.Get(c.Request().Context(), viewer(c).Actor, id)
		if err != nil {
			return err
		}
		f, err := st.File(format)
		if err != nil {
			return err
		}
		return api.Download(c, f)
	}
}
