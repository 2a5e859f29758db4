package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// maxSubnetBits bounds how many node ranges one cluster CIDR may be cut
// into (2^16, as upstream).
const maxSubnetBits = 16

// errOutside is returned for a CIDR that is not inside the cluster CIDR.
var errOutside = errors.New("nodeipam: CIDR is outside the cluster CIDR")

// cidrSet cuts a cluster CIDR into equal node ranges and records which node
// holds each. It is not safe for concurrent use; the controller's mutex
// guards it.
type cidrSet struct {
	cluster  netip.Prefix
	maskSize int
	// owner is the node holding each range, "" when free.
	owner []string
}

// newCIDRSet returns the ranges of prefix length maskSize in cluster.
func newCIDRSet(cluster netip.Prefix, maskSize int) (*cidrSet, error) {
	cluster = cluster.Masked()
	if maskSize < cluster.Bits() || maskSize > cluster.Addr().BitLen() {
		return nil, fmt.Errorf("node CIDR mask size %d must be between the cluster CIDR's prefix length %d and %d",
			maskSize, cluster.Bits(), cluster.Addr().BitLen())
	}
	if maskSize-cluster.Bits() > maxSubnetBits {
		return nil, fmt.Errorf("node CIDR mask size %d cuts %s into more than 2^%d ranges", maskSize, cluster, maxSubnetBits)
	}
	return &cidrSet{cluster: cluster, maskSize: maskSize, owner: make([]string, 1<<(maskSize-cluster.Bits()))}, nil
}

// prefix returns range i.
func (s *cidrSet) prefix(i int) netip.Prefix {
	base := new(big.Int).SetBytes(s.cluster.Addr().AsSlice())
	off := new(big.Int).Lsh(big.NewInt(int64(i)), uint(s.cluster.Addr().BitLen()-s.maskSize))
	buf := base.Add(base, off).FillBytes(make([]byte, s.cluster.Addr().BitLen()/8))
	addr, _ := netip.AddrFromSlice(buf)
	return netip.PrefixFrom(addr, s.maskSize)
}

// indices returns the ranges p overlaps: the one containing it when it is
// narrower than a range, every range it covers when it is wider.
func (s *cidrSet) indices(p netip.Prefix) ([]int, error) {
	p = p.Masked()
	if p.Addr().BitLen() != s.cluster.Addr().BitLen() || p.Bits() < s.cluster.Bits() || !s.cluster.Contains(p.Addr()) {
		return nil, errOutside
	}
	bits := s.cluster.Addr().BitLen()
	base := new(big.Int).SetBytes(s.cluster.Addr().AsSlice())
	off := new(big.Int).SetBytes(p.Addr().AsSlice())
	first := int(off.Sub(off, base).Rsh(off, uint(bits-s.maskSize)).Int64())
	count := 1
	if p.Bits() < s.maskSize {
		count = 1 << (s.maskSize - p.Bits())
	}
	out := make([]int, count)
	for i := range out {
		out[i] = first + i
	}
	return out, nil
}

// allocate gives the lowest free range to node; false when none is free.
func (s *cidrSet) allocate(node string) (int, bool) {
	for i, o := range s.owner {
		if o == "" {
			s.owner[i] = node
			return i, true
		}
	}
	return 0, false
}

// free releases the ranges node holds among idx.
func (s *cidrSet) free(node string, idx []int) {
	for _, i := range idx {
		if s.owner[i] == node {
			s.owner[i] = ""
		}
	}
}
