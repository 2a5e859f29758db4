package framework

import (
	"errors"
	"fmt"
	"unsafe"

	"k8s.io/apimachinery/pkg/util/sets"
)

// ErrNotFound is returned by CycleState.Read for a key never written.
var ErrNotFound = errors.New("framework: state not found")

// StateData is what a plugin keeps in the CycleState between extension
// points; Clone lets preemption try "what if" per node.
type StateData interface {
	Clone() StateData
}

// StateKey names one plugin's data.
type StateKey string

// CycleState holds plugin data for one scheduling cycle of one pod. Plugins
// write it in PreFilter and PreScore (sequential) and read it from the
// parallel Filter and Score calls; it needs no lock.
type CycleState struct {
	// data holds a dozen entries at most: Filter and Score read it for
	// every node, and scanning it for the key (the same constant string,
	// so a pointer compare) costs less than hashing the key for a map.
	data []stateEntry
	// SkipFilterPlugins and SkipScorePlugins are the plugins whose
	// PreFilter/PreScore returned Skip.
	SkipFilterPlugins sets.Set[string]
	SkipScorePlugins  sets.Set[string]
	// filters are the filter plugins to run this cycle (PreFilter did not
	// skip them); nil until PreFilter ran.
	filters []FilterPlugin
}

type stateEntry struct {
	key StateKey
	val StateData
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: make([]stateEntry, 0, 8)}
}

// Read returns the data under key.
func (c *CycleState) Read(key StateKey) (StateData, error) {
	// Plugins read with the constant they wrote with: the same bytes in
	// memory, recognised without comparing them (Filter and Score read
	// several times per node). Other keys of the same text are compared
	// in full.
	p := unsafe.StringData(string(key))
	for i := range c.data {
		if k := c.data[i].key; len(k) == len(key) && unsafe.StringData(string(k)) == p {
			return c.data[i].val, nil
		}
	}
	for i := range c.data {
		if c.data[i].key == key {
			return c.data[i].val, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
}

// Write stores data under key.
func (c *CycleState) Write(key StateKey, v StateData) {
	for i := range c.data {
		if c.data[i].key == key {
			c.data[i].val = v
			return
		}
	}
	c.data = append(c.data, stateEntry{key: key, val: v})
}

// Clone deep-copies every plugin's data.
func (c *CycleState) Clone() *CycleState {
	n := &CycleState{data: make([]stateEntry, len(c.data)),
		SkipFilterPlugins: c.SkipFilterPlugins.Clone(), SkipScorePlugins: c.SkipScorePlugins.Clone(), filters: c.filters}
	for i, e := range c.data {
		n.data[i] = stateEntry{key: e.key, val: e.val.Clone()}
	}
	return n
}
