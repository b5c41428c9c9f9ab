package handlers

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies (-trusted-proxies) whose forwarding headers are believed:
// X-Forwarded-For for the client's IP, X-Forwarded-Proto for the scheme. From any other
// peer those headers are ignored, so a client cannot choose the IP the Extraction Logs show
// and the sign-in throttle counts, nor the scheme of the webhook URLs it is shown.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies reads a comma-separated list of IPs and CIDRs, e.g. "10.0.0.1, 192.168.0.0/16".
func ParseProxies(s string) (Proxies, error) {
	var p Proxies
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(part)
		if err != nil {
			addr, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return Proxies{}, fmt.Errorf("%q is neither an IP nor a CIDR", part)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		p.prefixes = append(p.prefixes, prefix.Masked())
	}
	return p, nil
}

// UnmarshalText lets the list be a flag (flag.TextVar) and an environment variable.
func (p *Proxies) UnmarshalText(b []byte) error {
	parsed, err := ParseProxies(string(b))
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}

// MarshalText writes the list back as ParseProxies reads it.
func (p Proxies) MarshalText() ([]byte, error) {
	parts := make([]string, len(p.prefixes))
	for i, prefix := range p.prefixes {
		parts[i] = prefix.String()
	}
	return []byte(strings.Join(parts, ",")), nil
}

// Networks are the trusted ranges, for Echo's IP and scheme extractors.
func (p Proxies) Networks() []*net.IPNet {
	nets := make([]*net.IPNet, len(p.prefixes))
	for i, prefix := range p.prefixes {
		nets[i] = &net.IPNet{IP: prefix.Addr().AsSlice(), Mask: net.CIDRMask(prefix.Bits(), prefix.Addr().BitLen())}
	}
	return nets
}

// TrustsPeer reports whether the request's direct peer is one of the trusted proxies.
func (p Proxies) TrustsPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, prefix := range p.prefixes {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// forwarded reports whether a request carries any proxy's forwarding headers.
func forwarded(r *http.Request) bool {
	for _, name := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "Forwarded", "Via"} {
		if r.Header.Get(name) != "" {
			return true
		}
	}
	return false
}
