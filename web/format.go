package web

import (
	"fmt"
	"html/template"
	"time"

	"datashare/projects"
	"datashare/sla"
	"datashare/workflow"
)

// funcs are the helpers every template may call.
func (a *app) funcs() template.FuncMap {
	return template.FuncMap{
		"when":          a.when,
		"days":          days,
		"stateLabel":    stateLabel,
		"statusLabel":   statusLabel,
		"actionLabel":   actionLabel,
		"signInLabel":   signInLabel,
		"eventLabel":    eventLabel,
		"deliveryLabel": deliveryLabel,
		"channelLabel":  channelLabel,
		"recipient":     recipient,
		"dayLabel":      dayLabel,
		"kindLabel":     kindLabel,
		"sourceLabel":   sourceLabel,
		"asset":         func(name string) string { return a.assets.URL(name) },
		"pct":           pct,
		"agencies":      joinedList,
		"target":        func() string { return fmt.Sprintf("%g", a.SLA.Settings().Target) },
	}
}

// zone is the name shown after every time: SGT for Singapore, whose tz
// database abbreviation is only "+08".
func (a *app) zone(t time.Time) string {
	loc := a.Holidays.Location()
	if loc.String() == "Asia/Singapore" {
		return "SGT"
	}
	return t.In(loc).Format("MST")
}

// when shows an instant in the calendar's zone, as "Wed 10 Dec 2025, 10:00
// SGT"; a nil or zero time shows as a dash.
func (a *app) when(t any) string {
	var at time.Time
	switch v := t.(type) {
	case time.Time:
		at = v
	case *time.Time:
		if v == nil {
			return "—"
		}
		at = *v
	}
	if at.IsZero() {
		return "—"
	}
	loc := a.Holidays.Location()
	return at.In(loc).Format("Mon 2 Jan 2006, 15:04") + " " + a.zone(at)
}

// days shows working days to one decimal.
func days(v float64) string { return fmt.Sprintf("%.1f", v) }

// pct shows a rate as a percentage to one decimal, or a dash when there is
// no rate (nothing finished).
func pct(r *float64) string {
	if r == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

var stateLabels = map[workflow.State]string{
	workflow.Draft:                  "Draft",
	workflow.Submitted:              "Submitted",
	workflow.ClarificationRequested: "Clarification requested",
	workflow.Approved:               "Approved",
	workflow.Fulfilled:              "Shared",
	workflow.Rejected:               "Rejected",
	workflow.Withdrawn:              "Withdrawn",
}

func stateLabel(s string) string { return label(stateLabels, s) }

// label is the name m gives the value s, or s itself when m has none.
func label[K ~string](m map[K]string, s string) string {
	if l, ok := m[K(s)]; ok {
		return l
	}
	return s
}

var statusLabels = map[string]string{
	sla.NotStarted: "Not started",
	sla.OnTrack:    "On track",
	sla.AtRisk:     "At risk",
	sla.Breached:   "Breached",
	sla.Met:        "Met",
	sla.Missed:     "Missed",
	sla.Excluded:   "Excluded",
	// A project's clock only: some data were refused or withdrawn after
	// the due time.
	projects.Partial: "Partial",
}

func statusLabel(s string) string { return label(statusLabels, s) }

// actionLabels are the names of the buttons, as the README's page table
// gives them and the browser tests look for them.
var actionLabels = map[workflow.Action]string{
	workflow.Submit:               "Submit",
	workflow.Approve:              "Approve",
	workflow.Reject:               "Reject",
	workflow.RequestClarification: "Ask for clarification",
	workflow.Respond:              "Respond",
	workflow.Fulfil:               "Mark as shared",
	workflow.Withdraw:             "Withdraw",
	workflow.Create:               "Created",
	workflow.Reassign:             "Handed over",
}

func actionLabel(a string) string { return label(actionLabels, a) }
