package projects

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"datashare/models"
	"datashare/sla"
)

// Event kinds of the scheduled check's flags on a project, as notifications
// and webhooks name them.
const (
	EventAtRisk   = "project.at_risk"
	EventBreached = "project.breached"
)

// Flagged is a project the check flagged, with its clock at the flag.
type Flagged struct {
	Code, Name, LeadAgency string
	Clock                  Clock
}

// Flags are the projects one check newly flagged for one kind.
type Flags struct {
	Kind     string    // EventAtRisk or EventBreached
	Projects []Flagged // by code
	At       time.Time
}

// Notifier hears of the projects a check flagged inside the transaction
// that records the flags, so that the messages are written if and only if
// the flags are.
type Notifier func(ctx context.Context, tx *gorm.DB, f Flags) error

// WithNotifier sets who hears of the check's flags (notifications.Outbox).
func (s *Service) WithNotifier(n Notifier) *Service {
	s.notify = n
	return s
}

// The conditions of the check on the stored clock, as storedStatus reads
// it: an open project is breached from its due instant and at risk from
// its warning.
const (
	pastDue  = "sla_status = '" + Open + "' AND sla_due_at IS NOT NULL AND sla_due_at <= ?"
	pastWarn = "sla_status = '" + Open + "' AND sla_warn_at IS NOT NULL AND sla_warn_at <= ?"
)

// Flag flags, as of now, every open project whose stored clock turned
// breached or at risk and that was not flagged for it yet, and tells the
// notifier of them, all in one transaction; it returns how many it flagged
// of each. As for requests, breaches come first: a project past due is past
// its warning too, and one that reached both since the last check is
// flagged for both. A project is claimed by an UPDATE guarded on its flag,
// which only one of two checks at once can win, so each is flagged once.
// sla.Checker runs it (WithProjects) after the requests.
func (s *Service) Flag(ctx context.Context, now time.Time) (atRisk, breached int, err error) {
	now = now.UTC().Truncate(time.Microsecond)
	err = s.db.Tx(ctx, func(ctx context.Context, tx *gorm.DB) error {
		type claimed struct {
			Code            string
			AtRiskFlaggedAt *time.Time `gorm:"column:sla_at_risk_flagged_at"`
		}
		var late []claimed
		q := "UPDATE projects SET sla_breached_flagged_at = ?, sla_at_risk_flagged_at = COALESCE(sla_at_risk_flagged_at, ?) WHERE " +
			pastDue + " AND sla_breached_flagged_at IS NULL RETURNING code, sla_at_risk_flagged_at"
		if err := tx.Raw(q, now, now, now).Scan(&late).Error; err != nil {
			return fmt.Errorf("flag breached projects: %w", err)
		}
		var risky []string
		q = "UPDATE projects SET sla_at_risk_flagged_at = ? WHERE " + pastWarn + " AND sla_at_risk_flagged_at IS NULL RETURNING code"
		if err := tx.Raw(q, now, now).Scan(&risky).Error; err != nil {
			return fmt.Errorf("flag projects at risk: %w", err)
		}
		var breaches []string
		for _, c := range late {
			breaches = append(breaches, c.Code)
			// Flagged at risk by this very update: it turned at risk too
			// since the last check.
			if c.AtRiskFlaggedAt != nil && c.AtRiskFlaggedAt.Equal(now) {
				risky = append(risky, c.Code)
			}
		}
		atRisk, breached = len(risky), len(breaches)
		if s.notify == nil || atRisk+breached == 0 {
			return nil
		}
		if err := s.tell(ctx, tx, EventAtRisk, risky, now); err != nil {
			return err
		}
		return s.tell(ctx, tx, EventBreached, breaches, now)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("flag projects: %w", err)
	}
	return atRisk, breached, nil
}

// tell reads the flagged projects codes with their clocks at now and hands
// them to the notifier.
func (s *Service) tell(ctx context.Context, tx *gorm.DB, kind string, codes []string, now time.Time) error {
	if len(codes) == 0 {
		return nil
	}
	slices.Sort(codes)
	var rows []models.Project
	if err := tx.Where("code IN ?", codes).Order("code").Find(&rows).Error; err != nil {
		return fmt.Errorf("read flagged projects: %w", err)
	}
	f := Flags{Kind: kind, At: now}
	cal, set := s.keeper.Calendar(), s.keeper.Settings()
	for _, p := range rows {
		f.Projects = append(f.Projects, Flagged{Code: p.Code, Name: p.Name, LeadAgency: p.LeadAgency, Clock: clockOf(p.Clock, cal, set, now)})
	}
	if err := s.notify(ctx, tx, f); err != nil {
		return fmt.Errorf("notify %s: %w", kind, err)
	}
	return nil
}

// Flag is what sla.Checker runs after the requests.
var _ sla.Projects = (*Service)(nil).Flag
