package framework_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

type counter struct{ n int }

func (c *counter) Clone() framework.StateData { return &counter{n: c.n} }

func TestCycleState(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		read   string
		// want is the n of the counter read (the index of its last write);
		// -1: not found.
		want int
	}{
		{name: "missing", read: "a", want: -1},
		{name: "one", writes: []string{"a"}, read: "a", want: 0},
		{name: "among many", writes: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, read: "g", want: 6},
		{name: "overwritten", writes: []string{"a", "b", "a"}, read: "a", want: 2},
		{name: "other keys only", writes: []string{"a", "b"}, read: "c", want: -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := framework.NewCycleState()
			for i, k := range tc.writes {
				s.Write(framework.StateKey(k), &counter{n: i})
			}
			for _, st := range []*framework.CycleState{s, s.Clone()} {
				d, err := st.Read(framework.StateKey(tc.read))
				switch {
				case tc.want < 0 && !errors.Is(err, framework.ErrNotFound):
					t.Errorf("Read(%s) = %v, %v; want ErrNotFound", tc.read, d, err)
				case tc.want >= 0 && (err != nil || d.(*counter).n != tc.want):
					t.Errorf("Read(%s) = %v, %v; want counter %d", tc.read, d, err, tc.want)
				}
			}
		})
	}
	// A key with the text of a written one but other bytes in memory (not
	// the constant the plugin wrote with) still finds the data.
	s := framework.NewCycleState()
	s.Write("PreFilterA", &counter{n: 1})
	s.Write("PreFilterB", &counter{n: 2})
	if d, err := s.Read(framework.StateKey(strings.Clone("PreFilterB"))); err != nil || d.(*counter).n != 2 {
		t.Errorf("Read of a copied key = %v, %v; want counter 2", d, err)
	}
	s = framework.NewCycleState()
	s.Write("a", &counter{n: 1})
	c := s.Clone()
	d, _ := c.Read("a")
	d.(*counter).n = 5
	if d, _ := s.Read("a"); d.(*counter).n != 1 {
		t.Errorf("changing a clone's data changed the original: %d", d.(*counter).n)
	}
}
