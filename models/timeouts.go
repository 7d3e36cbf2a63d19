package models

import (
	"context"
	"maps"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// silenceMargin is how much longer than the statement timeout a server may
// stay silent before its connection is taken for gone: the server ends a
// slow statement with its own error at the timeout, so only a server (or a
// network) that stopped answering altogether stays silent past it.
const silenceMargin = time.Second

// bound sets the timeouts on each new PostgreSQL connection: pgx gives up
// on a connection that is not ready within ConnectTimeout, the server
// cancels statements at StatementTimeout, and the connection gives up on a
// server silent for longer than that. Without the last, a frozen server
// holds every request, and its connection, for as long as TCP retries.
func (o Options) bound(_ context.Context, cfg *pgx.ConnConfig) error {
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
	limit := o.StatementTimeout + silenceMargin
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &silenceGuard{Conn: c, limit: limit}, nil
	}
	return nil
}

// silenceGuard is a connection whose every read gives up once the server
// has sent nothing for limit, unless pgx asked for an earlier deadline (to
// interrupt a cancelled query), which it keeps. A connection waits on a read
// only while it expects an answer, so an idle connection never trips it.
type silenceGuard struct {
	net.Conn
	limit time.Duration

	mu       sync.Mutex
	deadline time.Time // the read deadline pgx set; zero for none
}

func (c *silenceGuard) Read(b []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetReadDeadline(c.readDeadline())
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

// readDeadline is the earlier of pgx's deadline and the guard's; c.mu is
// held.
func (c *silenceGuard) readDeadline() time.Time {
	d := time.Now().Add(c.limit)
	if !c.deadline.IsZero() && c.deadline.Before(d) {
		return c.deadline
	}
	return d
}

func (c *silenceGuard) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(c.readDeadline())
}

func (c *silenceGuard) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetReadDeadline(c.readDeadline())
}
