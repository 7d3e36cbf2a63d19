package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// plan is what the load generator needs to know of the seeded data; the
// orchestrator writes it to a file readable only by its user.
type plan struct {
	N        int            `json:"n"`
	Agencies []agencyTokens `json:"agencies"`
}

func (p plan) layout() layout { return layout{n: p.N, agencies: len(p.Agencies)} }

// scenarios, in the order they run in each round.
var scenarios = []string{"create", "approve", "get", "list-requester", "list-approver"}

var scenarioTitles = map[string]string{
	"create":         "create",
	"approve":        "approve",
	"get":            "get one",
	"list-requester": "list, as a requester, `limit=50`",
	"list-approver":  "list, as an approver, `limit=50`",
}

// result is one measurement of one scenario against one server.
type result struct {
	Requests int     `json:"requests"`
	Non2xx   int     `json:"non_2xx"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	// NextOffset is the first position of the approve pool this run left
	// unused, warm-up included; Exhausted says the pool ran out first.
	NextOffset int    `json:"next_offset"`
	Exhausted  bool   `json:"exhausted"`
	Sample     string `json:"sample,omitempty"` // the first non-2xx answer
	// Calls and Failed count every completed call and its non-2xx ones,
	// warm-up and calls finishing after the window included.
	Calls  int `json:"calls"`
	Failed int `json:"failed"`
}

// driver sends one scenario's calls.
type driver struct {
	base   string
	plan   plan
	l      layout
	client *http.Client
	pool   []int64
	next   atomic.Int64
}

// call is one HTTP call; ok false means nothing is left to send.
type call struct {
	method, path, token string
	body                []byte
}

func (d *driver) make(scenario string, rnd *rand.Rand) (call, bool) {
	ags := d.plan.Agencies
	switch scenario {
	case "create":
		a := rnd.IntN(len(ags))
		o := (a + 1 + rnd.IntN(len(ags)-1)) % len(ags)
		body, _ := json.Marshal(map[string]string{
			"title":            "Clinic visits by planning area",
			"purpose":          "Plan the placement of new polyclinics over the next five years.",
			"data_description": "Monthly visit counts per clinic and planning area since 2020.",
			"classification":   "official-open",
			"owner_agency":     ags[o].Code,
		})
		return call{"POST", "/api/v1/requests", ags[a].Requester, body}, true
	case "approve":
		i := d.next.Add(1) - 1
		if i >= int64(len(d.pool)) {
			return call{}, false
		}
		id := d.pool[i]
		return call{"POST", "/api/v1/requests/" + strconv.FormatInt(id, 10) + "/transitions",
			ags[d.l.owner(id)].Approver, []byte(`{"action":"approve"}`)}, true
	case "get":
		id := 1 + rnd.Int64N(int64(d.l.n))
		tok := ags[d.l.requesting(id)].Requester
		if d.l.state(id) != "draft" && rnd.IntN(2) == 0 {
			tok = ags[d.l.owner(id)].Approver
		}
		return call{"GET", "/api/v1/requests/" + strconv.FormatInt(id, 10), tok, nil}, true
	case "list-requester":
		return call{"GET", "/api/v1/requests?limit=50", ags[rnd.IntN(len(ags))].Requester, nil}, true
	case "list-approver":
		return call{"GET", "/api/v1/requests?limit=50", ags[rnd.IntN(len(ags))].Approver, nil}, true
	}
	panic("unknown scenario " + scenario)
}

func (d *driver) do(ctx context.Context, c call) (int, []byte, error) {
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, d.base+c.path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// run drives scenario with conns workers: warm-up first, unrecorded, then
// the measured duration. Calls still in flight at the end are not counted.
func (d *driver) run(ctx context.Context, scenario string, conns int, warmup, duration time.Duration) (result, error) {
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	var (
		mu        sync.Mutex
		lat       []time.Duration
		non2xx    int
		allCalls  int
		allFailed int
		sample    string
		exhausted atomic.Bool
		firstErr  error
		lastDone  time.Time
		wg        sync.WaitGroup
	)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			var mine []time.Duration
			bad, calls, failed, smp := 0, 0, 0, ""
			var err error
			var done time.Time
			for {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					break
				}
				c, ok := d.make(scenario, rnd)
				if !ok {
					exhausted.Store(true)
					break
				}
				var st int
				var body []byte
				st, body, err = d.do(ctx, c)
				if err != nil {
					break
				}
				done = time.Now()
				calls++
				if st < 200 || st > 299 {
					failed++
					if smp == "" {
						smp = fmt.Sprintf("%s %s: %d %s", c.method, c.path, st, bytes.TrimSpace(body))
					}
				}
				// A call counts when it completes inside the window,
				// wherever it started, as wrk counts them.
				if done.Before(measureFrom) || done.After(end) {
					continue
				}
				mine = append(mine, done.Sub(t0))
				if st < 200 || st > 299 {
					bad++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, mine...)
			non2xx += bad
			allCalls += calls
			allFailed += failed
			if sample == "" {
				sample = smp
			}
			if err != nil && firstErr == nil && ctx.Err() == nil {
				firstErr = err
			}
			if done.After(lastDone) {
				lastDone = done
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return result{}, fmt.Errorf("%s: %w", scenario, firstErr)
	}
	stop := end
	if exhausted.Load() && lastDone.Before(end) {
		stop = lastDone
	}
	r := result{Requests: len(lat), Non2xx: non2xx, Sample: sample, Exhausted: exhausted.Load(), Calls: allCalls, Failed: allFailed}
	r.Seconds = stop.Sub(measureFrom).Seconds()
	if r.Seconds > 0 {
		r.RPS = float64(r.Requests) / r.Seconds
	}
	slices.Sort(lat)
	r.P50ms, r.P99ms = percentileMS(lat, 0.50), percentileMS(lat, 0.99)
	if scenario == "approve" {
		r.NextOffset = int(min(d.next.Load(), int64(len(d.pool))))
	}
	return r, nil
}

func percentileMS(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

// driveMain is the load generator's process: it reads the plan, drives one
// scenario against one server and prints the result as JSON.
func driveMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("drive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	planFile := fs.String("plan", "", "plan file written by the orchestrator")
	base := fs.String("url", "", "base URL of the server, like http://127.0.0.1:8080")
	scenario := fs.String("scenario", "", "one of create, approve, get, list-requester, list-approver")
	conns := fs.Int("c", 16, "connections")
	warmup := fs.Duration("warmup", 3*time.Second, "unrecorded warm-up")
	duration := fs.Duration("duration", 10*time.Second, "measured time")
	offset := fs.Int("offset", 0, "first unused position in the approve pool")
	share := fs.Int("share", 0, "positions of the approve pool this run may use; 0: the rest")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !slices.Contains(scenarios, *scenario) {
		return fmt.Errorf("unknown scenario %q", *scenario)
	}
	b, err := os.ReadFile(*planFile)
	if err != nil {
		return err
	}
	var p plan
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	tr := &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	d := &driver{base: *base, plan: p, l: p.layout(), client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	if *scenario == "approve" {
		d.pool = p.layout().approvePool()
		if *share > 0 && *offset+*share < len(d.pool) {
			d.pool = d.pool[:*offset+*share]
		}
		d.next.Store(int64(*offset))
	}
	r, err := d.run(ctx, *scenario, *conns, *warmup, *duration)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(r)
}
