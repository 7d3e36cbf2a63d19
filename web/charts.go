package web

import (
	"fmt"
	"math"
	"strings"
	"time"

	"datashare/sla"
)

// chart is a column chart of compliance rates, drawn by the server as SVG
// with the same figures as a table (its text alternative).
type chart struct {
	ID, Title, Desc, KeyHeading string
	Width, Height               float64
	Ticks                       []tick
	Bars                        []bar
	Rows                        []chartRow
}

type tick struct {
	X1, X2, Y, LabelX float64
	Label             string
}

// bar is one group's column; a group with nothing counted has no column,
// only its value "—" above the axis.
type bar struct {
	X, Y, W, H, Mid, ValueY, LabelY float64
	Label, Value                    string
	Counted                         bool
}

type chartRow struct {
	Key         string
	Met, Missed int
	Rate        string
}

// Geometry of a chart, in SVG user units.
const (
	chartLeft   = 48.0 // room for the rate labels
	chartTop    = 20.0 // room for the value above a full column
	chartPlot   = 160.0
	chartBottom = 36.0 // room for the group labels
	chartSlot   = 72.0
	chartBar    = 40.0
	chartMinW   = 280.0
)

// newChart draws groups, each a column as tall as its rate; label names a
// group's key for a person (nil: the key itself).
func newChart(id, title, keyHeading string, groups []sla.Group, label func(string) string) chart {
	if label == nil {
		label = func(k string) string { return k }
	}
	c := chart{ID: id, Title: title, KeyHeading: keyHeading, Height: chartTop + chartPlot + chartBottom}
	c.Width = math.Max(chartMinW, chartLeft+float64(len(groups))*chartSlot+8)
	base := chartTop + chartPlot
	for _, f := range []float64{0, 0.5, 1} {
		y := round1(base - f*chartPlot)
		c.Ticks = append(c.Ticks, tick{X1: chartLeft, X2: c.Width - 8, Y: y, LabelX: chartLeft - 6, Label: fmt.Sprintf("%.0f%%", f*100)})
	}
	var desc []string
	for i, g := range groups {
		b := bar{X: round1(chartLeft + float64(i)*chartSlot + (chartSlot-chartBar)/2), W: chartBar, Label: label(g.Key),
			Value: pct(g.ComplianceRate), Counted: g.ComplianceRate != nil, LabelY: base + 18}
		b.Mid = round1(b.X + chartBar/2)
		b.ValueY = base - 6
		if b.Counted {
			b.H = round1(*g.ComplianceRate * chartPlot)
			b.Y = round1(base - b.H)
			b.ValueY = round1(b.Y - 6)
			desc = append(desc, fmt.Sprintf("%s %s (%d met, %d missed)", b.Label, b.Value, g.Met, g.Missed))
		} else {
			desc = append(desc, b.Label+" nothing counted")
		}
		c.Bars = append(c.Bars, b)
		c.Rows = append(c.Rows, chartRow{Key: b.Label, Met: g.Met, Missed: g.Missed, Rate: b.Value})
	}
	c.Desc = "Columns from 0 to 100%: " + strings.Join(desc, "; ") + ". The table gives the same figures."
	return c
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// monthLabel names a month key (2026-01) as "Jan 2026".
func monthLabel(key string) string {
	t, err := time.Parse("2006-01", key)
	if err != nil {
		return key
	}
	return t.Format("Jan 2006")
}
