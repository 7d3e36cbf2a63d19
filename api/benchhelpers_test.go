package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"datashare/models"
	"datashare/models/modelstest"
)

// benchClients is how many clients the concurrent benchmarks run at once.
const benchClients = 16

// setBenchClients makes RunParallel start benchClients goroutines whatever
// GOMAXPROCS is (on the 2-core reference machine: parallelism 8).
func setBenchClients(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchClients + procs - 1) / procs)
}

// benchClient is an HTTP client that keeps a connection per concurrent
// client alive over loopback, so that each operation is one request and no
// handshake. It does no OpenAPI validation: that belongs to the tests, not to
// the timed loops.
type benchClient struct {
	http *http.Client
	base string
}

func newBenchClient(tb testing.TB, base string) *benchClient {
	tr := &http.Transport{
		MaxIdleConns:        4 * benchClients,
		MaxIdleConnsPerHost: 4 * benchClients,
		IdleConnTimeout:     time.Minute,
	}
	tb.Cleanup(tr.CloseIdleConnections)
	return &benchClient{http: &http.Client{Transport: tr}, base: base}
}

// post sends body as JSON to path with the bearer token (none when empty),
// and returns an error unless the answer has status want. out, when not nil,
// receives the decoded answer; otherwise the answer is read and dropped.
func (c *benchClient) post(path, token string, body []byte, want int, out any) error {
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("POST %s: got %d %s, want %d", path, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return fmt.Errorf("POST %s: decode: %w", path, err)
		}
		return nil
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

// get reads path with the bearer token and returns an error unless the
// answer has status want; the answer is read and dropped.
func (c *benchClient) get(path, token string, want int) error {
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("GET %s: got %d %s, want %d", path, res.StatusCode, b, want)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

func transitionPath(id int64) string {
	return "/api/v1/requests/" + strconv.FormatInt(id, 10) + "/transitions"
}

// latencies records one duration per operation into a slice allocated
// before the timer starts, so that recording costs no allocation.
type latencies struct {
	d []time.Duration
	n atomic.Int64
}

func newLatencies(n int) *latencies { return &latencies{d: make([]time.Duration, n)} }

func (l *latencies) add(d time.Duration) {
	if i := l.n.Add(1) - 1; i < int64(len(l.d)) {
		l.d[i] = d
	}
}

// quantile returns the q-quantile (nearest rank) of the recorded durations.
func (l *latencies) quantile(q float64) time.Duration {
	n := min(int(l.n.Load()), len(l.d))
	if n == 0 {
		return 0
	}
	d := slices.Clone(l.d[:n])
	slices.Sort(d)
	i := int(math.Ceil(q*float64(n))) - 1
	return d[max(i, 0)]
}

// report adds ops/s and the p50 and p99 latency to the benchmark's results.
// It stops the timer.
func (l *latencies) report(b *testing.B, start time.Time) {
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(l.quantile(0.50))/float64(time.Millisecond), "p50_ms")
	b.ReportMetric(float64(l.quantile(0.99))/float64(time.Millisecond), "p99_ms")
}

// failures collects errors from RunParallel's goroutines, which may not call
// b.Fatal.
type failures struct {
	n     atomic.Int64
	once  sync.Once
	first error
}

func (f *failures) add(err error) {
	f.n.Add(1)
	f.once.Do(func() { f.first = err })
}

func (f *failures) check(b *testing.B) {
	b.Helper()
	if n := f.n.Load(); n > 0 {
		b.Fatalf("%d of %d operations failed; first: %v", n, b.N, f.first)
	}
}

// mustSeedSubmitted stores n official-open requests from requesterID (of
// MOH) to HDB, already submitted, with their create and submit history rows,
// straight into the database: preparing thousands through the API would
// take longer than the benchmark itself. stamp, when not nil, starts each
// request's SLA clock as a submission would. It returns their ids in order.
func mustSeedSubmitted(tb testing.TB, db *models.DB, requesterID int64, n int, stamp func(r *models.Request, from, to string, at time.Time)) []int64 {
	tb.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	draft := "draft"
	return modelstest.MustSeedRequests(tb, db, n, func(_ int, r *models.Request) []models.Transition {
		*r = models.Request{
			Title: "Residents aged 65+ per block", Purpose: "Vaccination outreach",
			DataDescription: "Counts per block, 2025", Classification: "official-open",
			RequestingAgency: "MOH", OwnerAgency: "HDB", RequesterID: requesterID,
			State: "submitted", ApprovalsRequired: 1, Version: 2,
			CreatedAt: now, UpdatedAt: now, SubmittedAt: &now,
		}
		r.SLA.StateSince = &now
		if stamp != nil {
			stamp(r, "draft", "submitted", now)
		}
		return []models.Transition{
			{Action: "create", ToState: "draft", ActorID: &requesterID, At: now},
			{Action: "submit", FromState: &draft, ToState: "submitted", ActorID: &requesterID, At: now},
		}
	})
}

// mustCount returns the number of rows of table matching where.
func mustCount(tb testing.TB, db *models.DB, table, where string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := db.Gorm.WithContext(context.Background()).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

// mustWrote checks, after a benchmark, that the rows it was meant to write
// are there: the yardstick and the service must have done the same work.
func mustWrote(tb testing.TB, db *models.DB, table, where string, want int64, args ...any) {
	tb.Helper()
	if got := mustCount(tb, db, table, where, args...); got != want {
		tb.Fatalf("%s where %s: got %d rows, want %d", table, where, got, want)
	}
}
