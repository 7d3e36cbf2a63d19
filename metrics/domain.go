package metrics

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"datashare/calendar"
	"datashare/notifications"
	"datashare/sla"
	"datashare/workflow"
)

// Sources are the services the domain figures are read from.
type Sources struct {
	Workflow interface {
		Totals(context.Context) (workflow.Totals, error)
	}
	Reporter interface {
		Compute(context.Context, sla.Query, time.Time) (*sla.Report, error)
	}
	Notifications interface {
		Backlog(context.Context) (notifications.Backlog, error)
	}
	Checker  interface{ LastRun() (sla.Run, bool) }
	Location *time.Location // of report months
	Now      func() time.Time
	Log      *slog.Logger
	MaxAge   time.Duration // how long one read serves; 0 is DefaultMaxAge
}

// DefaultMaxAge is how long the domain figures read at one scrape serve the
// next ones: the database answers a report of the month and a few counts at
// most once in this time, however many scrapers there are.
const DefaultMaxAge = 10 * time.Second

// readTimeout bounds the queries of one scrape.
const readTimeout = 5 * time.Second

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("datashare_"+name, help, labels, nil)
}

var (
	descUp            = desc("domain_up", "1 when the domain figures below were read from the database at the last try, 0 when that failed.")
	descRequests      = desc("requests", "Requests in each state.", "state")
	descOpen          = desc("sla_open_requests", "Open requests (submitted, waiting for clarification or approved).")
	descAtRisk        = desc("sla_at_risk_requests", "Open requests at risk: past the warning threshold, not yet due.")
	descBreached      = desc("sla_breached_requests", "Open requests past their due time.")
	descCompliance    = desc("sla_compliance_ratio", "Compliance rate of the current month in the calendar's time zone, met / (met + missed); absent while both are 0.")
	descMet           = desc("sla_month_met_requests", "Requests counted met in the current month.")
	descMissed        = desc("sla_month_missed_requests", "Requests counted missed in the current month.")
	descTransitions   = desc("transitions_total", "History rows by action, the scheduled check's flags included.", "action")
	descEventsWaiting = desc("events_waiting", "Events of transitions and flags not yet fanned out to messages.")
	descDeliveries    = desc("deliveries", "Email and webhook deliveries by state and channel.", "state", "channel")
	descDead          = desc("deliveries_dead", "Deliveries that gave up after their last attempt, of every channel.")
	descCheckAt       = desc("sla_check_last_run_timestamp_seconds", "When the last SLA check this process ran started.")
	descCheckTook     = desc("sla_check_last_duration_seconds", "How long the last SLA check this process ran took.")
	descCheckOK       = desc("sla_check_last_success", "1 when the last SLA check this process ran succeeded, 0 when it failed.")
	descCheckChecked  = desc("sla_check_last_checked_requests", "Open requests the last SLA check looked at.")
	descCheckFlagged  = desc("sla_check_last_flagged_requests", "Requests the last SLA check newly flagged, by kind.", "kind")
)

// figures are the domain's figures at one instant.
type figures struct {
	totals  workflow.Totals
	report  *sla.Report
	backlog notifications.Backlog
}

// Domain is a prometheus.Collector of the domain's figures.
type Domain struct {
	src Sources

	mu      sync.Mutex
	read    time.Time // when figs was read, by the clock of time.Now
	figs    *figures
	lastErr error
}

// NewDomain returns the collector of the domain figures of src.
func NewDomain(src Sources) *Domain {
	if src.Log == nil {
		src.Log = slog.New(slog.DiscardHandler)
	}
	if src.MaxAge <= 0 {
		src.MaxAge = DefaultMaxAge
	}
	return &Domain{src: src}
}

// Describe implements prometheus.Collector.
func (d *Domain) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{descUp, descRequests, descOpen, descAtRisk, descBreached, descCompliance, descMet,
		descMissed, descTransitions, descEventsWaiting, descDeliveries, descDead,
		descCheckAt, descCheckTook, descCheckOK, descCheckChecked, descCheckFlagged} {
		ch <- x
	}
}

// Collect implements prometheus.Collector.
func (d *Domain) Collect(ch chan<- prometheus.Metric) {
	d.collectCheck(ch)
	f, err := d.current()
	if err != nil {
		ch <- gauge(descUp, 0)
		return
	}
	ch <- gauge(descUp, 1)
	for _, st := range workflow.States {
		ch <- gauge(descRequests, float64(f.totals.ByState[st]), string(st))
	}
	for action, n := range f.totals.ByAction {
		ch <- prometheus.MustNewConstMetric(descTransitions, prometheus.CounterValue, float64(n), action)
	}
	rep := f.report
	ch <- gauge(descOpen, float64(rep.Open.Total))
	ch <- gauge(descAtRisk, float64(rep.Open.AtRisk))
	ch <- gauge(descBreached, float64(rep.Open.Breached))
	ch <- gauge(descMet, float64(rep.Met))
	ch <- gauge(descMissed, float64(rep.Missed))
	if rep.ComplianceRate != nil {
		ch <- gauge(descCompliance, *rep.ComplianceRate)
	}
	ch <- gauge(descEventsWaiting, float64(f.backlog.EventsWaiting))
	for _, c := range f.backlog.Deliveries {
		ch <- gauge(descDeliveries, float64(c.N), c.State, c.Channel)
	}
	ch <- gauge(descDead, float64(f.backlog.Dead))
}

func (d *Domain) collectCheck(ch chan<- prometheus.Metric) {
	run, ok := d.src.Checker.LastRun()
	if !ok {
		return
	}
	ch <- gauge(descCheckAt, float64(run.At.UnixMilli())/1000)
	ch <- gauge(descCheckTook, run.Took.Seconds())
	success := 1.0
	if run.Err != nil {
		success = 0
	}
	ch <- gauge(descCheckOK, success)
	ch <- gauge(descCheckChecked, float64(run.Result.Checked))
	ch <- gauge(descCheckFlagged, float64(run.Result.AtRisk), "at_risk")
	ch <- gauge(descCheckFlagged, float64(run.Result.Breached), "breached")
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// current returns the figures read within the maximum age, reading them anew when
// they are older; concurrent scrapes wait for one read. A failed read is
// retried no sooner than a good one would be.
func (d *Domain) current() (*figures, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.read.IsZero() && time.Since(d.read) < d.src.MaxAge {
		return d.figs, d.lastErr
	}
	d.figs, d.lastErr = d.load()
	d.read = time.Now()
	if d.lastErr != nil {
		d.src.Log.Error("read the domain metrics", "error", d.lastErr)
	}
	return d.figs, d.lastErr
}

func (d *Domain) load() (*figures, error) {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var f figures
	var err1, err2, err3 error
	f.totals, err1 = d.src.Workflow.Totals(ctx)
	f.report, err2 = d.src.Reporter.Compute(ctx, thisMonth(d.src.Now(), d.src.Location), d.src.Now())
	f.backlog, err3 = d.src.Notifications.Backlog(ctx)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	return &f, nil
}

// thisMonth is the report query of the calendar month holding now in loc.
func thisMonth(now time.Time, loc *time.Location) sla.Query {
	local := now.In(loc)
	first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
	next := first.AddDate(0, 1, 0)
	return sla.Query{
		From: calendar.Date{Year: first.Year(), Month: first.Month(), Day: 1},
		To:   calendar.Date{Year: next.Year(), Month: next.Month(), Day: 1},
	}
}
