package notifications_test

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"datashare/notifications"
)

func TestParseAllowList(t *testing.T) {
	for _, c := range []struct {
		in, want string // want: the list written back
	}{
		{"", ""},
		{" , ", ""},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.0.0.0/8, 127.0.0.1/32:9000", "10.0.0.0/8,127.0.0.1/32:9000"},
		{"127.0.0.1:9000", "127.0.0.1/32:9000"},
		{"10.1.0.0/16:8000-8099", "10.1.0.0/16:8000-8099"},
		{"fd00::/8", "fd00::/8"},
		{"[fd00::/8]:443", "[fd00::/8]:443"},
		{"[::1]:8080", "[::1/128]:8080"},
		{"::1", "::1/128"},
	} {
		a, err := notifications.ParseAllowList(c.in)
		if err != nil {
			t.Errorf("ParseAllowList(%q): %v", c.in, err)
			continue
		}
		if got := a.String(); got != c.want {
			t.Errorf("ParseAllowList(%q).String(): got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseAllowListRefuses(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"10.0.0.0/33", "not an address range"},
		{"10.1.2.3/8", "did you mean 10.0.0.0/8"},
		{"intranet.gov.sg", "not an address"},
		{"10.0.0.0/8:", "no port"},
		{"10.0.0.0/8:0", "1 to 65535"},
		{"10.0.0.0/8:65536", "1 to 65535"},
		{"10.0.0.0/8:http", "1 to 65535"},
		{"10.0.0.0/8:9000-8000", "runs backwards"},
		{"[fd00::/8", "no closing ]"},
		{"[fd00::/8]443", "only :PORT"},
		{"fe80::1%eth0", "zone"},
		{"::ffff:10.0.0.0/104", "as IPv4"},
		{"10.0.0.0/8,*", `"*"`},
	} {
		_, err := notifications.ParseAllowList(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAllowList(%q): got %v, want an error containing %q", c.in, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "10.0.0.0/8,127.0.0.1/32:9000") {
			t.Errorf("ParseAllowList(%q): error %q does not show the syntax", c.in, err)
		}
	}
}

func TestGuardAllowsPublicAndListedAddressesOnly(t *testing.T) {
	g := mustGuard("10.20.0.0/16, 127.0.0.1/32:9000, [fd00::/8]:443-444")
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.215.14:443", true},  // public
		{"93.184.215.14:8443", true}, // public, any port
		{"[2606:4700::1111]:443", true},
		{"10.20.3.4:80", true},
		{"10.20.3.4:5432", true},
		{"10.21.0.1:80", false}, // private, outside the listed range
		{"127.0.0.1:9000", true},
		{"[::ffff:127.0.0.1]:9000", true}, // the same address written as IPv6
		{"127.0.0.1:9001", false},
		{"127.0.0.2:9000", false},
		{"[::1]:9000", false},
		{"[fd00::5]:443", true},
		{"[fd00::5]:444", true},
		{"[fd00::5]:445", false},
		{"169.254.169.254:80", false},
		{"192.168.1.1:80", false},
		{"172.16.0.1:80", false},
		{"100.64.0.1:80", false},
		{"0.0.0.0:80", false},
		{"[fe80::1]:80", false},
		{"[::ffff:169.254.169.254]:80", false},
		{"[64:ff9b::7f00:1]:80", false}, // NAT64 of 127.0.0.1
	} {
		err := g.Check(netip.MustParseAddrPort(c.addr))
		if (err == nil) != c.ok {
			t.Errorf("Check(%s): got %v, want allowed %v", c.addr, err, c.ok)
		}
	}
}

// TestGuardReadsTheHostOfAURL: registration refuses an internal address
// in every form a resolver would accept for it.
func TestGuardReadsTheHostOfAURL(t *testing.T) {
	g := mustGuard("127.0.0.1/32:9000")
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:9000/hook", true},
		{"http://127.0.0.1/hook", false},
		{"http://127.0.0.1:9001/", false},
		{"https://127.0.0.1.:9000/", true},
		{"http://169.254.169.254/latest/meta-data/", false},
		{"http://[::1]/", false},
		{"http://[::ffff:127.0.0.1]/", false},
		{"http://[::ffff:127.0.0.1]:9000/", true},
		{"http://2130706433/", false},
		{"http://2130706433:9000/", true}, // 127.0.0.1
		{"http://0x7f000001/", false},
		{"http://0177.0.0.1/", false},
		{"http://127.1/", false},
		{"http://0x7f.1:9000/", true},
		{"http://10.0.0.5/", false},
		{"http://172.16.0.1/", false},
		{"http://192.168.1.1/", false},
		{"http://0.0.0.0/", false},
		{"http://[fe80::1%25eth0]/", false},
		{"http://[fd00::1]/", false},
		{"http://localhost/", false},
		{"http://LOCALHOST:9000/", false}, // ::1 is not allowed
		{"http://api.localhost/", false},
		{"https://93.184.215.14/", true},
		{"https://hooks.example.test/", true}, // a name is judged when dialled
		{"http://10.0.0.5.example.test/", true},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", c.url, err)
		}
		err = g.CheckURL(u)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%s): got %v, want allowed %v", c.url, err, c.ok)
		}
	}
}
