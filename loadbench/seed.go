package main

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"gorm.io/gorm"

	"datashare/loadbench/bare"
	"datashare/models"
)

// layout says where each seeded request belongs, so that the seeder and the
// load generator agree without passing 100,000 rows between processes. Ids
// run from 1 to n in both databases.
type layout struct {
	n        int
	agencies int
}

func (l layout) agencyCode(a int) string { return fmt.Sprintf("AG%02d", a+1) }

func (l layout) requesting(id int64) int { return int(id % int64(l.agencies)) }

// owner differs from the requesting agency and rotates over the others.
func (l layout) owner(id int64) int {
	k := int(id/int64(l.agencies)) % (l.agencies - 1)
	return (l.requesting(id) + 1 + k) % l.agencies
}

// state: one in twenty a draft, one in twenty already approved, the rest
// submitted, waiting for the approver.
func (l layout) state(id int64) string {
	switch id % 20 {
	case 0:
		return "draft"
	case 1:
		return "approved"
	}
	return "submitted"
}

// submitted counts the requests seeded as submitted: all but ids 20k
// (drafts) and 20k+1 (approved).
func (l layout) submitted() int {
	return l.n - l.n/20 - (l.n+19)/20
}

// User ids: the requester of agency a is 2a+1, its approver 2a+2.
func requesterID(a int) int64 { return int64(2*a + 1) }
func approverID(a int) int64  { return int64(2*a + 2) }

// approvePool is every seeded submitted request in a fixed random order;
// both servers are handed the same ids, each from its own offset, so that
// no request is approved twice.
func (l layout) approvePool() []int64 {
	var ids []int64
	for id := int64(1); id <= int64(l.n); id++ {
		if l.state(id) == "submitted" {
			ids = append(ids, id)
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

// poolShare is how much of the approve pool one server's approve run may
// use when the pool stands at offset and runs are left: an equal part of
// what remains, so that a fast server cannot leave a later round nothing
// to approve.
func (l layout) poolShare(offset, runs int) int {
	left := l.submitted() - offset
	return max(1, left/max(1, runs))
}

// agencyTokens are the API tokens of one agency's two users.
type agencyTokens struct {
	Code      string `json:"code"`
	Requester string `json:"requester"`
	Approver  string `json:"approver"`
}

// newSecret makes a token in the product's format: dst_ and 32 random
// bytes, base64url.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = crand.Read(b)
	return "dst_" + base64.RawURLEncoding.EncodeToString(b)
}

func (l layout) tokens() []agencyTokens {
	out := make([]agencyTokens, l.agencies)
	for a := range out {
		out[a] = agencyTokens{Code: l.agencyCode(a), Requester: newSecret(), Approver: newSecret()}
	}
	return out
}

// times of one seeded request: created over the last two days, in id
// order, submitted half an hour later and approved half an hour after
// that; due dates lie weeks ahead so that the scheduled check flags none.
type times struct {
	created, submitted, approved, due, warn time.Time
}

func (l layout) times(start time.Time, id int64) times {
	step := 46 * time.Hour / time.Duration(l.n)
	c := start.Add(time.Duration(id) * step).Truncate(time.Microsecond)
	s := c.Add(30 * time.Minute)
	return times{created: c, submitted: s, approved: s.Add(30 * time.Minute), due: s.Add(14 * 24 * time.Hour), warn: s.Add(10 * 24 * time.Hour)}
}

// batcher collects rows of one table into multi-row INSERTs.
type batcher struct {
	tx    *gorm.DB
	table string
	cols  []string
	rows  int
	args  []any
}

// requestsPerInsert keeps every statement under SQLite's 32,766 bound
// parameters: 20 columns of requests, or 9 of up to 3 history rows each.
const requestsPerInsert = 1000

func newBatcher(tx *gorm.DB, table string, cols ...string) *batcher {
	return &batcher{tx: tx, table: table, cols: cols}
}

// add queues a row; the caller flushes, parents before children, so that
// foreign keys hold at every statement.
func (b *batcher) add(vals ...any) error {
	b.args = append(b.args, vals...)
	b.rows++
	return nil
}

func (b *batcher) flush() error {
	if b.rows == 0 {
		return nil
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(b.cols)), ",") + ")"
	q := "INSERT INTO " + b.table + " (" + strings.Join(b.cols, ",") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+",", b.rows), ",")
	if err := b.tx.Exec(q, b.args...).Error; err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	b.rows, b.args = 0, b.args[:0]
	return nil
}

