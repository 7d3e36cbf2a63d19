package projects_test

import (
	"context"
	"slices"
	"testing"

	"gorm.io/gorm"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/errs"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/projects"
	"datashare/workflow"
)

func TestCanCreateIsTheRuleCreateApplies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		actor workflow.Actor
		ok    bool
	}{
		{"a requester", workflow.Actor{Agency: "MSF", Roles: []workflow.Role{workflow.Requester}}, true},
		{"a manager", workflow.Actor{Agency: "MSF", Roles: []workflow.Role{workflow.Manager}}, true},
		{"an admin", workflow.Actor{Agency: "GOVTECH", Roles: []workflow.Role{workflow.Admin}}, true},
		{"an approver", workflow.Actor{Agency: "MSF", Roles: []workflow.Role{workflow.Approver}}, false},
		{"nobody", workflow.Actor{Agency: "MSF"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := projects.CanCreate(tc.actor)
			if (err == nil) != tc.ok || (err != nil && !errs.Is(err, errs.Forbidden)) {
				t.Errorf("CanCreate: got %v, want ok %v (or forbidden)", err, tc.ok)
			}
		})
	}
}

// TestJoinableIsWhatCheckJoinAccepts lists the projects each agency may
// join and checks every project against CheckJoin: the picker offers
// exactly the projects a request may join.
func TestJoinableIsWhatCheckJoinAccepts(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		a := apptest.Wire(t, db, apptest.Options{})
		users := a.MustSeed(t, []string{"MSF", "MOH", "HDB", "LTA"}, []apptest.Person{
			{Email: "req@msf.gov.sg", Agency: "MSF", Role: "requester"},
			{Email: "req@moh.gov.sg", Agency: "MOH", Role: "requester"},
			{Email: "req@hdb.gov.sg", Agency: "HDB", Role: "requester"},
			{Email: "req@lta.gov.sg", Agency: "LTA", Role: "requester"},
		})
		actor := func(email string) workflow.Actor { return accounts.ActorOf(users[email]) }
		ctx := context.Background()
		mustCreate := func(who, code string, partners ...string) {
			t.Helper()
			if _, err := a.Projects.Create(ctx, actor(who), projects.NewProject{Code: code, Name: code, Partners: partners}); err != nil {
				t.Fatal(err)
			}
		}
		mustCreate("req@msf.gov.sg", "ELDERCARE", "MOH")
		mustCreate("req@msf.gov.sg", "CLOSED-ONE", "MOH", "HDB")
		mustCreate("req@hdb.gov.sg", "HOUSING", "MSF")
		mustCreate("req@lta.gov.sg", "ROADS")
		closed := projects.Closed
		if _, err := a.Projects.Update(ctx, actor("req@msf.gov.sg"), "CLOSED-ONE", projects.Patch{State: &closed}); err != nil {
			t.Fatal(err)
		}
		all := []string{"CLOSED-ONE", "ELDERCARE", "HOUSING", "ROADS"}
		for _, tc := range []struct {
			who  string
			want []string
		}{
			{"req@msf.gov.sg", []string{"ELDERCARE", "HOUSING"}},
			{"req@moh.gov.sg", []string{"ELDERCARE"}},
			{"req@hdb.gov.sg", []string{"HOUSING"}},
			{"req@lta.gov.sg", []string{"ROADS"}},
		} {
			ps, err := a.Projects.Joinable(ctx, actor(tc.who))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Code)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Joinable for %s: got %v, want %v", tc.who, got, tc.want)
			}
			for _, code := range all {
				err := db.Conn(ctx).Transaction(func(tx *gorm.DB) error {
					return a.Projects.CheckJoin(tx, code, actor(tc.who).Agency)
				})
				if accepted := err == nil; accepted != slices.Contains(tc.want, code) {
					t.Errorf("%s joining %s: CheckJoin says %v, Joinable lists it: %v", tc.who, code, err, slices.Contains(tc.want, code))
				}
			}
		}
		if ps, err := a.Projects.Joinable(ctx, apptest.Admin); err != nil || len(ps) != 0 {
			t.Errorf("Joinable for an admin of no agency: got %v (%v), want none", ps, err)
		}
	})
}
