package nodeipam

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestCIDRSet(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cluster     string
		mask        int
		wantFirst   string
		wantLast    string
		probe       string
		wantIndices string
		wantOutside bool
	}{
		{name: "ipv4", cluster: "10.42.0.0/16", mask: 24, wantFirst: "10.42.0.0/24", wantLast: "10.42.255.0/24",
			probe: "10.42.7.0/24", wantIndices: "[7]"},
		{name: "ipv4 wider probe", cluster: "10.42.0.0/16", mask: 24, wantFirst: "10.42.0.0/24", wantLast: "10.42.255.0/24",
			probe: "10.42.4.0/23", wantIndices: "[4 5]"},
		{name: "ipv4 narrower probe", cluster: "10.42.0.0/16", mask: 24, wantFirst: "10.42.0.0/24", wantLast: "10.42.255.0/24",
			probe: "10.42.9.128/25", wantIndices: "[9]"},
		{name: "ipv4 outside", cluster: "10.42.0.0/16", mask: 24, wantFirst: "10.42.0.0/24", wantLast: "10.42.255.0/24",
			probe: "10.43.0.0/24", wantOutside: true},
		{name: "ipv6", cluster: "fd00:42::/56", mask: 64, wantFirst: "fd00:42::/64", wantLast: "fd00:42:0:ff::/64",
			probe: "fd00:42:0:1a::/64", wantIndices: "[26]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newCIDRSet(netip.MustParsePrefix(tc.cluster), tc.mask)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.prefix(0).String(); got != tc.wantFirst {
				t.Errorf("first range %s, want %s", got, tc.wantFirst)
			}
			if got := s.prefix(len(s.owner) - 1).String(); got != tc.wantLast {
				t.Errorf("last range %s, want %s", got, tc.wantLast)
			}
			idx, err := s.indices(netip.MustParsePrefix(tc.probe))
			if tc.wantOutside {
				if err == nil {
					t.Errorf("indices(%s) = %v, want outside", tc.probe, idx)
				}
				return
			}
			if err != nil || fmt.Sprint(idx) != tc.wantIndices {
				t.Errorf("indices(%s) = %v, %v, want %s", tc.probe, idx, err, tc.wantIndices)
			}
		})
	}
}
