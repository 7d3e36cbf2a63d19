package workflow

import "gorm.io/gorm"

// ListQuery lets the external tests read the plan of List's statement.
func (s *Service) ListQuery(db *gorm.DB, actor Actor, f Filter) (*gorm.DB, error) {
	return s.listQuery(db, actor, f)
}
