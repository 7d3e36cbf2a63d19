package sla_test

import (
	"context"
	"testing"
	"time"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

// Moves counts the open requests whose due instant a calendar would move,
// and changes none of them.
func TestMovesCountsTheDueInstantsACalendarWouldMove(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		now := apptest.Time("2025-01-06T10:00:00+08:00")
		clock := func() time.Time { return now }
		a := apptest.Wire(t, db, apptest.Options{Now: clock})
		ctx := context.Background()
		users := a.MustSeed(t, []string{"MSF", "MOH"}, []apptest.Person{
			{Email: "req@msf.gov.sg", Agency: "MSF", Role: "requester"},
			{Email: "approver@moh.gov.sg", Agency: "MOH", Role: "approver"},
		})
		req := accounts.ActorOf(users["req@msf.gov.sg"])
		submit := func(title string) *models.Request {
			r, err := a.Workflow.Create(ctx, req, workflow.NewRequest{Title: title, Purpose: "Plan", DataDescription: "Counts",
				Classification: "official-open", OwnerAgency: "MOH"})
			if err != nil {
				t.Fatal(err)
			}
			if r, err = a.Workflow.Apply(ctx, req, r.ID, workflow.Submit, "", 0); err != nil {
				t.Fatal(err)
			}
			return r
		}
		// Two running requests due Wednesday 15 January 10:00, one paused
		// for clarification, one draft.
		r1, r2 := submit("one"), submit("two")
		paused := submit("paused")
		approver := accounts.ActorOf(users["approver@moh.gov.sg"])
		if _, err := a.Workflow.Apply(ctx, approver, paused.ID, workflow.RequestClarification, "Which towns?", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Workflow.Create(ctx, req, workflow.NewRequest{Title: "draft", Purpose: "Plan", DataDescription: "Counts",
			Classification: "official-open", OwnerAgency: "MOH"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			date string
			want int
		}{
			{"2025-01-08", 2}, // before the due day: both running ones move
			{"2025-01-15", 2}, // the due day itself
			{"2025-01-16", 0}, // after it
			{"2025-01-11", 0}, // a Saturday, off already
		} {
			cal, err := a.Holidays.PreviewAdd(apptest.Admin, c.date, "Closure", "closure")
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Reprojector.Moves(ctx, now, cal)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("a closure on %s: Moves = %d, want %d", c.date, got, c.want)
			}
		}
		// Once the due time has passed nothing moves: its outcome is fixed.
		cal, _ := a.Holidays.PreviewAdd(apptest.Admin, "2025-01-08", "Closure", "closure")
		if got, _ := a.Reprojector.Moves(ctx, apptest.Time("2025-01-16T10:00:00+08:00"), cal); got != 0 {
			t.Errorf("after the due time: Moves = %d, want 0", got)
		}
		for _, r := range []*models.Request{r1, r2} {
			got, err := a.Workflow.Get(ctx, apptest.Admin, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.SLA.DueAt.Equal(*r.SLA.DueAt) {
				t.Errorf("request %d: due %v after Moves, want %v unchanged", r.ID, got.SLA.DueAt, r.SLA.DueAt)
			}
		}
	})
}
