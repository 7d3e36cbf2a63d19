package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"datashare/errs"
	"datashare/models"
)

// Filter narrows List.
type Filter struct {
	State            string
	States           []string // any of these states, besides State
	OwnerAgency      string
	RequestingAgency string
	SLAStatus        string    // one of the SLA statuses, at Now
	Search           string    // words in the title or purpose, ignoring the case of ASCII letters; at most 200 characters
	Now              time.Time // the instant SLAStatus is judged at
	SortByDue        bool      // soonest due first, undated last, instead of newest first
	Limit            int       // 1..100; 0 means 50
	After            Cursor    // where the page starts; the zero Cursor is the first page
}

// Cursor is the position of the last request of a page in the page's sort
// order, so the next page starts right after it however many rows were
// added or removed meanwhile.
type Cursor struct {
	ID    int64
	DueAt *time.Time // sorted by due: the request's due instant, nil in the undated tail
}

// MaxPageSize is the largest page List returns.
const MaxPageSize = 100

// MaxSearch is the longest text Filter.Search may hold, in characters.
const MaxSearch = 200

// List returns the requests actor may see in the order f asks for, and
// where the next page starts (nil on the last page).
//
// Each way a user may see a request (CanSee: as the requesting agency, as
// the owner agency once submitted) is read as its own branch in the page's
// order, each backed by an index that starts with the agency, and the
// branches are merged: the database never sorts more than a page per branch.
func (s *Service) List(ctx context.Context, actor Actor, f Filter) ([]models.Request, *Cursor, error) {
	if f.State != "" && !State(f.State).Valid() {
		return nil, nil, errs.Field("state", "unknown state %q", f.State)
	}
	for _, st := range f.States {
		if !State(st).Valid() {
			return nil, nil, errs.Field("states", "unknown state %q", st)
		}
	}
	if utf8.RuneCountInString(f.Search) > MaxSearch {
		return nil, nil, errs.Field("search", "search must be at most %d characters", MaxSearch)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > MaxPageSize {
		return nil, nil, errs.Field("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	q, err := s.listQuery(s.db.Conn(ctx), actor, f)
	if err != nil {
		return nil, nil, err
	}
	var out []models.Request
	// Three round trips with the token's: the page with its requesters,
	// then the page's approvals with their approvers.
	err = q.Preload("Approvals", func(db *gorm.DB) *gorm.DB {
		return db.Joins("Approver").Order("approvals.at, approvals.approver_id")
	}).Find(&out).Error
	if err != nil {
		return nil, nil, fmt.Errorf("list requests: %w", err)
	}
	if len(out) <= f.Limit {
		return out, nil, nil
	}
	out = out[:f.Limit]
	last := out[len(out)-1]
	next := &Cursor{ID: last.ID}
	if f.SortByDue {
		next.DueAt = last.SLA.DueAt
	}
	return out, next, nil
}

// way is one way a user sees requests: a condition on the agency column
// (empty for an admin, who sees all), and for the owner agency only
// submitted requests.
type way struct {
	agency, code string
	submitted    bool
}

// visibility returns the ways actor sees requests; their union is what
// CanSee allows, and no request is seen two ways (a request's owner agency
// differs from its requesting agency). Drafts stay private to the
// requesting agency; the indexes requests_owner_* hold only submitted
// requests.
func visibility(actor Actor) []way {
	if actor.Has(Admin) {
		return []way{{}}
	}
	return []way{
		{agency: "requesting_agency", code: actor.Agency},
		{agency: "owner_agency", code: actor.Agency, submitted: true},
	}
}

// empty reports whether f leaves nothing to see this way: a request's two
// agencies differ, so the actor's own agency as the other side of the
// request rules out every request this way reads. Skipping the branch
// spares the database a walk of the agency's index that finds nothing (an
// approver's inbox, a requester's own agency's requests).
func (w way) empty(f Filter) bool {
	if f.OwnerAgency == f.RequestingAgency {
		return false // nothing either way, and the query keeps a branch
	}
	switch w.agency {
	case "requesting_agency":
		return f.OwnerAgency == w.code
	case "owner_agency":
		return f.RequestingAgency == w.code
	}
	return false
}

// where narrows a branch of section sec to the requests seen this way.
//
// Newest first, the agency is written as a range of one value and leads
// the order. To PostgreSQL an equality would make the agency a constant of
// the order, and its estimates could then prefer walking the primary key
// newest first, filtering on the agency: that reads every newer request of
// the other agencies first (at 100,000 requests a list fell from 280 to
// 120 pages/s over three rounds as the agencies filed drafts). As a range,
// only the agency's index gives the order, and it is read from the page's
// first row.
func (w way) where(sec section) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch {
		case w.agency == "":
		case sec.desc:
			q = q.Where(w.agency+" >= ? AND "+w.agency+" <= ?", w.code, w.code)
		default:
			q = q.Where(w.agency+" = ?", w.code)
		}
		if w.submitted {
			q = q.Where("submitted_at IS NOT NULL")
		}
		return q
	}
}

// order is the ORDER BY of a branch of section sec.
func (w way) order(sec section) string {
	if w.agency == "" || !sec.desc {
		return sec.order
	}
	return w.agency + " DESC, " + sec.order
}

// section is one stretch of the sort order: newest first is one stretch;
// soonest due is the dated requests by due instant, then the undated ones.
type section struct {
	where func(*gorm.DB) *gorm.DB
	order string
	desc  bool // newest first: ordered by id alone, where the primary key competes
}

func sections(f Filter) []section {
	if !f.SortByDue {
		return []section{{
			where: func(q *gorm.DB) *gorm.DB {
				if f.After.ID > 0 {
					return q.Where("id < ?", f.After.ID)
				}
				return q
			},
			order: "id DESC",
			desc:  true,
		}}
	}
	inTail := f.After.ID > 0 && f.After.DueAt == nil
	undated := section{
		where: func(q *gorm.DB) *gorm.DB {
			q = q.Where("sla_due_at IS NULL")
			if inTail {
				q = q.Where("id > ?", f.After.ID)
			}
			return q
		},
		// Every due instant here is NULL, so this is the order of id; said
		// as the due index's order, it is read from that index, where
		// ORDER BY id alone let PostgreSQL walk the primary key past every
		// other agency's request (28 ms of a 100,000-request inbox).
		order: "sla_due_at, id",
	}
	if inTail {
		return []section{undated}
	}
	dated := section{
		where: func(q *gorm.DB) *gorm.DB {
			q = q.Where("sla_due_at IS NOT NULL")
			if f.After.DueAt != nil {
				q = q.Where("(sla_due_at, id) > (?, ?)", f.After.DueAt.UTC(), f.After.ID)
			}
			return q
		},
		order: "sla_due_at, id",
	}
	return []section{dated, undated}
}

// listQuery builds the page query of List: one ordered, limited branch per
// way of seeing and per section, merged and cut to one page.
func (s *Service) listQuery(db *gorm.DB, actor Actor, f Filter) (*gorm.DB, error) {
	filters, err := s.filters(f)
	if err != nil {
		return nil, err
	}
	var branches []any
	for _, w := range visibility(actor) {
		if w.empty(f) {
			continue
		}
		for _, sec := range sections(f) {
			b := db.Session(&gorm.Session{NewDB: true}).Model(&models.Request{}).
				Scopes(w.where(sec), sec.where).Scopes(filters...).Order(w.order(sec)).Limit(f.Limit + 1)
			branches = append(branches, b)
		}
	}
	parts := make([]string, len(branches))
	for i := range branches {
		parts[i] = fmt.Sprintf("SELECT * FROM (?) AS b%d", i)
	}
	order := "listed.id DESC"
	if f.SortByDue {
		order = "CASE WHEN listed.sla_due_at IS NULL THEN 1 ELSE 0 END, listed.sla_due_at, listed.id"
	}
	return db.Table("("+strings.Join(parts, " UNION ALL ")+") AS listed", branches...).
		Joins("Requester").Order(order).Limit(f.Limit + 1), nil
}

// filters are the narrowing conditions f asks for, applied in every branch.
func (s *Service) filters(f Filter) ([]func(*gorm.DB) *gorm.DB, error) {
	var out []func(*gorm.DB) *gorm.DB
	eq := func(col, v string) {
		if v != "" {
			out = append(out, func(q *gorm.DB) *gorm.DB { return q.Where(col+" = ?", v) })
		}
	}
	eq("state", f.State)
	if len(f.States) > 0 {
		out = append(out, func(q *gorm.DB) *gorm.DB { return q.Where("state IN ?", f.States) })
	}
	if openOnly(f) {
		// Implied by the states; written so that the indexes of open
		// requests (migration 0009) serve the query.
		out = append(out, func(q *gorm.DB) *gorm.DB { return q.Where("closed_at IS NULL") })
	}
	eq("owner_agency", f.OwnerAgency)
	eq("requesting_agency", f.RequestingAgency)
	if f.SLAStatus != "" {
		var scope func(*gorm.DB) *gorm.DB
		ok := false
		if s.status != nil {
			scope, ok = s.status(f.SLAStatus, f.Now)
		}
		if !ok {
			return nil, errs.Field("sla_status", "unknown SLA status %q", f.SLAStatus)
		}
		out = append(out, scope)
	}
	if term := strings.TrimSpace(f.Search); term != "" {
		out = append(out, s.search(term))
	}
	return out, nil
}

// search narrows to requests whose title or purpose holds term. Only ASCII
// letters are folded, on both databases: SQLite's lower() folds no other,
// so PostgreSQL folds the same ones (lower under the C collation) rather
// than all of Unicode, and a search finds the same requests wherever it
// runs. term is matched
// literally: % and _ are escaped.
func (s *Service) search(term string) func(*gorm.DB) *gorm.DB {
	pattern := "%" + likeEscaper.Replace(asciiLower(term)) + "%"
	fold := func(col string) string { return "lower(" + col + ")" }
	if s.db.Dialect == models.Postgres {
		// lower() under the C collation folds ASCII letters only, as
		// SQLite's does, and is some thirty times faster than translate().
		fold = func(col string) string { return "lower(" + col + ` COLLATE "C")` }
	}
	cond := "(" + fold("title") + " LIKE ? ESCAPE '!' OR " + fold("purpose") + " LIKE ? ESCAPE '!')"
	return func(q *gorm.DB) *gorm.DB { return q.Where(cond, pattern, pattern) }
}

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// openOnly reports whether f asks only for states that are not final, in
// which closed_at is never set.
func openOnly(f Filter) bool {
	states := f.States
	if f.State != "" {
		states = append([]string{f.State}, states...)
	}
	for _, st := range states {
		if State(st).Terminal() {
			return false
		}
	}
	return len(states) > 0
}
