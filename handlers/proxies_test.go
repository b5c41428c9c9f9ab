package handlers

import (
	"net/http"
	"testing"
)

func TestTrustedProxiesSetting(t *testing.T) {
	p, err := ParseProxies(" 10.0.0.5, 192.168.0.0/16,2001:db8::/32,, ")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.MarshalText(); string(got) != "10.0.0.5/32,192.168.0.0/16,2001:db8::/32" {
		t.Errorf("MarshalText: %q", got)
	}
	for remote, want := range map[string]bool{
		"10.0.0.5:4711":          true,
		"10.0.0.6:4711":          false,
		"192.168.3.4:80":         true,
		"[::ffff:10.0.0.5]:80":   true, // IPv4 on a dual-stack listener
		"[2001:db8::1]:443":      true,
		"[2001:db9::1]:443":      false,
		"127.0.0.1:5000":         false, // loopback is not trusted unless named
		"[fe80::1%eth0]:5000":    false,
		"@":                      false, // a unix socket
		"not an address":         false,
		"[2001:db8::1%eth0]:443": true,
	} {
		if got := p.TrustsPeer(&http.Request{RemoteAddr: remote}); got != want {
			t.Errorf("TrustsPeer(%q) = %v, want %v", remote, got, want)
		}
	}
	if none, _ := ParseProxies(""); none.TrustsPeer(&http.Request{RemoteAddr: "127.0.0.1:1"}) {
		t.Error("the default trusts loopback")
	}
	for _, bad := range []string{"proxy.example", "10.0.0.0/33", "10.0.0.1:80"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) accepted it", bad)
		}
	}
}
