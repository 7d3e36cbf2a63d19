package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"datashare/models"
	"datashare/models/modelstest"
	"datashare/sla"
	. "datashare/workflow"
)

// The list is the page every user opens first; at a million requests it
// stays fast only while each branch of its query is an index range scan in
// the page's order. These tests read the plans the databases choose for
// every shape of the list, over enough analysed rows that a planner would
// rather scan and sort if the indexes did not serve, so that a change of
// query or index that loses this fails here.

// mustSeedPlanRows fills db with n requests over 40 agencies, a tenth of
// them drafts and a tenth of those submitted without a due date, and
// analyses the tables.
func mustSeedPlanRows(tb testing.TB, db *models.DB, n int) {
	tb.Helper()
	g := db.Gorm
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range planAgencies {
		code := fmt.Sprintf("AG%d", i)
		if err := g.Create(&models.Agency{Code: code, Name: code, CreatedAt: now}).Error; err != nil {
			tb.Fatal(err)
		}
		if err := g.Create(&models.User{Email: code + "@x.gov.sg", Name: code, AgencyCode: code, Roles: "requester", CreatedAt: now}).Error; err != nil {
			tb.Fatal(err)
		}
	}
	var users []models.User
	if err := g.Order("id").Find(&users).Error; err != nil {
		tb.Fatal(err)
	}
	states := []string{"draft", "submitted", "submitted", "approved", "fulfilled", "submitted", "clarification_requested", "rejected", "submitted", "withdrawn"}
	batch := make([]models.Request, 0, 1000)
	for i := range n {
		// AG1 and AG2, the agencies of the cases, are small: a plan that
		// walks every request in id order and filters on the agency would
		// read most of the table to fill their page.
		req, own := 3+i%(planAgencies-3), 3+(i*7+5)%(planAgencies-3)
		switch {
		case i%200 == 0:
			req = 1
		case i%150 == 1:
			own = 2
		}
		if own == req {
			own = 3 + (own-2)%(planAgencies-3)
		}
		at := now.Add(time.Duration(i) * time.Minute)
		r := models.Request{
			Title: "t", Purpose: "p", DataDescription: "d", Classification: "official-open",
			RequestingAgency: users[req].AgencyCode, OwnerAgency: users[own].AgencyCode, RequesterID: users[req].ID,
			State: states[i%len(states)], ApprovalsRequired: 1, Version: 1, CreatedAt: at, UpdatedAt: at,
		}
		if r.State != "draft" {
			r.SubmittedAt = &at
			due := at.Add(time.Duration(i%977) * time.Hour)
			if r.State != "clarification_requested" {
				r.SLA.DueAt = &due
			}
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == n-1 {
			if err := g.Omit(clause.Associations).CreateInBatches(&batch, 1000).Error; err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := g.Exec("ANALYZE").Error; err != nil {
		tb.Fatal(err)
	}
}

const planAgencies = 40

// planCase is one shape of the list and the indexes its branches must use.
type planCase struct {
	name    string
	actor   Actor
	filter  Filter
	indexes []string // on SQLite, every one must appear in the plan
}

func planCases() []planCase {
	req := Actor{ID: 1, Agency: "AG1", Roles: []Role{Requester}}
	appr := Actor{ID: 2, Agency: "AG2", Roles: []Role{Approver}}
	admin := Actor{ID: 3, Roles: []Role{Admin}}
	due := time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	newest := []string{"requests_requesting", "requests_owner_submitted"}
	byDue := []string{"requests_requesting_due", "requests_owner_due"}
	return []planCase{
		{"requester, newest", req, Filter{Limit: 50}, newest},
		{"requester, newest, next page", req, Filter{Limit: 50, After: Cursor{ID: 9000}}, newest},
		{"approver, newest", appr, Filter{Limit: 50}, newest},
		{"approver, newest, in a state", appr, Filter{Limit: 50, State: "submitted"}, []string{"requests_requesting_open", "requests_owner_open"}},
		{"approver, newest, breached", appr, Filter{Limit: 50, SLAStatus: "breached", Now: now}, []string{"requests_requesting_open", "requests_owner_open"}},
		{"requester, newest, of one owner", req, Filter{Limit: 50, OwnerAgency: "AG5"}, nil},
		{"approver, soonest due", appr, Filter{Limit: 50, SortByDue: true}, byDue},
		{"approver, soonest due, next page", appr, Filter{Limit: 50, SortByDue: true, After: Cursor{ID: 500, DueAt: &due}}, byDue},
		{"approver, soonest due, in the undated tail", appr, Filter{Limit: 50, SortByDue: true, After: Cursor{ID: 500}}, byDue},
		{"approver, inbox", appr, Filter{Limit: 50, SortByDue: true, OwnerAgency: "AG2", States: []string{"submitted", "approved"}}, []string{"requests_owner_open_due"}},
		{"approver, inbox, next page", appr, Filter{Limit: 50, SortByDue: true, OwnerAgency: "AG2", States: []string{"submitted", "approved"}, After: Cursor{ID: 500, DueAt: &due}}, []string{"requests_owner_open_due"}},
		{"requester, own open requests", req, Filter{Limit: 10, RequestingAgency: "AG1", States: []string{"draft", "submitted", "clarification_requested", "approved"}}, []string{"requests_requesting_open"}},
		{"requester, newest, searched", req, Filter{Limit: 50, Search: "census"}, newest},
		{"admin, newest", admin, Filter{Limit: 100}, nil},
		{"admin, soonest due", admin, Filter{Limit: 100, SortByDue: true}, []string{"requests_due_order"}},
	}
}

// listSQL returns the statement List runs for the case, with its values.
func listSQL(t *testing.T, s *Service, db *models.DB, c planCase) (string, []any) {
	t.Helper()
	q, err := s.ListQuery(db.Gorm.Session(&gorm.Session{DryRun: true}), c.actor, c.filter)
	if err != nil {
		t.Fatal(err)
	}
	var out []models.Request
	st := q.Find(&out).Statement
	return st.SQL.String(), st.Vars
}

func TestListPlansAreOrderedIndexScans(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		mustSeedPlanRows(t, db, 40000)
		s := NewService(db, DefaultPolicy(), time.Now).WithStatusScope(sla.StatusScope)
		for _, c := range planCases() {
			t.Run(c.name, func(t *testing.T) {
				sql, vars := listSQL(t, s, db, c)
				var plan string
				var problems []string
				if db.Dialect == models.SQLite {
					plan, problems = sqlitePlanProblems(t, db, sql, vars)
				} else {
					plan, problems = postgresPlanProblems(t, db, sql, vars, c.actor.Has(Admin) || c.filter.SortByDue)
				}
				// PostgreSQL picks among the agency's indexes by cost; SQLite's
				// choice is fixed by the query's shape.
				for _, ix := range c.indexes {
					if db.Dialect != models.SQLite {
						break
					}
					if !strings.Contains(plan, ix) {
						problems = append(problems, "does not use index "+ix)
					}
				}
				if len(problems) > 0 {
					t.Errorf("list plan: %s\nquery: %s\nplan:\n%s", strings.Join(problems, "; "), sql, plan)
				}
			})
		}
	})
}

// sqlitePlanProblems reads EXPLAIN QUERY PLAN: nothing read from requests
// may be sorted (only the few rows each branch hands up), and no OR may be
// answered by combining indexes.
func sqlitePlanProblems(t *testing.T, db *models.DB, sql string, vars []any) (string, []string) {
	t.Helper()
	rows, err := db.Gorm.Raw("EXPLAIN QUERY PLAN "+sql, vars...).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type node struct {
		id, parent int
		detail     string
	}
	var nodes []node
	for rows.Next() {
		var n node
		var unused int
		if err := rows.Scan(&n.id, &n.parent, &unused, &n.detail); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	var b strings.Builder
	var problems []string
	for _, n := range nodes {
		fmt.Fprintf(&b, "%d<-%d %s\n", n.id, n.parent, n.detail)
		readsTable := strings.HasPrefix(n.detail, "SCAN requests") || strings.HasPrefix(n.detail, "SEARCH requests")
		if readsTable {
			// Sorting what is read from the table, rather than the few rows
			// a branch hands up, is what grows with the table.
			for _, m := range nodes {
				if m.parent == n.parent && strings.Contains(m.detail, "TEMP B-TREE") {
					problems = append(problems, "sorts the rows of "+n.detail)
				}
			}
		}
		if strings.Contains(n.detail, "MULTI-INDEX OR") {
			problems = append(problems, "OR over indexes: "+n.detail)
		}
	}
	return b.String(), problems
}

// postgresPlanProblems reads EXPLAIN (FORMAT JSON): no sequential scan of
// requests; a branch of a user's list reads an index that starts with the
// agency; and a branch sorts only rows the planner expects to be few (it
// rightly prefers that for a small agency's handful of rows).
//
// anyIndex lifts the agency rule: an admin's list has no agency, and the
// one plan for all values of a list sorted by due date may walk the
// primary key for the undated tail (drafts and paused requests).
func postgresPlanProblems(t *testing.T, db *models.DB, sql string, vars []any, anyIndex bool) (string, []string) {
	t.Helper()
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		t.Fatal(err)
	}
	// The driver prepares each statement, and after five runs PostgreSQL
	// may switch to one plan for all values, chosen without them: read that
	// plan, which a busy server runs, rather than the plan for these values.
	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PREPARE list_plan AS "+sql); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "DEALLOCATE list_plan")
	if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "RESET plan_cache_mode")
	literals := make([]string, len(vars))
	for i, v := range vars {
		literals[i] = pgLiteral(v)
	}
	var raw string
	if err := conn.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) EXECUTE list_plan("+strings.Join(literals, ", ")+")").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var doc []struct {
		Plan pgNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var problems []string
	var walk func(n pgNode, depth int, sorted float64)
	walk = func(n pgNode, depth int, sorted float64) {
		fmt.Fprintf(&b, "%s%s %s %s (rows %.0f)\n", strings.Repeat("  ", depth), n.Type, n.Relation, n.Index, n.Rows)
		switch n.Type {
		case "Sort", "Incremental Sort":
			sorted = n.Rows
		case "Limit":
			sorted = 0
		}
		if n.Relation == "requests" {
			if n.Type == "Seq Scan" {
				problems = append(problems, "Seq Scan on requests")
			}
			if sorted > maxSortedRows {
				problems = append(problems, fmt.Sprintf("sorts %.0f rows of a branch (%s %s)", sorted, n.Type, n.Index))
			}
		}
		if strings.HasPrefix(n.Type, "Bitmap Index") || strings.HasPrefix(n.Type, "Index") {
			table, first := pgFirstColumn(t, db, n.Index)
			if !anyIndex && table == "requests" && first != "requesting_agency" && first != "owner_agency" {
				problems = append(problems, "a branch reads "+n.Index+", which does not start with the agency")
			}
		}
		for _, c := range n.Plans {
			walk(c, depth+1, sorted)
		}
	}
	walk(doc[0].Plan, 0, 0)
	return b.String(), problems
}

// pgLiteral writes a value of a list query as an SQL literal.
func pgLiteral(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case time.Time:
		return "'" + v.UTC().Format(time.RFC3339Nano) + "'"
	default:
		return fmt.Sprint(v)
	}
}

// pgFirstColumn names the table of a PostgreSQL index and its first column.
func pgFirstColumn(t *testing.T, db *models.DB, index string) (table, column string) {
	t.Helper()
	var row struct{ Table, Column string }
	err := db.Gorm.Raw(`SELECT t.relname AS "table", a.attname AS "column" FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE c.relname = ? AND c.relnamespace = to_regnamespace(current_schema())`, index).Scan(&row).Error
	if err != nil {
		t.Fatal(err)
	}
	return row.Table, row.Column
}

// maxSortedRows is how many rows a branch may sort: a few pages.
const maxSortedRows = 500

type pgNode struct {
	Type     string   `json:"Node Type"`
	Relation string   `json:"Relation Name"`
	Index    string   `json:"Index Name"`
	Rows     float64  `json:"Plan Rows"`
	Plans    []pgNode `json:"Plans"`
}
