package notifications

import (
	"context"
	"fmt"
)

// Backlog is the state of the outbox across every replica.
type Backlog struct {
	EventsWaiting int64           // events not yet fanned out to messages
	Deliveries    []DeliveryCount // by state and channel, only the pairs present
	Dead          int64           // deliveries that gave up, of every channel; an admin may retry them
}

// DeliveryCount is the number of deliveries of one channel in one state.
type DeliveryCount struct {
	State, Channel string
	N              int64
}

// Backlog counts the events waiting for fan-out and the deliveries by
// state and channel. The waiting events are read from their partial index;
// the deliveries from every outbox row, so a caller that asks often should
// keep the answer for a while.
func (s *Service) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	db := s.db.Conn(ctx)
	if err := db.Raw("SELECT COUNT(*) FROM events WHERE fanned_out_at IS NULL").Scan(&b.EventsWaiting).Error; err != nil {
		return b, fmt.Errorf("count events waiting for fan-out: %w", err)
	}
	if err := db.Raw("SELECT state, channel, COUNT(*) AS n FROM outbox GROUP BY state, channel ORDER BY state, channel").Scan(&b.Deliveries).Error; err != nil {
		return b, fmt.Errorf("count deliveries: %w", err)
	}
	for _, d := range b.Deliveries {
		if d.State == StateDead {
			b.Dead += d.N
		}
	}
	return b, nil
}
