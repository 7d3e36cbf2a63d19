package metrics

import (
	"cmp"
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
		CountByState(context.Context) (map[workflow.State]int64, error)
		CountHistory(context.Context) (map[string]int64, error)
	}
	Reporter interface {
		Compute(context.Context, sla.Query, time.Time) (*sla.Report, error)
	}
	Notifications interface {
		Backlog(context.Context) (notifications.Backlog, error)
		CountFinished(context.Context) ([]notifications.DeliveryCount, error)
	}
	Checker  interface{ LastRun() (sla.Run, bool) }
	Location *time.Location // of report months
	Now      func() time.Time
	Log      *slog.Logger
	// How long one read serves: of the figures read from indexes, and of
	// those that read whole tables (the history by action, the deliveries
	// done with). 0 is DefaultMaxAge and DefaultHistoryMaxAge.
	MaxAge, HistoryMaxAge time.Duration
}

// DefaultMaxAge is how long the figures read from indexes at one scrape
// serve the next ones: the database answers a report of the month and a few
// indexed counts at most once in this time, however many scrapers there
// are.
const DefaultMaxAge = 10 * time.Second

// DefaultHistoryMaxAge is how long the figures that read whole tables serve:
// a read takes seconds of a reader at 100,000 requests on SQLite
// (BenchmarkDomainRead100k), so at most once in five minutes, and the
// scrapes meanwhile get the last read: only the first scrape waits for one.
const DefaultHistoryMaxAge = 5 * time.Minute

// Timeouts of a read from indexes and of one of whole tables.
const (
	readTimeout        = 5 * time.Second
	historyReadTimeout = time.Minute
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("datashare_"+name, help, labels, nil)
}

var (
	descUp            = desc("domain_up", "1 when the domain figures were read from the database at the last try, 0 when a read failed (its figures are left out).")
	descRequests      = desc("requests", "Requests in each state.", "state")
	descOpen          = desc("sla_open_requests", "Open requests (submitted, waiting for clarification or approved).")
	descAtRisk        = desc("sla_at_risk_requests", "Open requests at risk: past the warning threshold, not yet due.")
	descBreached      = desc("sla_breached_requests", "Open requests past their due time.")
	descCompliance    = desc("sla_compliance_ratio", "Compliance rate of the current month in the calendar's time zone, met / (met + missed); absent while both are 0.")
	descMet           = desc("sla_month_met_requests", "Requests counted met in the current month.")
	descMissed        = desc("sla_month_missed_requests", "Requests counted missed in the current month.")
	descTransitions   = desc("transitions_total", "History rows by action, the scheduled check's flags included; read at most every 5 minutes.", "action")
	descEventsWaiting = desc("events_waiting", "Events of transitions and flags not yet fanned out to messages.")
	descDeliveries    = desc("deliveries", "Email and webhook deliveries by state and channel; delivered and skipped read at most every 5 minutes.", "state", "channel")
	descDead          = desc("deliveries_dead", "Deliveries that gave up after their last attempt, of every channel.")
	descCheckAt       = desc("sla_check_last_run_timestamp_seconds", "When the last SLA check this process ran started.")
	descCheckTook     = desc("sla_check_last_duration_seconds", "How long the last SLA check this process ran took.")
	descCheckOK       = desc("sla_check_last_success", "1 when the last SLA check this process ran succeeded, 0 when it failed.")
	descCheckChecked  = desc("sla_check_last_checked_requests", "Open requests the last SLA check looked at.")
	descCheckFlagged  = desc("sla_check_last_flagged_requests", "Requests the last SLA check newly flagged, by kind.", "kind")
)

// current are the figures read from indexes at one instant.
type current struct {
	byState map[workflow.State]int64
	report  *sla.Report
	backlog notifications.Backlog
}

// history are the figures that read whole tables.
type history struct {
	byAction map[string]int64
	finished []notifications.DeliveryCount
}

// Domain is a prometheus.Collector of the domain's figures.
type Domain struct {
	src     Sources
	current cached[current]
	history cached[history]
}

