package workflow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Policy says how many distinct approvers each classification needs.
type Policy struct {
	Approvals map[string]int
}

// DefaultPolicy is DESIGN.md's table.
func DefaultPolicy() Policy {
	return Policy{Approvals: map[string]int{
		"official-open":   1,
		"official-closed": 1,
		"restricted":      2,
		"confidential":    2,
	}}
}

// Classifications returns the known classifications, sorted.
func (p Policy) Classifications() []string {
	out := make([]string, 0, len(p.Approvals))
	for c := range p.Approvals {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// ParsePolicy reads "official-open=1,restricted=2,…". Classifications not
// named keep their default count; a new name adds a classification.
func ParsePolicy(s string) (Policy, error) {
	p := DefaultPolicy()
	s = strings.TrimSpace(s)
	if s == "" {
		return p, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if !ok || name == "" || err != nil || n < 1 || n > 10 {
			return Policy{}, fmt.Errorf("approvals %q: want classification=N with N from 1 to 10", part)
		}
		p.Approvals[name] = n
	}
	return p, nil
}

// String renders the policy in ParsePolicy's syntax.
func (p Policy) String() string {
	names := p.Classifications()
	parts := make([]string, len(names))
	for i, c := range names {
		parts[i] = fmt.Sprintf("%s=%d", c, p.Approvals[c])
	}
	return strings.Join(parts, ",")
}
