package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"datashare/errs"
	"datashare/statements"
)

func registerStatementRoutes(g authedGroup, s *server) {
	g.GET("/statements", s.handleStatementList)
	g.GET("/statements/:statement_id", s.handleStatementGet)
	g.GET("/statements/:statement_id/statement.csv", s.handleStatementFile("csv"))
	g.GET("/statements/:statement_id/statement.xlsx", s.handleStatementFile("xlsx"))
}

// optionalMonth reads the query parameter name as YYYY-MM, if given.
func optionalMonth(c echo.Context, name string) (*statements.Month, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	m, err := statements.ParseMonth(v)
	if err != nil {
		return nil, errs.Field(name, "%s must be a month written YYYY-MM", name)
	}
	return &m, nil
}

func (s *server) handleStatementList(c echo.Context) error {
	q := statements.ListQuery{Agency: c.QueryParam("agency")}
	var err error
	if q.From, err = optionalMonth(c, "from"); err != nil {
		return err
	}
	if q.To, err = optionalMonth(c, "to"); err != nil {
		return err
	}
	list, err := s.Statements.List(c.Request().Context(), caller(c).actor, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"statements": list})
}

func (s *server) statement(c echo.Context) (statements.Statement, error) {
	id, err := pathID(c, "statement_id")
	if err != nil {
		return statements.Statement{}, err
	}
	return s.Statements.Get(c.Request().Context(), caller(c).actor, id)
}

func (s *server) handleStatementGet(c echo.Context) error {
	st, err := s.statement(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// handleStatementFile answers a statement to download: as CSV its
// canonical text, whose SHA-256 is the statement's hash; as XLSX its
// figures as a report workbook.
func (s *server) handleStatementFile(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		st, err := s.statement(c)
		if err != nil {
			return err
		}
		f, err := st.File(format)
		if err != nil {
			return err
		}
		return Download(c, f)
	}
}
