package workflow_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/errs"
	"datashare/models"
	"datashare/models/modelstest"
	. "datashare/workflow"
)

// listEnv is the workflow service over a fresh database with requesters of
// MSF and HDB and approvers of MOH.
type listEnv struct {
	s      *Service
	people map[string]Actor
}

func newListEnv(t *testing.T, db *models.DB) listEnv {
	t.Helper()
	a := apptest.Wire(t, db, apptest.Options{})
	users := a.MustSeed(t, []string{"MSF", "MOH", "HDB"}, []apptest.Person{
		{Email: "req@msf.gov.sg", Agency: "MSF", Role: "requester"},
		{Email: "req@hdb.gov.sg", Agency: "HDB", Role: "requester"},
		{Email: "approver@moh.gov.sg", Agency: "MOH", Role: "approver"},
		{Email: "approver2@moh.gov.sg", Agency: "MOH", Role: "approver"},
	})
	e := listEnv{s: a.Workflow, people: map[string]Actor{}}
	for email, u := range users {
		e.people[email] = accounts.ActorOf(u)
	}
	return e
}

func (e listEnv) mustCreate(t *testing.T, who, owner, title, purpose string) int64 {
	t.Helper()
	r, err := e.s.Create(context.Background(), e.people[who], NewRequest{
		Title: title, Purpose: purpose, DataDescription: "rows", Classification: "official-open", OwnerAgency: owner,
	})
	if err != nil {
		t.Fatalf("create %q: %v", title, err)
	}
	return r.ID
}

func (e listEnv) mustApply(t *testing.T, who string, id int64, act Action, comment string) {
	t.Helper()
	if _, err := e.s.Apply(context.Background(), e.people[who], id, act, comment, 0); err != nil {
		t.Fatalf("%s request %d: %v", act, id, err)
	}
}

func (e listEnv) titles(t *testing.T, who string, f Filter) []string {
	t.Helper()
	rs, _, err := e.s.List(context.Background(), e.people[who], f)
	if err != nil {
		t.Fatalf("list %+v: %v", f, err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.Title)
	}
	slices.Sort(out)
	return out
}

func TestListSearchesTitleAndPurposeLiterally(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newListEnv(t, db)
		for _, r := range [][2]string{
			{"Household CENSUS 2025", "planning"},
			{"Clinic visits", "for the census of carers"},
			{"50% sample of births", "research"},
			{"500 sample of deaths", "research"},
			{"a_b cohort", "study"},
			{"axb cohort", "study"},
			{"Wow! data", "study"},
			{"CAFé licences", "inspections"},
		} {
			e.mustCreate(t, "req@msf.gov.sg", "MOH", r[0], r[1])
		}
		e.mustCreate(t, "req@hdb.gov.sg", "MOH", "HDB census", "not visible to MSF")
		tests := []struct {
			search string
			want   []string
		}{
			{"census", []string{"Clinic visits", "Household CENSUS 2025"}},
			{"  Census  ", []string{"Clinic visits", "Household CENSUS 2025"}},
			{"50%", []string{"50% sample of births"}},
			{"%", []string{"50% sample of births"}},
			{"a_b", []string{"a_b cohort"}},
			{"wow!", []string{"Wow! data"}},
			// Only ASCII letters fold, on both databases alike.
			{"café", []string{"CAFé licences"}},
			{"CAFÉ", nil},
			{"nothing like it", nil},
			{"", []string{"50% sample of births", "500 sample of deaths", "CAFé licences", "Clinic visits", "Household CENSUS 2025", "Wow! data", "a_b cohort", "axb cohort"}},
		}
		for _, tc := range tests {
			got := e.titles(t, "req@msf.gov.sg", Filter{Search: tc.search})
			if !slices.Equal(got, tc.want) {
				t.Errorf("search %q: got %q, want %q", tc.search, got, tc.want)
			}
		}
		if got := e.titles(t, "req@msf.gov.sg", Filter{Search: strings.Repeat("é", MaxSearch)}); got != nil {
			t.Errorf("search of %d characters: got %q, want nothing", MaxSearch, got)
		}
		_, _, err := e.s.List(context.Background(), e.people["req@msf.gov.sg"], Filter{Search: strings.Repeat("x", MaxSearch+1)})
		if f := errs.Fields(err); len(f) != 1 || f[0].Field != "search" {
			t.Errorf("search of %d characters: got %v, want invalid search", MaxSearch+1, err)
		}
	})
}

func TestListInStatesOfOwnAgency(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newListEnv(t, db)
		req := "req@msf.gov.sg"
		e.mustCreate(t, req, "MOH", "draft", "p")
		sub := e.mustCreate(t, req, "MOH", "submitted", "p")
		e.mustApply(t, req, sub, Submit, "")
		appr := e.mustCreate(t, req, "MOH", "approved", "p")
		e.mustApply(t, req, appr, Submit, "")
		e.mustApply(t, "approver@moh.gov.sg", appr, Approve, "")
		clar := e.mustCreate(t, req, "MOH", "clarification", "p")
		e.mustApply(t, req, clar, Submit, "")
		e.mustApply(t, "approver@moh.gov.sg", clar, RequestClarification, "which years?")
		other := e.mustCreate(t, "req@hdb.gov.sg", "MSF", "to MSF", "p")
		e.mustApply(t, "req@hdb.gov.sg", other, Submit, "")

		inbox := Filter{OwnerAgency: "MOH", States: []string{"submitted", "approved"}, SortByDue: true}
		if got, want := e.titles(t, "approver@moh.gov.sg", inbox), []string{"approved", "submitted"}; !slices.Equal(got, want) {
			t.Errorf("MOH inbox: got %q, want %q", got, want)
		}
		open := Filter{RequestingAgency: "MSF", States: []string{"draft", "submitted", "clarification_requested", "approved"}}
		if got, want := e.titles(t, req, open), []string{"approved", "clarification", "draft", "submitted"}; !slices.Equal(got, want) {
			t.Errorf("MSF's open requests: got %q, want %q", got, want)
		}
		// MSF owns "to MSF": filtering on MSF as owner reads only that side.
		if got, want := e.titles(t, req, Filter{OwnerAgency: "MSF"}), []string{"to MSF"}; !slices.Equal(got, want) {
			t.Errorf("MSF as owner: got %q, want %q", got, want)
		}
		_, _, err := e.s.List(context.Background(), e.people[req], Filter{States: []string{"submitted", "lost"}})
		if f := errs.Fields(err); len(f) != 1 || f[0].Field != "states" {
			t.Errorf("unknown state: got %v, want invalid states", err)
		}
	})
}

func TestCreateReportsEveryInvalidField(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		e := newListEnv(t, db)
		_, err := e.s.Create(context.Background(), e.people["req@msf.gov.sg"], NewRequest{
			Title: " ", DataDescription: "rows", Classification: "secret", OwnerAgency: "MSF",
		})
		var got []string
		for _, f := range errs.Fields(err) {
			got = append(got, f.Field)
		}
		if want := []string{"title", "purpose", "classification", "owner_agency"}; !slices.Equal(got, want) {
			t.Errorf("invalid fields: got %q, want %q (error %v)", got, want, err)
		}
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("code: got %s, want invalid", errs.CodeOf(err))
		}
	})
}
