package workflow

import (
	"context"
	"fmt"
)

// CountByState counts every request by state, whoever may see them; every
// state is present. It reads the state index of requests.
func (s *Service) CountByState(ctx context.Context) (map[State]int64, error) {
	out := map[State]int64{}
	for _, st := range States {
		out[st] = 0
	}
	var rows []struct {
		Name string
		N    int64
	}
	if err := s.db.Conn(ctx).Raw("SELECT state AS name, COUNT(*) AS n FROM requests GROUP BY state").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count requests by state: %w", err)
	}
	for _, r := range rows {
		out[State(r.Name)] = r.N
	}
	return out, nil
}

// CountHistory counts every history row by action, the system's flags
// included. It reads every history row (about a second for 500,000 on
// SQLite), so a caller that asks often should keep the answer for minutes.
func (s *Service) CountHistory(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Name string
		N    int64
	}
	if err := s.db.Conn(ctx).Raw("SELECT action AS name, COUNT(*) AS n FROM transitions GROUP BY action").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count history by action: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Name] = r.N
	}
	return out, nil
}
