// Command loadbench measures the datashare binary under load against a bare
// echo + gorm server of the same route shapes on its own minimal schema.
// Both run as separate processes over the same seeded requests, and a
// separate load-generator process drives them in turn:
//
//	go run ./loadbench -db sqlite -n 100000
//	go run ./loadbench -db postgres -postgres-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// It prints a markdown table of req/s, p50, p99 and non-2xx answers per
// scenario and server, the ratio product/bare, and each server's peak RSS.
// The same executable serves as the bare server ("loadbench bare") and the
// load generator ("loadbench drive").
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"datashare/loadbench/bare"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
		}
		os.Exit(1)
	}
}

// dispatch runs the orchestrator, or one of the child processes it starts
// from its own executable.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "bare":
			return bare.Main(ctx, args[1:], stdout, stderr)
		case "drive":
			return driveMain(ctx, args[1:], stdout, stderr)
		}
	}
	return run(ctx, args, stdout, stderr)
}

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

type options struct {
	db          string
	postgresURL string
	n           int
	agencies    int
	conns       int
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	binary      string
	jsonFile    string
	keep        bool
	scenarios   []string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var scen string
	pgDefault := os.Getenv("DATASHARE_TEST_POSTGRES_URL")
	if pgDefault == "" {
		pgDefault = defaultPostgresURL
	}
	fs.StringVar(&o.db, "db", "sqlite", "sqlite or postgres")
	fs.StringVar(&o.postgresURL, "postgres-url", pgDefault, "PostgreSQL server to use with -db postgres (default $DATASHARE_TEST_POSTGRES_URL); the benchmark creates two databases of its own there and drops them at the end")
	fs.IntVar(&o.n, "n", 100000, "requests to seed before the load")
	fs.IntVar(&o.agencies, "agencies", 10, "agencies, each with a requester and an approver")
	fs.IntVar(&o.conns, "c", 16, "connections of the load generator")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario, server and round")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "unrecorded warm-up before each measurement")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; product and bare alternate within each")
	fs.StringVar(&o.binary, "binary", "", "datashare binary to measure (default: built from this checkout)")
	fs.StringVar(&o.jsonFile, "json", "", "also write every measurement to this JSON file")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary folder with the databases and server logs")
	fs.StringVar(&scen, "scenarios", strings.Join(scenarios, ","), "scenarios to run, comma-separated")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	if o.db != "sqlite" && o.db != "postgres" {
		errs = append(errs, fmt.Errorf("-db: want sqlite or postgres, got %q", o.db))
	}
	if o.n < 100 {
		errs = append(errs, errors.New("-n: at least 100 requests"))
	}
	if o.agencies < 2 || o.agencies > 99 {
		errs = append(errs, errors.New("-agencies: from 2 to 99"))
	}
	if o.conns < 1 || o.rounds < 1 || o.duration <= 0 || o.warmup < 0 {
		errs = append(errs, errors.New("-c, -rounds and -duration must be positive, -warmup not negative"))
	}
	for _, s := range strings.Split(scen, ",") {
		if !slices.Contains(scenarios, s) {
			errs = append(errs, fmt.Errorf("-scenarios: unknown %q; known: %s", s, strings.Join(scenarios, ",")))
		}
		o.scenarios = append(o.scenarios, s)
	}
	return o, errors.Join(errs...)
}

