package statements

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/calendar"
	"datashare/errs"
	"datashare/models"
	"datashare/sla"
	"datashare/workflow"
)

// Service publishes and reads statements.
type Service struct {
	db       *models.DB
	reporter *sla.Reporter
	keeper   *sla.Keeper
	notify   Notifier
}

// Notifier tells the people who answer for a statement that it was
// published, in the transaction that writes it: a statement is never
// written without its messages, nor messages without their statement.
type Notifier func(ctx context.Context, tx *gorm.DB, st Statement) error

// WithNotifier has s tell of every statement it publishes through n.
func (s *Service) WithNotifier(n Notifier) *Service {
	s.notify = n
	return s
}

// NewService returns a Service over db, computing figures with reporter
// on keeper's calendar.
func NewService(db *models.DB, reporter *sla.Reporter, keeper *sla.Keeper) *Service {
	return &Service{db: db, reporter: reporter, keeper: keeper}
}

// Result says what publishing one month did.
type Result struct {
	Month     string `json:"month"`
	Published int    `json:"published"` // first statements
	Revised   int    `json:"revised"`   // revisions of statements whose figures moved
	Unchanged int    `json:"unchanged"` // scopes whose latest statement still holds
}

// Publish publishes month's statements as of now, for the whole of
// government and for each agency: a first statement for a scope that has
// none, a revision for one whose figures would now differ, nothing for the
// others. Publishing again is harmless, and replicas publishing at once
// write each statement once (the unique revision of a scope decides).
// Errors: invalid (field month) unless the month has ended.
func (s *Service) Publish(ctx context.Context, m Month, now time.Time) (Result, error) {
	res := Result{Month: m.String()}
	cal := s.keeper.Calendar()
	if now.Before(m.Next().First().Start(cal.Location())) {
		return res, errs.Field("month", "%s has not ended yet: a statement is published once its month is over", m)
	}
	var agencies []string
	if err := s.db.Conn(ctx).Model(&models.Agency{}).Order("code").Pluck("code", &agencies).Error; err != nil {
		return res, fmt.Errorf("publish %s: agencies: %w", m, err)
	}
	version := calendarVersion(cal)
	for _, agency := range append([]string{""}, agencies...) {
		f, err := s.figures(ctx, m, agency, now)
		if err != nil {
			return res, fmt.Errorf("publish %s %s: %w", m, scopeName(agency), err)
		}
		outcome, err := s.publishScope(ctx, m, agency, f, now, version)
		if err != nil {
			return res, fmt.Errorf("publish %s %s: %w", m, scopeName(agency), err)
		}
		switch outcome {
		case published:
			res.Published++
		case revised:
			res.Revised++
		default:
			res.Unchanged++
		}
	}
	return res, nil
}

type outcome int

const (
	unchanged outcome = iota
	published
	revised
)

// publishScope writes agency's statement of m if it has none, or a
// revision if f differs from the latest one.
func (s *Service) publishScope(ctx context.Context, m Month, agency string, f Figures, now time.Time, version string) (outcome, error) {
	var latest []models.Statement
	if err := s.db.Conn(ctx).Where("month = ? AND agency = ?", m.String(), agency).Order("revision DESC").Limit(1).Find(&latest).Error; err != nil {
		return unchanged, err
	}
	row := models.Statement{Month: m.String(), Agency: agency, Revision: 1, GeneratedAt: now.UTC().Truncate(time.Second), CalendarVersion: version}
	result := published
	if len(latest) == 1 {
		prev, err := decode(latest[0])
		if err != nil {
			return unchanged, err
		}
		changes := Compare(prev, f)
		if len(changes) == 0 {
			return unchanged, nil
		}
		if err := s.explain(ctx, changes); err != nil {
			return unchanged, err
		}
		text, err := json.Marshal(changes)
		if err != nil {
			return unchanged, err
		}
		row.Revision, row.SupersedesID, row.Changes, result = latest[0].Revision+1, &latest[0].ID, string(text), revised
	} else {
		row.Changes = "[]"
	}
	body, err := json.Marshal(f)
	if err != nil {
		return unchanged, err
	}
	row.Figures = string(body)
	row.Canonical = Canonical(f, row.Revision, row.GeneratedAt, version)
	row.Hash = Hash(row.Canonical)
	err = s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if s.notify == nil {
			return nil
		}
		st, err := view(row)
		if err != nil {
			return err
		}
		return s.notify(ctx, tx, st)
	})
	if models.IsUniqueViolation(err) {
		return unchanged, nil // another replica wrote it first
	}
	return result, err
}

