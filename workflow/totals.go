package workflow

import (
	"context"
	"fmt"
)

// Totals are counts over the whole database, whoever may see the requests.
type Totals struct {
	ByState  map[State]int64  // requests in each state; every state is present
	ByAction map[string]int64 // history rows of each action, system flags included
}

// Totals counts every request by state and every history row by action.
// It reads the state index of requests and every history row, so a caller
// that asks often should keep the answer for a while.
func (s *Service) Totals(ctx context.Context) (Totals, error) {
	t := Totals{ByState: map[State]int64{}, ByAction: map[string]int64{}}
	for _, st := range States {
		t.ByState[st] = 0
	}
	type row struct {
		Name string
		N    int64
	}
	var states, actions []row
	db := s.db.Conn(ctx)
	if err := db.Raw("SELECT state AS name, COUNT(*) AS n FROM requests GROUP BY state").Scan(&states).Error; err != nil {
		return t, fmt.Errorf("count requests by state: %w", err)
	}
	if err := db.Raw("SELECT action AS name, COUNT(*) AS n FROM transitions GROUP BY action").Scan(&actions).Error; err != nil {
		return t, fmt.Errorf("count history by action: %w", err)
	}
	for _, r := range states {
		t.ByState[State(r.Name)] = r.N
	}
	for _, r := range actions {
		t.ByAction[r.Name] = r.N
	}
	return t, nil
}
