package projects_test

import (
	"fmt"
	"testing"
	"time"

	"datashare/models"
	"datashare/projects"
)

func TestByOwnerGroupsTheTimeline(t *testing.T) {
	tm := func(s string) *time.Time { v := at(t, s); return &v }
	r := func(id int64, owner, state string, submitted, closed *time.Time) models.Request {
		return models.Request{ID: id, OwnerAgency: owner, State: state, SubmittedAt: submitted, ClosedAt: closed}
	}
	type group struct {
		agency   string
		ids      []int64
		from, to *time.Time
		open     int
	}
	for _, tc := range []struct {
		name string
		in   []models.Request
		want []group
	}{
		{"nothing", nil, []group{}},
		{"a draft only: no span", []models.Request{r(1, "HDB", "draft", nil, nil)},
			[]group{{"HDB", []int64{1}, nil, nil, 0}}},
		{"agencies by code, requests by submission then drafts",
			[]models.Request{
				r(1, "IRAS", "draft", nil, nil),
				r(2, "HDB", "fulfilled", tm("2025-01-07 10:00"), tm("2025-01-09 10:00")),
				r(3, "IRAS", "submitted", tm("2025-01-08 10:00"), nil),
				r(4, "HDB", "rejected", tm("2025-01-06 10:00"), tm("2025-01-13 10:00")),
				r(5, "IRAS", "fulfilled", tm("2025-01-06 09:00"), tm("2025-01-07 09:00")),
			},
			[]group{
				{"HDB", []int64{4, 2}, tm("2025-01-06 10:00"), tm("2025-01-13 10:00"), 0},
				{"IRAS", []int64{5, 3, 1}, tm("2025-01-06 09:00"), nil, 1},
			}},
		{"paused for clarification is open",
			[]models.Request{r(7, "MOH", "clarification_requested", tm("2025-01-06 10:00"), nil)},
			[]group{{"MOH", []int64{7}, tm("2025-01-06 10:00"), nil, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := projects.ByOwner(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("groups: got %d, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				var ids []int64
				for _, r := range g.Requests {
					ids = append(ids, r.ID)
				}
				if g.Agency != w.agency || fmt.Sprint(ids) != fmt.Sprint(w.ids) || !sameTime(g.From, w.from) || !sameTime(g.To, w.to) || g.Open != w.open {
					t.Errorf("group %d: got %s %v from %v to %v open %d, want %s %v from %v to %v open %d",
						i, g.Agency, ids, g.From, g.To, g.Open, w.agency, w.ids, w.from, w.to, w.open)
				}
			}
		})
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
