package registry

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"strconv"

	"github.com/skiffhq/skiff/internal/storage"
)

// Allocator hands out unique values from a range (cluster IPs, node ports).
// Reservations are keys in storage, so several API servers share one range.
type Allocator interface {
	// Allocate reserves want, or any free value when want is "".
	Allocate(ctx context.Context, want string) (string, error)
	// Release frees a value; releasing a free value is not an error.
	Release(ctx context.Context, value string) error
	// Contains reports whether value belongs to the range.
	Contains(value string) bool
}

// ErrAllocated means the requested value is already in use.
var ErrAllocated = errors.New("registry: provided value is already allocated")

// ErrFull means the range has no free value left (or none was found).
var ErrFull = errors.New("registry: range is full")

// rangeAllocator allocates from [first, first+size) with values rendered by
// format.
type rangeAllocator struct {
	store  storage.Interface
	prefix string
	size   int64
	first  int64
	format func(int64) string
	parse  func(string) (int64, bool)
}

// NewPortAllocator allocates ports in [lo, hi].
func NewPortAllocator(s storage.Interface, name string, lo, hi int) Allocator {
	return &rangeAllocator{
		store: s, prefix: "/registry/ranges/" + name + "/", first: int64(lo), size: int64(hi - lo + 1),
		format: func(n int64) string { return strconv.FormatInt(n, 10) },
		parse: func(v string) (int64, bool) {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		},
	}
}

// NewIPAllocator allocates IPv4 addresses of cidr, skipping the network
// address (the first usable one is handed out only when asked for).
func NewIPAllocator(s storage.Interface, name string, cidr netip.Prefix) Allocator {
	base := new(big.Int).SetBytes(cidr.Masked().Addr().AsSlice()).Int64()
	bits := cidr.Addr().BitLen() - cidr.Bits()
	return &rangeAllocator{
		store: s, prefix: "/registry/ranges/" + name + "/", first: base + 1, size: (int64(1) << bits) - 2,
		format: func(n int64) string {
			var b [4]byte
			for i := 3; i >= 0; i-- {
				b[i] = byte(n)
				n >>= 8
			}
			return netip.AddrFrom4(b).String()
		},
		parse: func(v string) (int64, bool) {
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is4() || !cidr.Contains(a) {
				return 0, false
			}
			return new(big.Int).SetBytes(a.AsSlice()).Int64(), true
		},
	}
}

func (a *rangeAllocator) Contains(v string) bool {
	n, ok := a.parse(v)
	return ok && n >= a.first && n < a.first+a.size
}

func (a *rangeAllocator) Allocate(ctx context.Context, want string) (string, error) {
	if want != "" {
		if !a.Contains(want) {
			return "", fmt.Errorf("%s is not in the allocation range", want)
		}
		return want, a.reserve(ctx, want)
	}
	// Random probes first (cheap while the range is sparse), then a scan
	// from a random offset.
	for i := 0; i < 32; i++ {
		v := a.format(a.first + rand.Int64N(a.size))
		if err := a.reserve(ctx, v); err == nil {
			return v, nil
		} else if !errors.Is(err, ErrAllocated) {
			return "", err
		}
	}
	used, err := a.store.List(ctx, a.prefix, storage.ListOptions{})
	if err != nil {
		return "", err
	}
	taken := make(map[string]bool, len(used.Items))
	for _, kv := range used.Items {
		taken[kv.Key[len(a.prefix):]] = true
	}
	start := rand.Int64N(a.size)
	for i := int64(0); i < a.size; i++ {
		v := a.format(a.first + (start+i)%a.size)
		if taken[v] {
			continue
		}
		if err := a.reserve(ctx, v); err == nil {
			return v, nil
		}
	}
	return "", ErrFull
}

func (a *rangeAllocator) reserve(ctx context.Context, v string) error {
	_, err := a.store.Create(ctx, a.prefix+v, []byte(v))
	if errors.Is(err, storage.ErrKeyExists) {
		return ErrAllocated
	}
	return err
}

func (a *rangeAllocator) Release(ctx context.Context, v string) error {
	_, err := a.store.Delete(ctx, a.prefix+v, 0)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}