// cached is the last read of some figures, and the read in flight.
type cached[T any] struct {
	maxAge, timeout time.Duration
	// stale serves the last read while a new one runs, so that a slow
	// read never holds up a scrape but the first.
	stale bool

	mu      sync.Mutex
	have    bool
	read    time.Time // by time.Now's clock
	val     T
	err     error
	running chan struct{} // closed when the read in flight ends; nil when none
}

// get returns the last read if it is younger than the maximum age, and
// otherwise starts a read (one at a time) and waits for it, or with stale
// returns the last read meanwhile. A failed read is tried again no sooner
// than a good one.
func (c *cached[T]) get(load func(context.Context) (T, error), log *slog.Logger) (T, error) {
	c.mu.Lock()
	if c.have && time.Since(c.read) < c.maxAge {
		defer c.mu.Unlock()
		return c.val, c.err
	}
	if c.running == nil {
		done := make(chan struct{})
		c.running = done
		go func() {
			defer close(done)
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			v, err := load(ctx)
			cancel()
			if err != nil {
				log.Error("read the domain metrics", "error", err)
			}
			c.mu.Lock()
			c.val, c.err, c.read, c.have, c.running = v, err, time.Now(), true, nil
			c.mu.Unlock()
		}()
	}
	running := c.running
	if c.stale && c.have {
		defer c.mu.Unlock()
		return c.val, c.err
	}
	c.mu.Unlock()
	<-running
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.val, c.err
}

// NewDomain returns the collector of the domain figures of src.
func NewDomain(src Sources) *Domain {
	if src.Log == nil {
		src.Log = slog.New(slog.DiscardHandler)
	}
	d := &Domain{src: src}
	d.current.maxAge, d.current.timeout = cmp.Or(src.MaxAge, DefaultMaxAge), readTimeout
	d.history.maxAge, d.history.timeout = cmp.Or(src.HistoryMaxAge, DefaultHistoryMaxAge), historyReadTimeout
	d.history.stale = true
	return d
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
	cur, err1 := d.current.get(d.readCurrent, d.src.Log)
	hist, err2 := d.history.get(d.readHistory, d.src.Log)
	up := 1.0
	if err1 != nil || err2 != nil {
		up = 0
	}
	ch <- gauge(descUp, up)
	if err1 == nil {
		for _, st := range workflow.States {
			ch <- gauge(descRequests, float64(cur.byState[st]), string(st))
		}
		rep := cur.report
		ch <- gauge(descOpen, float64(rep.Open.Total))
		ch <- gauge(descAtRisk, float64(rep.Open.AtRisk))
		ch <- gauge(descBreached, float64(rep.Open.Breached))
		ch <- gauge(descMet, float64(rep.Met))
		ch <- gauge(descMissed, float64(rep.Missed))
		if rep.ComplianceRate != nil {
			ch <- gauge(descCompliance, *rep.ComplianceRate)
		}
		ch <- gauge(descEventsWaiting, float64(cur.backlog.EventsWaiting))
		for _, c := range cur.backlog.Deliveries {
			ch <- gauge(descDeliveries, float64(c.N), c.State, c.Channel)
		}
		ch <- gauge(descDead, float64(cur.backlog.Dead))
	}
	if err2 == nil {
		for action, n := range hist.byAction {
			ch <- prometheus.MustNewConstMetric(descTransitions, prometheus.CounterValue, float64(n), action)
		}
		for _, c := range hist.finished {
			ch <- gauge(descDeliveries, float64(c.N), c.State, c.Channel)
		}
	}
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

func (d *Domain) readCurrent(ctx context.Context) (current, error) {
	var c current
	var err1, err2, err3 error
	c.byState, err1 = d.src.Workflow.CountByState(ctx)
	now := d.src.Now()
	c.report, err2 = d.src.Reporter.Compute(ctx, thisMonth(now, d.src.Location), now)
	c.backlog, err3 = d.src.Notifications.Backlog(ctx)
	return c, errors.Join(err1, err2, err3)
}

func (d *Domain) readHistory(ctx context.Context) (history, error) {
	var h history
	var err1, err2 error
	h.byAction, err1 = d.src.Workflow.CountHistory(ctx)
	h.finished, err2 = d.src.Notifications.CountFinished(ctx)
	return h, errors.Join(err1, err2)
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