// target is one of the two servers under test, with its database.
type target struct {
	name string
	dsn  string
	srv  *server
	// offset is the first id of the approve pool not yet used on it.
	offset int
	// size is its database's size in bytes once seeded.
	size int64
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keep {
			fmt.Fprintln(stderr, "kept", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	bin, err := productBinary(ctx, o.binary, dir, stderr)
	if err != nil {
		return err
	}
	product, baseline := &target{name: "product"}, &target{name: "bare"}
	if o.db == "sqlite" {
		product.dsn, baseline.dsn = filepath.Join(dir, "product.db"), filepath.Join(dir, "bare.db")
	} else {
		drop, err := createDatabases(ctx, o.postgresURL, product, baseline)
		defer drop()
		if err != nil {
			return err
		}
	}
	l := layout{n: o.n, agencies: o.agencies}
	p := plan{N: o.n, Agencies: l.tokens()}
	took, err := prepare(ctx, bin, l, p, product, baseline, stderr)
	if err != nil {
		return err
	}
	planFile := filepath.Join(dir, "plan.json")
	b, _ := json.Marshal(p)
	if err := os.WriteFile(planFile, b, 0o600); err != nil {
		return err
	}

	if product.srv, err = startServer(ctx, "datashare", bin, []string{"serve", "--db", product.dsn, "--addr", "127.0.0.1:0"},
		productEnv(), filepath.Join(dir, "product.log")); err != nil {
		return err
	}
	defer product.srv.stop()
	if baseline.srv, err = startServer(ctx, "bare server", self, []string{"bare", "-db", baseline.dsn, "-addr", "127.0.0.1:0"},
		os.Environ(), filepath.Join(dir, "bare.log")); err != nil {
		return err
	}
	defer baseline.srv.stop()

	runs, err := runRounds(ctx, o, l, self, planFile, product, baseline, stderr)
	if err != nil {
		return err
	}
	rep := report{Options: o, Binary: bin, Seeded: took, Runs: runs, ProductDBSize: product.size, BareDBSize: baseline.size}
	rep.ProductRSS, _ = product.srv.peakRSS()
	rep.BareRSS, _ = baseline.srv.peakRSS()
	rep.write(stdout)
	if o.jsonFile != "" {
		b, _ := json.MarshalIndent(rep.jsonView(), "", "  ")
		if err := os.WriteFile(o.jsonFile, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// productBinary is the binary given, or else one built from the checkout
// into dir.
func productBinary(ctx context.Context, given, dir string, stderr io.Writer) (string, error) {
	if given != "" {
		return given, nil
	}
	bin := filepath.Join(dir, "datashare")
	fmt.Fprintln(stderr, "building datashare/cmd/datashare")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "datashare/cmd/datashare")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build datashare: %w", err)
	}
	return bin, nil
}

// prepare has the binary migrate the product's database, then seeds both
// databases and measures them.
func prepare(ctx context.Context, bin string, l layout, p plan, product, baseline *target, stderr io.Writer) (seedTimes, error) {
	var out bytes.Buffer
	migrate := exec.CommandContext(ctx, bin, "migrate", "--db", product.dsn)
	migrate.Env, migrate.Stdout, migrate.Stderr = productEnv(), &out, &out
	if err := migrate.Run(); err != nil {
		return seedTimes{}, fmt.Errorf("datashare migrate: %w\n%s", err, out.String())
	}
	took, err := seed(ctx, product, baseline, l, p, stderr)
	if err != nil {
		return took, err
	}
	for _, t := range []*target{product, baseline} {
		if t.size, err = dbSize(t.dsn); err != nil {
			return took, fmt.Errorf("size of the %s database: %w", t.name, err)
		}
	}
	return took, nil
}

// runRounds measures every scenario on both servers, round after round,
// swapping which server goes first each round.
func runRounds(ctx context.Context, o options, l layout, self, planFile string, product, baseline *target, stderr io.Writer) ([]measurement, error) {
	var runs []measurement
	for round := 1; round <= o.rounds; round++ {
		order := []*target{product, baseline}
		if round%2 == 0 {
			order = []*target{baseline, product}
		}
		for _, sc := range o.scenarios {
			for _, t := range order {
				r, err := drive(ctx, self, planFile, t, sc, o, l.poolShare(t.offset, o.rounds-round+1), stderr)
				if err != nil {
					return nil, fmt.Errorf("round %d, %s, %s: %w", round, sc, t.name, err)
				}
				runs = append(runs, measurement{Round: round, Scenario: sc, Server: t.name, Result: r})
				logResult(stderr, round, sc, t.name, r)
			}
		}
	}
	return runs, nil
}

// productEnv is the environment without DATASHARE_ variables, so that the
// product runs on its defaults whatever the shell holds.
func productEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATASHARE_") {
			env = append(env, kv)
		}
	}
	return env
}

// createDatabases creates an empty database per server next to the one
// base names, and returns what drops them again.
func createDatabases(ctx context.Context, base string, ts ...*target) (func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return func() {}, fmt.Errorf("-postgres-url: %w", err)
	}
	admin, err := openGorm(base)
	if err != nil {
		return func() {}, err
	}
	var created []string
	drop := func() {
		for _, name := range created {
			if err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
				fmt.Fprintln(os.Stderr, "loadbench: drop database:", err)
			}
		}
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	}
	for _, t := range ts {
		name := fmt.Sprintf("loadbench_%d_%s", os.Getpid(), t.name)
		if err := admin.WithContext(ctx).Exec("CREATE DATABASE " + name).Error; err != nil {
			return drop, fmt.Errorf("create database %s: %w", name, err)
		}
		created = append(created, name)
		v := *u
		v.Path = "/" + name
		t.dsn = v.String()
	}
	return drop, nil
}

