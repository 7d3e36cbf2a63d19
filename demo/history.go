package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"datashare/calendar"
	"datashare/imports"
	"datashare/workflow"
)

// history imports requests handled over the past months, so that the
// compliance report has something to show: most finished within 7 working
// days, some late, a few rejected or withdrawn.
func (s *seeder) history(ctx context.Context, im *imports.Importer, cal *calendar.Calendar, now time.Time) error {
	rng := rand.New(rand.NewPCG(7, 2026))
	codes := []string{"HDB", "IRAS", "LTA", "MOE", "MOH", "MSF"}
	var batch imports.Batch
	start := now.AddDate(0, -5, 0)
	for i := 0; i < 80; i++ {
		from := codes[rng.IntN(len(codes))]
		to := codes[rng.IntN(len(codes))]
		for to == from {
			to = codes[rng.IntN(len(codes))]
		}
		// Owners differ in speed, so the report's breakdown says something.
		speed := map[string]float64{"HDB": 3, "IRAS": 6, "LTA": 4, "MOE": 5, "MOH": 7, "MSF": 4}[to]
		submit := cal.Due(start.Add(time.Duration(rng.IntN(140*24))*time.Hour), rng.Float64())
		days := speed*0.4 + rng.ExpFloat64()*speed*0.5
		req, appr := email(from, "requester"), email(to, "approver")
		ev := []imports.Event{{Action: string(workflow.Submit), At: submit, ActorEmail: req}}
		t := submit
		next := func(d float64) time.Time {
			t = cal.Due(t, d).Add(time.Duration(1+rng.IntN(600)) * time.Second)
			return t
		}
		switch r := rng.Float64(); {
		case r < 0.08:
			ev = append(ev, imports.Event{Action: string(workflow.Reject), At: next(days * 0.6), ActorEmail: appr, Comment: "The purpose does not justify record-level data."})
		case r < 0.13:
			ev = append(ev, imports.Event{Action: string(workflow.Withdraw), At: next(days * 0.3), ActorEmail: req, Comment: "No longer needed."})
		case r < 0.28:
			ev = append(ev,
				imports.Event{Action: string(workflow.RequestClarification), At: next(days * 0.3), ActorEmail: appr, Comment: "Please narrow the fields requested."},
				imports.Event{Action: string(workflow.Respond), At: next(0.5 + rng.Float64()*2), ActorEmail: req, Comment: "Narrowed to aggregates by town."},
				imports.Event{Action: string(workflow.Approve), At: next(days * 0.4), ActorEmail: appr},
				imports.Event{Action: string(workflow.Fulfil), At: next(days * 0.3), ActorEmail: appr, Comment: "Shared through the secure exchange."})
		default:
			ev = append(ev,
				imports.Event{Action: string(workflow.Approve), At: next(days * 0.6), ActorEmail: appr},
				imports.Event{Action: string(workflow.Fulfil), At: next(days * 0.4), ActorEmail: appr, Comment: "Shared through the secure exchange."})
		}
		for len(ev) > 0 && ev[len(ev)-1].At.After(now) {
			ev = ev[:len(ev)-1] // still in progress
		}
		if len(ev) == 0 {
			continue
		}
		batch.Requests = append(batch.Requests, imports.Record{
			ExternalRef: fmt.Sprintf("DEMO-%03d", i+1), Title: fmt.Sprintf("%s data for %s project %d", to, from, i+1),
			Purpose: "Cross-agency analysis for a joint project.", DataDescription: "Aggregated records by planning area.",
			Classification: "official-closed", RequestingAgency: from, OwnerAgency: to, RequesterEmail: req, Events: ev,
		})
	}
	admin := workflow.Actor{Roles: []workflow.Role{workflow.Admin}}
	res, err := im.Import(ctx, admin, batch)
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("demo history: %s: %s", res.Errors[0].ExternalRef, res.Errors[0].Message)
	}
	return nil
}
