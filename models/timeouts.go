package models

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// silenceMargin is how much longer than the statement timeout a server may
// stay silent before its connection is taken for gone: the server ends a
// slow statement with its own error at the timeout, so only a server (or a
// network) that stopped answering altogether stays silent past it.
const silenceMargin = time.Second

// bounds returns what sets the timeouts on each new PostgreSQL connection
// of one pool: pgx gives up on a connection that is not ready within
// ConnectTimeout, the server cancels statements at StatementTimeout, and a
// connection gives up on a server silent for longer than that. Without the
// last, a frozen server holds every request, and its connection, for as
// long as TCP retries.
func (o Options) bounds() func(context.Context, *pgx.ConnConfig) error {
	s := &silence{limit: o.StatementTimeout + silenceMargin, window: o.ConnectTimeout}
	return func(_ context.Context, cfg *pgx.ConnConfig) error {
		cfg.ConnectTimeout = o.ConnectTimeout
		// cfg is a shallow copy: the map is shared by every connection.
		params := maps.Clone(cfg.RuntimeParams)
		if params == nil {
			params = map[string]string{}
		}
		params["statement_timeout"] = strconv.FormatInt(max(o.StatementTimeout.Milliseconds(), 1), 10)
		cfg.RuntimeParams = params
		dial := cfg.DialFunc
		if dial == nil {
			dial = (&net.Dialer{KeepAlive: 5 * time.Minute}).DialContext
		}
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if s.recent() {
				return nil, s.err()
			}
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &silenceGuard{Conn: c, s: s}, nil
		}
		return nil
	}
}

// silence is what the connections of one pool know of their server: when
// one of them last waited past the limit for an answer. For the window
// after that, the others give up at once instead of each waiting the limit
// again, and no new connection is tried: the server is taken for gone for
// that long, and a call answers at once rather than after the limit.
type silence struct {
	limit, window time.Duration
	last          atomic.Int64 // Unix nanoseconds; 0 for never
}

func (s *silence) recent() bool {
	last := s.last.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < s.window
}

func (s *silence) err() error { return &silentError{limit: s.limit} }

// silentError is a timeout, as pgx and Fault classify network errors.
type silentError struct{ limit time.Duration }

func (e *silentError) Error() string {
	return fmt.Sprintf("the database server sent nothing for %s", e.limit)
}
func (e *silentError) Timeout() bool   { return true }
func (e *silentError) Temporary() bool { return true }

// silenceGuard is a connection whose every read gives up once the server
// has sent nothing for the limit, unless pgx asked for an earlier deadline
// (to interrupt a cancelled query), which it keeps. A connection waits on a
// read only while it expects an answer, so an idle connection never trips
// it.
type silenceGuard struct {
	net.Conn
	s *silence

	mu       sync.Mutex
	deadline time.Time // the read deadline pgx set; zero for none
}

func (c *silenceGuard) Read(b []byte) (int, error) {
	if c.s.recent() {
		return 0, c.s.err()
	}
	c.mu.Lock()
	d, own := c.readDeadline()
	err := c.Conn.SetReadDeadline(d)
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if own && errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		_, own = c.readDeadline()
		c.mu.Unlock()
		if own {
			c.s.last.Store(time.Now().UnixNano())
			return n, c.s.err()
		}
	}
	return n, err
}

// readDeadline is the earlier of pgx's deadline and the guard's, and
// whether it is the guard's; c.mu is held.
func (c *silenceGuard) readDeadline() (time.Time, bool) {
	d := time.Now().Add(c.s.limit)
	if !c.deadline.IsZero() && c.deadline.Before(d) {
		return c.deadline, false
	}
	return d, true
}

func (c *silenceGuard) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	d, _ := c.readDeadline()
	return c.Conn.SetReadDeadline(d)
}

func (c *silenceGuard) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	d, _ := c.readDeadline()
	return c.Conn.SetReadDeadline(d)
}
