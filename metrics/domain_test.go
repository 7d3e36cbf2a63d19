package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"datashare/accounts"
	"datashare/apptest"
	"datashare/metrics"
	"datashare/models"
	"datashare/models/modelstest"
	"datashare/workflow"
)

// gather collects d alone and returns each series' value by name and
// labels, as name{k=v,...}.
func gather(tb testing.TB, d *metrics.Domain) map[string]float64 {
	tb.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(d)
	fams, err := reg.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			key := f.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			out[key+"}"] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return out
}

func mustDraft(tb testing.TB, a *apptest.App, u models.User, n int) {
	tb.Helper()
	for i := range n {
		_, err := a.Workflow.Create(context.Background(), accounts.ActorOf(u), workflow.NewRequest{
			Title: fmt.Sprintf("Draft %d", i), Purpose: "Counting.", DataDescription: "Anything.",
			Classification: "official-open", OwnerAgency: "MOH",
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func sources(a *apptest.App, maxAge time.Duration) metrics.Sources {
	return metrics.Sources{Workflow: a.Workflow, Reporter: a.Reporter, Notifications: a.Notifications, Checker: a.Checker,
		Location: apptest.SGT, Now: func() time.Time { return time.Now().UTC() }, MaxAge: maxAge, HistoryMaxAge: maxAge}
}

// One read of the database serves the scrapes within the maximum age; a
// scrape after it reads again.
func TestDomainFiguresAreReadAtMostOncePerMaxAge(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		a := apptest.Wire(t, db, apptest.Options{})
		users := a.MustSeed(t, apptest.CastAgencies, apptest.CastPeople)
		requester := users["req@msf.gov.sg"]
		mustDraft(t, a, requester, 2)

		cached := metrics.NewDomain(sources(a, time.Hour))
		fresh := metrics.NewDomain(sources(a, time.Nanosecond))
		for name, d := range map[string]*metrics.Domain{"kept an hour": cached, "kept a nanosecond": fresh} {
			if got := gather(t, d)["datashare_requests{state=draft}"]; got != 2 {
				t.Errorf("%s, first read: datashare_requests{state=draft} got %v, want 2", name, got)
			}
		}
		mustDraft(t, a, requester, 3)
		time.Sleep(time.Millisecond)
		if got := gather(t, cached)["datashare_requests{state=draft}"]; got != 2 {
			t.Errorf("within the maximum age: datashare_requests{state=draft} got %v, want 2 as read before", got)
		}
		if got := gather(t, fresh)["datashare_requests{state=draft}"]; got != 5 {
			t.Errorf("past the maximum age: datashare_requests{state=draft} got %v, want 5", got)
		}
		// The history is read in the background, the scrape meanwhile
		// answered with the last read.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			got := gather(t, fresh)["datashare_transitions_total{action=create}"]
			if got == 5 {
				break
			}
			if got != 2 || time.Now().After(deadline) {
				t.Fatalf("datashare_transitions_total{action=create}: got %v, want 2 then 5 within 5 s", got)
			}
		}
	})
}

// When the database does not answer, the domain figures are left out and
// domain_up says so; the scrape itself still succeeds.
func TestDomainFiguresOfAnUnreachableDatabaseAreLeftOut(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *models.DB) {
		a := apptest.Wire(t, db, apptest.Options{})
		d := metrics.NewDomain(sources(a, time.Nanosecond))
		if got := gather(t, d); got["datashare_domain_up{}"] != 1 || got["datashare_requests{state=draft}"] != 0 {
			t.Fatalf("before closing: got %v, want domain_up 1 and no drafts", got)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		// The history read in the background fails a moment after the
		// first scrape, which answers with the last good read of it.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			got := gather(t, d)
			if v, ok := got["datashare_domain_up{}"]; !ok || v != 0 {
				t.Fatalf("datashare_domain_up with the database closed: got %v (present %v), want 0", v, ok)
			}
			if len(got) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("figures with the database closed: got %v, want only datashare_domain_up within 5 s", got)
			}
		}
	})
}
