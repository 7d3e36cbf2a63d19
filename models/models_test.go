package models

import (
	"slices"
	"testing"
	"time"
)

func TestChangedColumnsNamesOnlyWhatDiffers(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	sameT0 := t0.In(time.FixedZone("SGT", 8*3600))
	t1 := t0.Add(time.Hour)
	seven, alsoSeven := 7.0, 7.0
	base := SLAClock{Target: &seven, Elapsed: 1.5, DueAt: &t0, StateSince: &t0}
	for _, tc := range []struct {
		name  string
		after SLAClock
		want  []string
	}{
		{"nothing", base, nil},
		{"equal values behind other pointers and zones", SLAClock{Target: &alsoSeven, Elapsed: 1.5, DueAt: &sameT0, StateSince: &t0}, nil},
		{"a time moves", SLAClock{Target: &seven, Elapsed: 1.5, DueAt: &t1, StateSince: &t0}, []string{"sla_due_at"}},
		{"a time is cleared and a number moves", SLAClock{Target: &seven, Elapsed: 2, StateSince: &t0}, []string{"sla_due_at", "sla_elapsed"}},
		{"a time is set", SLAClock{Target: &seven, Elapsed: 1.5, DueAt: &t0, StateSince: &t0, RunningSince: &t1}, []string{"sla_running_since"}},
		{"the target is cleared", SLAClock{Elapsed: 1.5, DueAt: &t0, StateSince: &t0}, []string{"sla_target"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.after.ChangedColumns(base)
			var cols []string
			for c := range got {
				cols = append(cols, c)
			}
			slices.Sort(cols)
			if !slices.Equal(cols, tc.want) {
				t.Errorf("got %v, want %v", cols, tc.want)
			}
		})
	}
}