func openGorm(dsn string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true}
	if bare.IsPostgres(dsn) {
		return gorm.Open(postgres.Open(dsn), cfg)
	}
	q := url.Values{}
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_loc", "UTC")
	g, err := gorm.Open(sqlite.Open("file:"+dsn+"?"+q.Encode()), cfg)
	if err != nil {
		return nil, err
	}
	if sqlDB, err := g.DB(); err == nil {
		sqlDB.SetMaxOpenConns(1)
	}
	return g, nil
}

// seedTimes is how long seeding took.
type seedTimes struct {
	Product time.Duration
	Bare    time.Duration
}

func seed(ctx context.Context, product, baseline *target, l layout, p plan, stderr io.Writer) (seedTimes, error) {
	var out seedTimes
	start := time.Now().UTC().Add(-48 * time.Hour)
	g, err := openGorm(product.dsn)
	if err != nil {
		return out, err
	}
	t0 := time.Now()
	err = seedProduct(ctx, g, l, p.Agencies, start)
	if err == nil {
		err = analyze(ctx, g)
	}
	closeGorm(g)
	if err != nil {
		return out, fmt.Errorf("seed the product's database: %w", err)
	}
	out.Product = time.Since(t0)
	fmt.Fprintf(stderr, "seeded the product's database with %d requests in %.1f s\n", l.n, out.Product.Seconds())

	db, err := bare.Open(baseline.dsn)
	if err != nil {
		return out, err
	}
	defer db.Close()
	t0 = time.Now()
	if err := db.CreateSchema(ctx); err != nil {
		return out, err
	}
	err = seedBare(ctx, db.Write, l, p.Agencies, start)
	if err == nil {
		err = analyze(ctx, db.Write)
	}
	if err != nil {
		return out, fmt.Errorf("seed the bare database: %w", err)
	}
	out.Bare = time.Since(t0)
	fmt.Fprintf(stderr, "seeded the bare database with %d requests in %.1f s\n", l.n, out.Bare.Seconds())
	return out, nil
}

// analyze gives PostgreSQL's planner the statistics autovacuum would
// gather soon after a bulk load. SQLite is left as the product leaves it,
// without sqlite_stat1.
func analyze(ctx context.Context, g *gorm.DB) error {
	if g.Dialector.Name() != "postgres" {
		return nil
	}
	return g.WithContext(ctx).Exec("ANALYZE").Error
}

// dbSize is the size of a database: the SQLite file with its WAL, or what
// PostgreSQL reports for the database.
func dbSize(dsn string) (int64, error) {
	if !bare.IsPostgres(dsn) {
		var n int64
		for _, f := range []string{dsn, dsn + "-wal"} {
			st, err := os.Stat(f)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return 0, err
			}
			n += st.Size()
		}
		return n, nil
	}
	g, err := openGorm(dsn)
	if err != nil {
		return 0, err
	}
	defer closeGorm(g)
	var n int64
	err = g.Raw("SELECT pg_database_size(current_database())").Scan(&n).Error
	return n, err
}

func closeGorm(g *gorm.DB) {
	if sqlDB, err := g.DB(); err == nil {
		sqlDB.Close()
	}
}

// drive runs one measurement in a load-generator process of its own.
func drive(ctx context.Context, self, planFile string, t *target, scenario string, o options, share int, stderr io.Writer) (result, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, self, "drive", "-plan", planFile, "-url", t.srv.url, "-scenario", scenario,
		"-c", fmt.Sprint(o.conns), "-warmup", o.warmup.String(), "-duration", o.duration.String(), "-offset", fmt.Sprint(t.offset), "-share", fmt.Sprint(share))
	cmd.Stdout, cmd.Stderr = &out, stderr
	cmd.SysProcAttr = childAttr()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("load generator: %w", err)
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("load generator answered %q: %w", out.String(), err)
	}
	if scenario == "approve" {
		t.offset = r.NextOffset
	}
	return r, nil
}

func logResult(w io.Writer, round int, scenario, server string, r result) {
	fmt.Fprintf(w, "round %d %-15s %-8s %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  non-2xx %d",
		round, scenario, server, r.RPS, r.P50ms, r.P99ms, r.Non2xx)
	if r.Exhausted {
		fmt.Fprintf(w, "  (approve pool used up after %.1f s)", r.Seconds)
	}
	if r.Sample != "" {
		fmt.Fprintf(w, "  first: %s", r.Sample)
	}
	fmt.Fprintln(w)
}
