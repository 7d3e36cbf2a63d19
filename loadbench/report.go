package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
)

// measurement is one scenario against one server in one round.
type measurement struct {
	Round    int    `json:"round"`
	Scenario string `json:"scenario"`
	Server   string `json:"server"`
	Result   result `json:"result"`
}

type report struct {
	Options    options
	Binary     string
	Seeded     seedTimes
	Runs       []measurement
	ProductRSS int64
	BareRSS    int64
	// database sizes once seeded, before the load
	ProductDBSize, BareDBSize int64
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summary is one row of the table: medians over rounds.
type summary struct {
	Scenario                   string
	ProductRPS, BareRPS, Ratio float64
	ProductP50, ProductP99     float64
	BareP50, BareP99           float64
	ProductNon2xx, BareNon2xx  int
	Exhausted                  bool
}

func (r report) summaries() []summary {
	var out []summary
	for _, sc := range r.Options.scenarios {
		s := summary{Scenario: sc}
		var prps, brps, ratio, pp50, pp99, bp50, bp99 []float64
		byRound := map[int]map[string]result{}
		for _, m := range r.Runs {
			if m.Scenario != sc {
				continue
			}
			if byRound[m.Round] == nil {
				byRound[m.Round] = map[string]result{}
			}
			byRound[m.Round][m.Server] = m.Result
			s.Exhausted = s.Exhausted || m.Result.Exhausted
			if m.Server == "product" {
				prps, pp50, pp99 = append(prps, m.Result.RPS), append(pp50, m.Result.P50ms), append(pp99, m.Result.P99ms)
				s.ProductNon2xx += m.Result.Non2xx
			} else {
				brps, bp50, bp99 = append(brps, m.Result.RPS), append(bp50, m.Result.P50ms), append(bp99, m.Result.P99ms)
				s.BareNon2xx += m.Result.Non2xx
			}
		}
		for _, rr := range byRound {
			if b := rr["bare"].RPS; b > 0 {
				ratio = append(ratio, rr["product"].RPS/b)
			}
		}
		s.ProductRPS, s.BareRPS, s.Ratio = median(prps), median(brps), median(ratio)
		s.ProductP50, s.ProductP99, s.BareP50, s.BareP99 = median(pp50), median(pp99), median(bp50), median(bp99)
		out = append(out, s)
	}
	return out
}

func mb(b int64) string {
	if b == 0 {
		return "n/a"
	}
	if b < 10<<20 {
		return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.0f MB", float64(b)/(1<<20))
}

// write prints the run's conditions and the table in markdown.
func (r report) write(w io.Writer) {
	o := r.Options
	db := "SQLite"
	if o.db == "postgres" {
		db = "PostgreSQL"
	}
	built := "built from this checkout"
	if o.binary != "" {
		built = "`" + o.binary + "`"
	}
	fmt.Fprintf(w, "%s, %d requests seeded over %d agencies; %d connections, %s measured after a %s warm-up, %d round(s), product and bare alternating; %d CPUs; datashare %s.\n\n",
		db, o.n, o.agencies, o.conns, o.duration, o.warmup, o.rounds, runtime.NumCPU(), built)
	fmt.Fprintln(w, "| scenario | product req/s | bare req/s | ratio | product p50 / p99 ms | bare p50 / p99 ms | non-2xx product / bare |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	var notes []string
	for _, s := range r.summaries() {
		name := scenarioTitles[s.Scenario]
		if s.Exhausted {
			name += " ¹"
			if len(notes) == 0 {
				notes = append(notes, "¹ the approve pool ran out before the end of a measurement; req/s counts the time it lasted.")
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f | %.1f / %.1f | %.1f / %.1f | %d / %d |\n", name,
			thousands(s.ProductRPS), thousands(s.BareRPS), s.Ratio, s.ProductP50, s.ProductP99, s.BareP50, s.BareP99,
			s.ProductNon2xx, s.BareNon2xx)
	}
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintf(w, "Peak RSS (VmHWM): product %s, bare %s. Database once seeded: product %s, bare %s; seeding took %.1f s and %.1f s. Medians over rounds; ratio = product/bare req/s, median of the rounds' ratios.\n",
		mb(r.ProductRSS), mb(r.BareRSS), mb(r.ProductDBSize), mb(r.BareDBSize), r.Seeded.Product.Seconds(), r.Seeded.Bare.Seconds())
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	if v < 10 {
		return fmt.Sprintf("%.1f", v)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

type jsonSummary struct {
	Scenario      string  `json:"scenario"`
	ProductRPS    float64 `json:"product_rps"`
	BareRPS       float64 `json:"bare_rps"`
	Ratio         float64 `json:"ratio"`
	ProductP50ms  float64 `json:"product_p50_ms"`
	ProductP99ms  float64 `json:"product_p99_ms"`
	BareP50ms     float64 `json:"bare_p50_ms"`
	BareP99ms     float64 `json:"bare_p99_ms"`
	ProductNon2xx int     `json:"product_non_2xx"`
	BareNon2xx    int     `json:"bare_non_2xx"`
}

func (r report) jsonView() any {
	var sums []jsonSummary
	for _, s := range r.summaries() {
		sums = append(sums, jsonSummary{s.Scenario, s.ProductRPS, s.BareRPS, s.Ratio, s.ProductP50, s.ProductP99,
			s.BareP50, s.BareP99, s.ProductNon2xx, s.BareNon2xx})
	}
	o := r.Options
	return map[string]any{
		"db": o.db, "n": o.n, "agencies": o.agencies, "connections": o.conns,
		"duration_s": o.duration.Seconds(), "warmup_s": o.warmup.Seconds(), "rounds": o.rounds,
		"binary": r.Binary, "cpus": runtime.NumCPU(),
		"seed_product_s": r.Seeded.Product.Seconds(), "seed_bare_s": r.Seeded.Bare.Seconds(),
		"product_peak_rss_bytes": r.ProductRSS, "bare_peak_rss_bytes": r.BareRSS,
		"product_db_bytes": r.ProductDBSize, "bare_db_bytes": r.BareDBSize,
		"summary": sums, "runs": r.Runs,
	}
}
