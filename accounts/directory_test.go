package accounts_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/errs"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

var directoryAdmin = workflow.Actor{ID: -1, Roles: []workflow.Role{workflow.Admin}}

func TestRenameAgency(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := accounts.NewService(db, time.Now)
		ctx := context.Background()
		if err := s.EnsureAgency(ctx, "MOH", "MOH agency"); err != nil {
			t.Fatal(err)
		}
		a, err := s.RenameAgency(ctx, directoryAdmin, "MOH", "  Ministry of Health ")
		if err != nil || a.Code != "MOH" || a.Name != "Ministry of Health" {
			t.Fatalf("rename: got %+v, %v; want MOH named Ministry of Health", a, err)
		}
		requester := workflow.Actor{ID: 1, Roles: []workflow.Role{workflow.Requester}}
		for _, c := range []struct {
			name      string
			caller    workflow.Actor
			code, to  string
			want      errs.Code
			wantField string
		}{
			{"as a requester", requester, "MOH", "X", errs.Forbidden, ""},
			{"empty", directoryAdmin, "MOH", " ", errs.Invalid, "name"},
			{"too long", directoryAdmin, "MOH", string(make([]byte, 201)), errs.Invalid, "name"},
			{"unknown agency", directoryAdmin, "NOPE", "X", errs.NotFound, ""},
		} {
			_, err := s.RenameAgency(ctx, c.caller, c.code, c.to)
			if !errs.Is(err, c.want) {
				t.Errorf("%s: got %v, want %s", c.name, err, c.want)
			}
			if fs := errs.Fields(err); c.wantField != "" && (len(fs) == 0 || fs[0].Field != c.wantField) {
				t.Errorf("%s: got %v, want field %s", c.name, err, c.wantField)
			}
		}
		as, _ := s.ListAgencies(ctx)
		if len(as) != 1 || as[0].Name != "Ministry of Health" {
			t.Errorf("after the refusals: %+v, want MOH still named Ministry of Health", as)
		}
	})
}

func TestFindUsers(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		s := accounts.NewService(db, time.Now)
		ctx := context.Background()
		for _, code := range []string{"MOH", "MSF"} {
			if err := s.EnsureAgency(ctx, code, code); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []accounts.NewUser{
			{Email: "tan@moh.gov.sg", Name: "Tan Ah Kow", Agency: "MOH", Roles: []string{"approver", "manager"}},
			{Email: "lim@moh.gov.sg", Name: "Lim Mei", Agency: "MOH", Roles: []string{"requester"}},
			{Email: "tan@msf.gov.sg", Name: "Tan Wei", Agency: "MSF", Roles: []string{"requester"}},
		} {
			if _, err := s.CreateUser(ctx, directoryAdmin, u); err != nil {
				t.Fatal(err)
			}
		}
		lim, _ := s.UserByEmail(ctx, "lim@moh.gov.sg")
		off := false
		if _, err := s.UpdateUser(ctx, directoryAdmin, lim.ID, accounts.UserPatch{Active: &off}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			f    accounts.UserFilter
			want []string
		}{
			{accounts.UserFilter{}, []string{"tan@moh.gov.sg", "lim@moh.gov.sg", "tan@msf.gov.sg"}},
			{accounts.UserFilter{Search: " TAN "}, []string{"tan@moh.gov.sg", "tan@msf.gov.sg"}},
			{accounts.UserFilter{Search: "msf.gov"}, []string{"tan@msf.gov.sg"}},
			{accounts.UserFilter{Agency: "MOH"}, []string{"tan@moh.gov.sg", "lim@moh.gov.sg"}},
			{accounts.UserFilter{Role: "manager"}, []string{"tan@moh.gov.sg"}},
			{accounts.UserFilter{Role: "requester", Agency: "MOH"}, []string{"lim@moh.gov.sg"}},
			{accounts.UserFilter{Active: "deactivated"}, []string{"lim@moh.gov.sg"}},
			{accounts.UserFilter{Active: "active", Role: "requester"}, []string{"tan@msf.gov.sg"}},
			{accounts.UserFilter{Search: "nobody"}, nil},
		} {
			us, err := s.FindUsers(ctx, directoryAdmin, c.f)
			if err != nil {
				t.Fatalf("%+v: %v", c.f, err)
			}
			var got []string
			for _, u := range us {
				got = append(got, u.Email)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%+v: got %v, want %v", c.f, got, c.want)
			}
		}
		for _, c := range []struct {
			f     accounts.UserFilter
			field string
		}{
			{accounts.UserFilter{Role: "boss"}, "role"},
			{accounts.UserFilter{Active: "maybe"}, "active"},
		} {
			_, err := s.FindUsers(ctx, directoryAdmin, c.f)
			if fs := errs.Fields(err); len(fs) == 0 || fs[0].Field != c.field {
				t.Errorf("%+v: got %v, want invalid %s", c.f, err, c.field)
			}
		}
		if _, err := s.FindUsers(ctx, workflow.Actor{ID: 1, Roles: []workflow.Role{workflow.Manager}}, accounts.UserFilter{}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("as a manager: got %v, want forbidden", err)
		}
	})
}
