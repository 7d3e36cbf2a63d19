package projects

import (
	"cmp"
	"slices"
	"time"

	"datashare/models"
	"datashare/workflow"
)

// OwnerRequests are the requests of a project asked of one owner agency,
// and the span during which that agency had the project's requests: from
// the first submission to the last close.
type OwnerRequests struct {
	Agency   string
	Requests []models.Request // submitted first, by submission, then drafts by id
	// From is the first submission, nil while every request is a draft.
	From *time.Time
	// To is the last close once every submitted request is closed; nil
	// while one is open (or none was submitted).
	To *time.Time
	// Open counts the submitted requests still open.
	Open int
}

// ByOwner groups rs by owner agency, agencies in order of code, for the
// project's timeline.
func ByOwner(rs []models.Request) []OwnerRequests {
	by := map[string]*OwnerRequests{}
	var agencies []string
	for _, r := range rs {
		g := by[r.OwnerAgency]
		if g == nil {
			g = &OwnerRequests{Agency: r.OwnerAgency}
			by[r.OwnerAgency] = g
			agencies = append(agencies, r.OwnerAgency)
		}
		g.Requests = append(g.Requests, r)
	}
	slices.Sort(agencies)
	out := make([]OwnerRequests, 0, len(agencies))
	for _, a := range agencies {
		g := by[a]
		slices.SortStableFunc(g.Requests, bySubmission)
		var last *time.Time
		for i := range g.Requests {
			r := &g.Requests[i]
			if r.SubmittedAt == nil {
				continue
			}
			if g.From == nil {
				g.From = r.SubmittedAt
			}
			switch {
			case !workflow.State(r.State).Terminal():
				g.Open++
			case r.ClosedAt != nil && (last == nil || r.ClosedAt.After(*last)):
				last = r.ClosedAt
			}
		}
		if g.From != nil && g.Open == 0 {
			g.To = last
		}
		out = append(out, *g)
	}
	return out
}

// bySubmission orders submitted requests by submission (then id) before
// drafts (by id).
func bySubmission(a, b models.Request) int {
	switch {
	case a.SubmittedAt != nil && b.SubmittedAt != nil:
		if c := a.SubmittedAt.Compare(*b.SubmittedAt); c != 0 {
			return c
		}
	case a.SubmittedAt != nil:
		return -1
	case b.SubmittedAt != nil:
		return 1
	}
	return cmp.Compare(a.ID, b.ID)
}
