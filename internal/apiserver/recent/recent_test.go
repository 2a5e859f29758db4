package recent

import "testing"

func TestMemo(t *testing.T) {
	tests := []struct {
		name string
		size int
		adds []int
		// want maps each key 0..9 to whether it is held afterwards.
		want []int
	}{
		{name: "under the size keeps all", size: 3, adds: []int{1, 2}, want: []int{1, 2}},
		{name: "over the size forgets the oldest", size: 3, adds: []int{1, 2, 3, 4, 5}, want: []int{3, 4, 5}},
		{name: "re-adding a held key neither moves nor duplicates it", size: 2, adds: []int{1, 1, 2, 3}, want: []int{2, 3}},
		{name: "size below one holds one", size: 0, adds: []int{1, 2}, want: []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New[int, string](tc.size)
			for i, k := range tc.adds {
				m.Add(k, string(rune('a'+i)))
			}
			held := map[int]bool{}
			for _, k := range tc.want {
				held[k] = true
			}
			for k := range 10 {
				if _, ok := m.Get(k); ok != held[k] {
					t.Errorf("Get(%d) held = %v, want %v", k, ok, held[k])
				}
			}
		})
	}
	m := New[int, string](2)
	m.Add(1, "first")
	m.Add(1, "second")
	if v, _ := m.Get(1); v != "first" {
		t.Errorf("Get(1) = %q after adding it twice, want the first value", v)
	}
}
