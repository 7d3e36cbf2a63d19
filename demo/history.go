package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"datashare/calendar"
	"datashare/imports"
	"datashare/sla"
	"datashare/workflow"
)

// history imports requests handled before now, so that the
// compliance report has something to show: most finished within 7 working
// days, some late, a few rejected or withdrawn, over the past five months
// or so (about 105 working days).
func (s *seeder) history(ctx context.Context, im *imports.Importer, cal *calendar.Calendar, now time.Time) error {
	rng := rand.New(rand.NewPCG(7, 2026))
	codes := []string{"HDB", "IRAS", "LTA", "MOE", "MOH", "MSF"}
	var batch imports.Batch
	for i := 0; i < 80; i++ {
		from := codes[rng.IntN(len(codes))]
		to := codes[rng.IntN(len(codes))]
		for to == from {
			to = codes[rng.IntN(len(codes))]
		}
		// Owners differ in speed, so the report's breakdown says something.
		speed := map[string]float64{"HDB": 3, "IRAS": 6, "LTA": 4, "MOE": 5, "MOH": 7, "MSF": 4}[to]
		// Every time is a number of working days from now, so that the
		// demo's figures (how many met, how long they took) are the same
		// whichever day it is first started; only their months move.
		submit := workingDaysAgo(cal, now, 5+rng.Float64()*100)
		days := speed*0.4 + rng.ExpFloat64()*speed*0.5
		req, appr := email(from, "requester"), email(to, "approver")
		ev := []imports.Event{{Action: string(workflow.Submit), At: submit, ActorEmail: req}}
		t := submit
		next := func(d float64) time.Time {
			t = cal.Due(t, d).Add(time.Second)
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

// workingDaysAgo is the latest instant from which n working days have
// elapsed by now, so that a request submitted then is exactly n working
// days old: the calendar counts only forwards, so this searches.
func workingDaysAgo(cal *calendar.Calendar, now time.Time, n float64) time.Time {
	lo := now.AddDate(0, 0, -int(n*2)-14)
	for cal.WorkingDays(lo, now) < n {
		lo = lo.AddDate(0, 0, -int(n)-7)
	}
	hi := now
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if cal.WorkingDays(mid, now) >= n {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo.Truncate(time.Second)
}

// inProgress imports requests still open, taken over from an earlier
// system as an import would be: one at risk and one breached, so that the
// SLA check, the sla_status filter and the breach notifications have
// something to show, and one paused for clarification after some working
// time had run. None is LTA's, whose compliance rate the browser test
// watches change.
func (s *seeder) inProgress(ctx context.Context, im *imports.Importer, cal *calendar.Calendar, clock sla.Settings, now time.Time) error {
	at := func(n float64) time.Time { return workingDaysAgo(cal, now, n) }
	// With the default 5 and 7 days: at risk 6 days in, breached 9 days in
	// (approved a working day later and not fulfilled since).
	atRisk, breached := (clock.Warn+clock.Target)/2, clock.Target+2
	batch := imports.Batch{Requests: []imports.Record{
		{ExternalRef: "LEGACY-2026-0412", Title: "Resale flat transactions near primary schools",
			Purpose: "Check whether the 1 km priority rule moves resale prices near popular schools.", DataDescription: "Resale transactions within 2 km of each primary school, 2023–2025, by quarter.",
			Classification: "official-closed", RequestingAgency: "MOE", OwnerAgency: "HDB", RequesterEmail: email("MOE", "requester"),
			Events: []imports.Event{{Action: string(workflow.Submit), At: at(atRisk), ActorEmail: email("MOE", "requester")}}},
		{ExternalRef: "LEGACY-2026-0398", Title: "Polyclinic attendance of lower-income households",
			Purpose: "Target the CHAS outreach at households that do not use subsidised care.", DataDescription: "Polyclinic visits per household income band and town, 2025.",
			Classification: "official-closed", RequestingAgency: "IRAS", OwnerAgency: "MOH", RequesterEmail: email("IRAS", "requester"),
			Events: []imports.Event{
				{Action: string(workflow.Submit), At: at(breached), ActorEmail: email("IRAS", "requester")},
				{Action: string(workflow.Approve), At: at(breached - 1), ActorEmail: email("MOH", "approver")},
			}},
		{ExternalRef: "LEGACY-2026-0420", Title: "Rental flat tenants referred to family service centres",
			Purpose: "Offer social support to tenants before their lease renewal.", DataDescription: "Count of referrals per rental block, 2025.",
			Classification: "official-closed", RequestingAgency: "HDB", OwnerAgency: "MSF", RequesterEmail: email("HDB", "requester"),
			Events: []imports.Event{
				{Action: string(workflow.Submit), At: at(4), ActorEmail: email("HDB", "requester")},
				{Action: string(workflow.RequestClarification), At: at(2), ActorEmail: email("MSF", "approver"), Comment: "Counts per block could identify families in small blocks; would counts per town do?"},
			}},
	}}
	admin := workflow.Actor{Roles: []workflow.Role{workflow.Admin}}
	res, err := im.Import(ctx, admin, batch)
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("demo open requests: %s: %s", res.Errors[0].ExternalRef, res.Errors[0].Message)
	}
	return nil
}
