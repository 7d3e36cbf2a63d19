package modelstest

import (
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on the loopback between the service and a real
// database server, which a test makes refuse connections (a host that is
// down) or freeze (a host that accepts and then answers nothing), so that
// an outage is real networking without stopping a server other tests use.
type Proxy struct {
	tb     testing.TB
	target string
	addr   string

	mu    sync.Mutex
	cond  *sync.Cond
	state proxyState
	ln    net.Listener
	conns map[net.Conn]bool
}

type proxyState int

const (
	flowing proxyState = iota
	frozen
	refusing
	closed
)

// StartProxy listens on 127.0.0.1 and forwards every connection to target
// (host:port) until tb ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy: %v", err)
	}
	p := &Proxy{tb: tb, target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	p.serve(ln)
	tb.Cleanup(func() { p.set(closed) })
	return p
}

// ProxyDSN is dsn, a postgres:// URL, with its host replaced by a Proxy to
// it, and the proxy.
func ProxyDSN(tb testing.TB, dsn string) (string, *Proxy) {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("proxy: parse %s: %v", dsn, err)
	}
	p := StartProxy(tb, u.Host)
	u.Host = p.Addr()
	return u.String(), p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Refuse closes every connection and the listener: new connections are
// refused by the operating system until Resume.
func (p *Proxy) Refuse() { p.set(refusing) }

// Freeze stops forwarding: open connections carry nothing further and new
// ones are accepted but never reach the server, until Resume.
func (p *Proxy) Freeze() { p.set(frozen) }

// Resume forwards again, on the same address; what a frozen connection
// held is delivered.
func (p *Proxy) Resume() {
	p.mu.Lock()
	relisten := p.state == refusing
	p.mu.Unlock()
	if relisten {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			p.tb.Errorf("proxy: listen again on %s: %v", p.addr, err)
			return
		}
		p.serve(ln)
	}
	p.set(flowing)
}

func (p *Proxy) set(s proxyState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == closed {
		return
	}
	p.state = s
	if s == refusing || s == closed {
		if p.ln != nil {
			p.ln.Close()
			p.ln = nil
		}
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
	p.cond.Broadcast()
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.link(c)
		}
	}()
}

// track records c so that Refuse closes it; it reports false, having
// closed c, when the proxy no longer forwards.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == refusing || p.state == closed {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

// flows waits while the proxy is frozen and reports whether it forwards.
func (p *Proxy) flows() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.state == frozen {
		p.cond.Wait()
	}
	return p.state == flowing
}

func (p *Proxy) link(client net.Conn) {
	if !p.track(client) || !p.flows() {
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(server) {
		client.Close()
		return
	}
	go p.pipe(server, client)
	p.pipe(client, server)
}

// pipe copies src to dst, holding each chunk while the proxy is frozen,
// and closes both when either ends.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.untrack(dst, src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.flows() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}