func flushAll(bs ...*batcher) error {
	for _, b := range bs {
		if err := b.flush(); err != nil {
			return err
		}
	}
	return nil
}

// eachRequest calls add for every request of the layout, in id order,
// writing the batches out every requestsPerInsert requests and at the end.
func (l layout) eachRequest(bs []*batcher, add func(id int64) error) error {
	for id := int64(1); id <= int64(l.n); id++ {
		if err := add(id); err != nil {
			return err
		}
		if id%requestsPerInsert == 0 {
			if err := flushAll(bs...); err != nil {
				return err
			}
		}
	}
	return flushAll(bs...)
}

// seedProduct writes agencies, users, tokens, requests with their SLA
// columns, approvals and history into a database the product has migrated.
func seedProduct(ctx context.Context, g *gorm.DB, l layout, toks []agencyTokens, start time.Time) error {
	return g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := seedPeople(tx, l, toks, start, true); err != nil {
			return err
		}
		reqs := newBatcher(tx, "requests", "id", "title", "purpose", "data_description", "classification",
			"requesting_agency", "owner_agency", "requester_id", "state", "approvals_required", "version",
			"created_at", "updated_at", "submitted_at", "sla_target", "sla_elapsed", "sla_running_since",
			"sla_due_at", "sla_warn_at", "state_since")
		aps := newBatcher(tx, "approvals", "request_id", "approver_id", "at")
		trs := newBatcher(tx, "transitions", "request_id", "action", "from_state", "to_state", "actor_id", "at", "comment", "prev_hash", "hash")
		err := l.eachRequest([]*batcher{reqs, aps, trs}, func(id int64) error {
			t, st := l.times(start, id), l.state(id)
			ra, oa := l.requesting(id), l.owner(id)
			var submitted, target, due, warn any
			updated, since, version := t.created, t.created, 1
			if st != "draft" {
				submitted, target, due, warn = t.submitted, 7.0, t.due, t.warn
				updated, since, version = t.submitted, t.submitted, 2
			}
			if st == "approved" {
				updated, since, version = t.approved, t.approved, 3
			}
			title, purpose, desc := text(id)
			if err := reqs.add(id, title, purpose, desc, "official-open", l.agencyCode(ra), l.agencyCode(oa),
				requesterID(ra), st, 1, version, t.created, updated, submitted, target, 0.0, submitted, due, warn, since); err != nil {
				return err
			}
			return seedHistory(trs, aps, id, st, requesterID(ra), approverID(oa), t, true)
		})
		if err != nil {
			return err
		}
		return fixSequences(tx, "users", "api_tokens", "requests", "transitions")
	})
}

// seedBare writes the same people and requests into the bare schema.
func seedBare(ctx context.Context, g *gorm.DB, l layout, toks []agencyTokens, start time.Time) error {
	return g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := seedPeople(tx, l, toks, start, false); err != nil {
			return err
		}
		reqs := newBatcher(tx, "requests", "id", "title", "purpose", "data_description", "classification",
			"requesting_agency", "owner_agency", "requester_id", "state", "approvals_required", "version",
			"created_at", "updated_at", "submitted_at")
		aps := newBatcher(tx, "approvals", "request_id", "approver_id", "at")
		trs := newBatcher(tx, "transitions", "request_id", "action", "from_state", "to_state", "actor_id", "at")
		err := l.eachRequest([]*batcher{reqs, aps, trs}, func(id int64) error {
			t, st := l.times(start, id), l.state(id)
			ra, oa := l.requesting(id), l.owner(id)
			var submitted any
			updated, version := t.created, 1
			if st != "draft" {
				submitted, updated, version = t.submitted, t.submitted, 2
			}
			if st == "approved" {
				updated, version = t.approved, 3
			}
			title, purpose, desc := text(id)
			if err := reqs.add(id, title, purpose, desc, "official-open", l.agencyCode(ra), l.agencyCode(oa),
				requesterID(ra), st, 1, version, t.created, updated, submitted); err != nil {
				return err
			}
			return seedHistory(trs, aps, id, st, requesterID(ra), approverID(oa), t, false)
		})
		if err != nil {
			return err
		}
		return fixSequences(tx, "users", "requests", "transitions")
	})
}