// figures computes agency's figures of m as of now.
func (s *Service) figures(ctx context.Context, m Month, agency string, now time.Time) (Figures, error) {
	q := sla.Query{From: m.First(), To: m.Next().First(), Agency: agency, GroupBy: sla.ByOwnerAgency}
	byOwner, err := s.reporter.Compute(ctx, q, now)
	if err != nil {
		return Figures{}, err
	}
	q.GroupBy = sla.ByRequestingAgency
	byRequester, err := s.reporter.Compute(ctx, q, now)
	if err != nil {
		return Figures{}, err
	}
	met, missed, err := s.reporter.Counted(ctx, q, now)
	if err != nil {
		return Figures{}, err
	}
	open, err := s.reporter.OpenAt(ctx, agency, m.Next().First().Start(s.keeper.Calendar().Location()))
	if err != nil {
		return Figures{}, err
	}
	f := Figures{
		Month: m.String(), From: byOwner.From, To: byOwner.To, Agency: byOwner.Agency, TargetWorkingDays: byOwner.TargetWorkingDays,
		Met: byOwner.Met, Missed: byOwner.Missed, ComplianceRate: byOwner.ComplianceRate, Finished: byOwner.Finished,
		Elapsed: byOwner.Elapsed, TimeInState: byOwner.TimeInState, Open: open,
		ByOwnerAgency: byOwner.Groups, ByRequestingAgency: byRequester.Groups,
		MetRequests: nonNil(met), MissedRequests: nonNil(missed),
	}
	return f, nil
}

func nonNil(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}

