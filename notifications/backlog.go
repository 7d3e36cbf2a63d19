package notifications

import (
	"context"
	"fmt"
)

// Backlog is what the outbox still has to do, across every replica.
type Backlog struct {
	EventsWaiting int64           // events not yet fanned out to messages
	Deliveries    []DeliveryCount // pending, sending and dead, by state and channel; only the pairs present
	Dead          int64           // deliveries that gave up, of every channel; an admin may retry them
}

// DeliveryCount is the number of deliveries of one channel in one state.
type DeliveryCount struct {
	State, Channel string
	N              int64
}

// unfinished are the states of deliveries still to send or given up on:
// few, whatever the outbox's age, and read through its index of states.
var unfinished = []string{StatePending, StateSending, StateDead}

// finished are the states of deliveries done with, which pile up.
var finished = []string{StateDelivered, StateSkipped}

// Backlog counts the events waiting for fan-out and the deliveries pending,
// sending or dead, from their indexes: its cost follows the backlog, not
// the outbox's history.
func (s *Service) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	db := s.db.Conn(ctx)
	if err := db.Raw("SELECT COUNT(*) FROM events WHERE fanned_out_at IS NULL").Scan(&b.EventsWaiting).Error; err != nil {
		return b, fmt.Errorf("count events waiting for fan-out: %w", err)
	}
	var err error
	if b.Deliveries, err = s.countDeliveries(ctx, unfinished); err != nil {
		return b, err
	}
	for _, d := range b.Deliveries {
		if d.State == StateDead {
			b.Dead += d.N
		}
	}
	return b, nil
}

// CountFinished counts the deliveries delivered or skipped, by state and
// channel. It reads every such row of the outbox (seconds for 700,000 on
// SQLite), so a caller that asks often should keep the answer for minutes.
func (s *Service) CountFinished(ctx context.Context) ([]DeliveryCount, error) {
	return s.countDeliveries(ctx, finished)
}

func (s *Service) countDeliveries(ctx context.Context, states []string) ([]DeliveryCount, error) {
	var out []DeliveryCount
	err := s.db.Conn(ctx).Raw("SELECT state, channel, COUNT(*) AS n FROM outbox WHERE state IN ? GROUP BY state, channel ORDER BY state, channel", states).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	return out, nil
}