func text(id int64) (title, purpose, desc string) {
	return fmt.Sprintf("Household survey extract %d", id),
		"Evaluate the uptake of a support scheme across planning areas, to target outreach for the next financial year.",
		"Anonymised household records with planning area, household size and scheme status, for the last three years."
}

// seedHistory writes one history row per state change of a request, and
// the approval of an approved one; product says whether the table has the
// product's columns: the comment and the hash chain.
func seedHistory(trs, aps *batcher, id int64, st string, requester, approver int64, t times, product bool) error {
	prev := ""
	row := func(action string, from *string, to string, actor int64, at time.Time) error {
		if product {
			at = at.UTC().Truncate(time.Microsecond)
			hash := models.HistoryHash(models.Transition{RequestID: id, Action: action, FromState: from, ToState: to, ActorID: &actor, At: at}, prev)
			if err := trs.add(id, action, from, to, actor, at, "", prev, hash); err != nil {
				return err
			}
			prev = hash
			return nil
		}
		return trs.add(id, action, from, to, actor, at)
	}
	draft, submitted := "draft", "submitted"
	if err := row("create", nil, "draft", requester, t.created); err != nil {
		return err
	}
	if st == "draft" {
		return nil
	}
	if err := row("submit", &draft, "submitted", requester, t.submitted); err != nil {
		return err
	}
	if st != "approved" {
		return nil
	}
	if err := aps.add(id, approver, t.approved); err != nil {
		return err
	}
	return row("approve", &submitted, "approved", approver, t.approved)
}

// seedPeople writes the agencies, one requester and one approver per
// agency, and a token for each; product says whether the tables have the
// product's columns.
func seedPeople(tx *gorm.DB, l layout, toks []agencyTokens, at time.Time, product bool) error {
	ags := newBatcher(tx, "agencies", "code", "name")
	users := newBatcher(tx, "users", "id", "email", "name", "agency_code", "roles")
	tokens := newBatcher(tx, "api_tokens", "user_id", "hash")
	if product {
		ags = newBatcher(tx, "agencies", "code", "name", "created_at")
		users = newBatcher(tx, "users", "id", "email", "name", "agency_code", "roles", "created_at")
		tokens = newBatcher(tx, "api_tokens", "id", "user_id", "name", "hash", "created_at")
	}
	for a, tk := range toks {
		code := l.agencyCode(a)
		agency := []any{code, "Agency " + code}
		if product {
			agency = append(agency, at)
		}
		if err := ags.add(agency...); err != nil {
			return err
		}
		for _, u := range []struct {
			id     int64
			role   string
			secret string
		}{{requesterID(a), "requester", tk.Requester}, {approverID(a), "approver", tk.Approver}} {
			email := fmt.Sprintf("%s@%s.gov.sg", u.role, strings.ToLower(code))
			row := []any{u.id, email, strings.ToUpper(u.role[:1]) + u.role[1:] + " of " + code, code, u.role}
			trow := []any{u.id, bare.HashToken(u.secret)}
			if product {
				row = append(row, at)
				trow = []any{u.id, u.id, "loadbench", bare.HashToken(u.secret), at}
			}
			if err := users.add(row...); err != nil {
				return err
			}
			if err := tokens.add(trow...); err != nil {
				return err
			}
		}
	}
	return flushAll(ags, users, tokens)
}

// fixSequences moves PostgreSQL's id sequences past the ids written
// explicitly; SQLite keeps its own.
func fixSequences(tx *gorm.DB, tables ...string) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	for _, t := range tables {
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT MAX(id) FROM %s))", t, t)
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("sequence of %s: %w", t, err)
		}
	}
	return nil
}