// explain names, for each request a revision moves, the last event of its
// history: what made it move.
func (s *Service) explain(ctx context.Context, changes []Change) error {
	for i := range changes {
		if changes[i].Request == nil {
			continue
		}
		var t []models.Transition
		if err := s.db.Conn(ctx).Where("request_id = ?", *changes[i].Request).Order("id DESC").Limit(1).Find(&t).Error; err != nil {
			return err
		}
		if len(t) == 1 {
			changes[i].Because = fmt.Sprintf("%s at %s", t[0].Action, t[0].At.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// calendarVersion fingerprints the calendar in force: its zone, working
// hours and days off. Two statements computed on the same calendar carry
// the same version.
func calendarVersion(cal *calendar.Calendar) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%v\n", cal.Location(), cal.Hours())
	for _, d := range cal.Holidays() {
		fmt.Fprintf(h, "%s %s\n", d.Date, d.Kind)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

func scopeName(agency string) string {
	if agency == "" {
		return "whole of government"
	}
	return agency
}

// Due reports whether the scheduled job publishes m's statements at now:
// from the first working day after the month, so that the figures of its
// last day are in.
func Due(m Month, now time.Time, cal *calendar.Calendar) bool {
	d := m.Next().First()
	for !cal.IsWorkingDay(d) {
		d = calendar.DateOf(time.Date(d.Year, d.Month, d.Day+1, 12, 0, 0, 0, cal.Location()), cal.Location())
	}
	return calendar.DateOf(now, cal.Location()).Compare(d) >= 0
}

// Revisable is how many months back the scheduled job looks for figures
// that have moved.
const Revisable = 12

// Run is the scheduled job: it publishes the previous month's statements
// once Due, and revises any of the Revisable months before whose figures
// have moved. It is idempotent for the same now.
func (s *Service) Run(ctx context.Context, now time.Time) ([]Result, error) {
	cal := s.keeper.Calendar()
	this := MonthOf(now, cal.Location())
	var out []Result
	m := this.Previous()
	if Due(m, now, cal) {
		r, err := s.Publish(ctx, m, now)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	var months []string
	oldest := this
	for range Revisable {
		oldest = oldest.Previous()
	}
	if err := s.db.Conn(ctx).Model(&models.Statement{}).Distinct("month").
		Where("month >= ? AND month < ?", oldest.String(), m.String()).Order("month").Pluck("month", &months).Error; err != nil {
		return out, fmt.Errorf("statements: published months: %w", err)
	}
	for _, name := range months {
		pm, err := ParseMonth(name)
		if err != nil {
			return out, err
		}
		r, err := s.Publish(ctx, pm, now)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Statement is a published statement as it is read: its figures decoded
// and Verified saying whether the stored hash matches the stored figures.
type Statement struct {
	ID              int64     `json:"id"`
	Month           string    `json:"month"`
	Agency          *string   `json:"agency"`
	Revision        int       `json:"revision"`
	SupersedesID    *int64    `json:"supersedes_id"`
	SupersededByID  *int64    `json:"superseded_by_id"`
	Changes         []Change  `json:"changes"`
	GeneratedAt     time.Time `json:"generated_at"`
	CalendarVersion string    `json:"calendar_version"`
	Figures         Figures   `json:"figures"`
	Hash            string    `json:"hash"`
	Verified        bool      `json:"verified"`
	Canonical       string    `json:"-"`
}

func decode(row models.Statement) (Figures, error) {
	var f Figures
	if err := json.Unmarshal([]byte(row.Figures), &f); err != nil {
		return Figures{}, fmt.Errorf("statement %d: figures: %w", row.ID, err)
	}
	return f, nil
}

func view(row models.Statement) (Statement, error) {
	f, err := decode(row)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{
		ID: row.ID, Month: row.Month, Revision: row.Revision, SupersedesID: row.SupersedesID, Changes: []Change{},
		GeneratedAt: row.GeneratedAt.UTC(), CalendarVersion: row.CalendarVersion, Figures: f, Hash: row.Hash, Canonical: row.Canonical,
	}
	if row.Agency != "" {
		st.Agency = &row.Agency
	}
	if row.Changes != "" {
		if err := json.Unmarshal([]byte(row.Changes), &st.Changes); err != nil {
			return Statement{}, fmt.Errorf("statement %d: changes: %w", row.ID, err)
		}
	}
	// The stored canonical text must be what the stored figures give, and
	// the hash must be the text's: a change to any of the three shows.
	st.Verified = Canonical(f, row.Revision, st.GeneratedAt, row.CalendarVersion) == row.Canonical && Hash(row.Canonical) == row.Hash
	return st, nil
}

// ListQuery selects statements: of one agency ("" for the caller's whole
// view), of months From to To inclusive (zero for no bound).
type ListQuery struct {
	Agency   string
	From, To *Month
}

// scope is the agency whose statements caller may read: admins any ("" is
// all), managers their own agency's only.
func scope(caller workflow.Actor, agency string) (all bool, only string, err error) {
	switch {
	case caller.Has(workflow.Admin):
		return agency == "", agency, nil
	case caller.Has(workflow.Manager):
		if agency != "" && agency != caller.Agency {
			return false, "", errs.E(errs.Forbidden, "managers see the statements of their own agency only (%s)", caller.Agency)
		}
		return false, caller.Agency, nil
	}
	return false, "", errs.E(errs.Forbidden, "only managers and admins see compliance statements")
}

// List returns the statements caller may read under q, latest month first,
// each month's revisions latest first. Errors: forbidden.
func (s *Service) List(ctx context.Context, caller workflow.Actor, q ListQuery) ([]Statement, error) {
	all, only, err := scope(caller, q.Agency)
	if err != nil {
		return nil, err
	}
	db := s.db.Conn(ctx).Model(&models.Statement{})
	if !all {
		db = db.Where("agency = ?", only)
	}
	if q.From != nil {
		db = db.Where("month >= ?", q.From.String())
	}
	if q.To != nil {
		db = db.Where("month <= ?", q.To.String())
	}
	var rows []models.Statement
	if err := db.Order("month DESC, agency, revision DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list statements: %w", err)
	}
	return views(rows)
}

func views(rows []models.Statement) ([]Statement, error) {
	out := make([]Statement, 0, len(rows))
	next := map[int64]int64{} // superseded id → the revision that supersedes it
	for _, r := range rows {
		if r.SupersedesID != nil {
			next[*r.SupersedesID] = r.ID
		}
	}
	for _, r := range rows {
		st, err := view(r)
		if err != nil {
			return nil, err
		}
		if id, ok := next[r.ID]; ok {
			st.SupersededByID = &id
		}
		out = append(out, st)
	}
	return out, nil
}

// Get returns statement id if caller may read it. Errors: not_found
// (absent or not visible), forbidden.
func (s *Service) Get(ctx context.Context, caller workflow.Actor, id int64) (Statement, error) {
	all, only, err := scope(caller, "")
	if err != nil {
		return Statement{}, err
	}
	var row models.Statement
	err = s.db.Conn(ctx).First(&row, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !all && row.Agency != only) {
		return Statement{}, errs.E(errs.NotFound, "statement %d not found", id)
	}
	if err != nil {
		return Statement{}, fmt.Errorf("statement %d: %w", id, err)
	}
	var later []models.Statement
	if err := s.db.Conn(ctx).Where("supersedes_id = ?", id).Find(&later).Error; err != nil {
		return Statement{}, fmt.Errorf("statement %d: %w", id, err)
	}
	rows, err := views(append([]models.Statement{row}, later...))
	if err != nil {
		return Statement{}, err
	}
	return rows[0], nil
}

// Published returns the latest statement of month for agency ("" for the
// whole of government), for the report's as_published answers. Errors:
// not_found when the month has none; forbidden as List.
func (s *Service) Published(ctx context.Context, caller workflow.Actor, m Month, agency string) (Statement, error) {
	if _, _, err := scope(caller, agency); err != nil {
		return Statement{}, err
	}
	var rows []models.Statement
	if err := s.db.Conn(ctx).Where("month = ? AND agency = ?", m.String(), agency).Order("revision DESC").Limit(1).Find(&rows).Error; err != nil {
		return Statement{}, fmt.Errorf("statement of %s: %w", m, err)
	}
	if len(rows) == 0 {
		return Statement{}, errs.E(errs.NotFound, "no statement has been published for %s (%s)", m, scopeName(agency))
	}
	return view(rows[0])
}

// Change is one difference a revision makes: a figure that moved, or a
// request that moved in or out of the met or missed count, with the event
// that last changed it.
type Change struct {
	Field   string `json:"field"`
	Was     string `json:"was"`
	Now     string `json:"now"`
	Request *int64 `json:"request_id,omitempty"`
	Because string `json:"because,omitempty"`
}

// Compare lists what differs between the figures of a published statement
// and those of the same month computed again: every outcome figure, and
// each request counted differently. Empty when nothing moved.
func Compare(was, now Figures) []Change {
	var before, after []string
	outcomes(was, func(k, v string) { before = append(before, k+"\x00"+v) })
	outcomes(now, func(k, v string) { after = append(after, k+"\x00"+v) })
	values := func(lines []string) (map[string]string, []string) {
		m := map[string]string{}
		var order []string
		for _, l := range lines {
			k, v, _ := strings.Cut(l, "\x00")
			if k == "met_requests" || k == "missed_requests" {
				continue
			}
			m[k] = v
			order = append(order, k)
		}
		return m, order
	}
	b, order := values(before)
	a, orderNow := values(after)
	for _, k := range orderNow {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	var out []Change
	for _, k := range order {
		if b[k] != a[k] {
			out = append(out, Change{Field: k, Was: b[k], Now: a[k]})
		}
	}
	counted := func(f Figures) map[int64]string {
		m := map[int64]string{}
		for _, id := range f.MetRequests {
			m[id] = "met"
		}
		for _, id := range f.MissedRequests {
			m[id] = "missed"
		}
		return m
	}
	cb, ca := counted(was), counted(now)
	var moved []int64
	for id := range cb {
		moved = append(moved, id)
	}
	for id := range ca {
		if _, ok := cb[id]; !ok {
			moved = append(moved, id)
		}
	}
	slices.Sort(moved)
	for _, id := range moved {
		if cb[id] != ca[id] {
			out = append(out, Change{Field: "request", Was: orNone(cb[id]), Now: orNone(ca[id]), Request: &id})
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "not counted"
	}
	return s
}
