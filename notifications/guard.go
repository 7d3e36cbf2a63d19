package notifications

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"code.dny.dev/ssrf"
)

// ErrRefused is what a webhook delivery fails with when its receiver's
// address is neither public nor allowed by the operator.
var ErrRefused = errors.New("refused by policy")

// AllowList is the internal addresses an operator lets webhooks reach
// besides the public ones (DATASHARE_WEBHOOK_ALLOW): address ranges, each
// on every port or on the ports it names. The zero value allows none.
type AllowList struct{ rules []allowRule }

type allowRule struct {
	prefix netip.Prefix
	lo, hi uint16 // ports from lo to hi; 0 for every port
}

// ParseAllowList reads a comma-separated list of ranges, each written as
//
//	10.0.0.0/8          every port of a range
//	127.0.0.1/32:9000   one port of it (a bare address is a range of one)
//	10.1.0.0/16:8000-8099
//	fd00::/8            IPv6, every port
//	[fd00::/8]:443      IPv6 with ports, in brackets
//
// An empty string allows no internal address.
func ParseAllowList(s string) (AllowList, error) {
	var a AllowList
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		r, err := parseAllowRule(entry)
		if err != nil {
			return AllowList{}, fmt.Errorf("%q: %w; write ranges like 10.0.0.0/8,127.0.0.1/32:9000,[fd00::/8]:443", entry, err)
		}
		a.rules = append(a.rules, r)
	}
	return a, nil
}

func parseAllowRule(entry string) (allowRule, error) {
	addr, ports := entry, ""
	switch {
	case strings.HasPrefix(entry, "["):
		end := strings.Index(entry, "]")
		if end < 0 {
			return allowRule{}, errors.New("no closing ]")
		}
		addr, ports = entry[1:end], entry[end+1:]
		if ports != "" {
			if !strings.HasPrefix(ports, ":") {
				return allowRule{}, errors.New("only :PORT or :FROM-TO may follow ]")
			}
			ports = ports[1:]
			if ports == "" {
				return allowRule{}, errors.New("no port after the colon")
			}
		}
	case strings.Count(entry, ":") == 1: // IPv4 with ports; IPv6 has more colons
		addr, ports, _ = strings.Cut(entry, ":")
		if ports == "" {
			return allowRule{}, errors.New("no port after the colon")
		}
	}
	var r allowRule
	var err error
	if strings.Contains(addr, "/") {
		if r.prefix, err = netip.ParsePrefix(addr); err != nil {
			return allowRule{}, errors.New("not an address range")
		}
		if r.prefix != r.prefix.Masked() {
			return allowRule{}, fmt.Errorf("%s is not the start of its range; did you mean %s?", addr, r.prefix.Masked())
		}
	} else {
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return allowRule{}, errors.New("not an address or an address range")
		}
		if ip.Zone() != "" {
			return allowRule{}, errors.New("an IPv6 zone cannot be allowed")
		}
		r.prefix = netip.PrefixFrom(ip, ip.BitLen())
	}
	if r.prefix.Addr().Is4In6() {
		return allowRule{}, errors.New("write an IPv4-mapped range as IPv4")
	}
	if ports == "" {
		return r, nil
	}
	from, to, isRange := strings.Cut(ports, "-")
	if r.lo, err = parsePort(from); err != nil {
		return allowRule{}, err
	}
	r.hi = r.lo
	if isRange {
		if r.hi, err = parsePort(to); err != nil {
			return allowRule{}, err
		}
		if r.hi < r.lo {
			return allowRule{}, fmt.Errorf("port range %s runs backwards", ports)
		}
	}
	return r, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// Allows reports whether the operator allows ip on port. An IPv4 address
// written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is.
func (a AllowList) Allows(ip netip.Addr, port uint16) bool {
	ip = ip.Unmap().WithZone("")
	for _, r := range a.rules {
		if r.prefix.Contains(ip) && (r.lo == 0 || r.lo <= port && port <= r.hi) {
			return true
		}
	}
	return false
}

// String writes the list back in the form ParseAllowList reads.
func (a AllowList) String() string {
	out := make([]string, len(a.rules))
	for i, r := range a.rules {
		s := r.prefix.String()
		if r.lo != 0 {
			if r.prefix.Addr().Is6() {
				s = "[" + s + "]"
			}
			s += ":" + strconv.Itoa(int(r.lo))
			if r.hi != r.lo {
				s += "-" + strconv.Itoa(int(r.hi))
			}
		}
		out[i] = s
	}
	return strings.Join(out, ",")
}

// Guard decides which addresses webhooks may reach: public unicast
// addresses on any port, and what the operator's AllowList names. It
// judges the address actually dialled, after name resolution, so that a
// name which resolves to an internal address (or is changed to resolve to
// one after registration) is refused too.
type Guard struct {
	allow  AllowList
	public *ssrf.Guardian
}

// NewGuard returns a Guard allowing public addresses and those of allow.
func NewGuard(allow AllowList) *Guard {
	return &Guard{allow: allow, public: ssrf.New(ssrf.WithAnyPort())}
}

// Check returns an error wrapping ErrRefused unless a webhook may connect
// to ap.
func (g *Guard) Check(ap netip.AddrPort) error {
	if g.allow.Allows(ap.Addr(), ap.Port()) {
		return nil
	}
	if err := g.public.SafeAddrPort(ap); err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return nil
}

// control is a net.Dialer's Control: it runs once the address is
// resolved and before anything is sent.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %s", ErrRefused, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: address %q", ErrRefused, address)
	}
	return g.Check(ap)
}

// CheckURL refuses a webhook URL whose host is written as an address the
// guard refuses, in any of the forms resolvers accept (2130706433,
// 0x7f.1, [::ffff:127.0.0.1]), or is localhost. A name is judged only
// when it is dialled.
func (g *Guard) CheckURL(u *url.URL) error {
	port := uint16(80)
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		port = uint16(n)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = append(ips, ip)
	} else if ip, ok := parseLegacyIPv4(host); ok {
		ips = append(ips, ip)
	} else if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		ips = append(ips, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
	}
	for _, ip := range ips {
		if err := g.Check(netip.AddrPortFrom(ip.WithZone(""), port)); err != nil {
			return err
		}
	}
	return nil
}

// parseLegacyIPv4 reads an IPv4 address in the forms of inet_aton, which
// many resolvers still accept: one to four parts, each decimal, octal
// (leading 0) or hexadecimal (leading 0x), the last filling the bytes
// left, as in 2130706433, 0x7f000001, 0177.1 or 127.1.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			p, base = p[2:], 16
		case len(p) > 1 && p[0] == '0':
			p, base = p[1:], 8
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}
