package manager

import (
	"slices"
	"strings"
	"testing"
)

func TestSelectControllers(t *testing.T) {
	all := KnownControllers()
	without := func(names ...string) []string {
		var out []string
		for _, n := range all {
			if !slices.Contains(names, n) {
				out = append(out, n)
			}
		}
		return out
	}
	tests := []struct {
		name    string
		flag    []string
		want    []string
		wantErr string
	}{
		{name: "default is all", flag: nil, want: all},
		{name: "star", flag: []string{"*"}, want: all},
		{name: "star minus one", flag: []string{"*", "-podgc"}, want: without("podgc")},
		{name: "minus wins over plus", flag: []string{"podgc", "-podgc", "deployment"}, want: []string{"deployment"}},
		{name: "explicit list in start order", flag: []string{"deployment", "namespace"}, want: []string{"namespace", "deployment"}},
		{name: "upstream aliases", flag: []string{"*", "-garbage-collector-controller", "-deployment-controller"}, want: without("garbagecollector", "deployment")},
		{name: "nothing", flag: []string{"-*"}, wantErr: `unknown controller "*"`},
		{name: "unknown", flag: []string{"*", "-statefulsets"}, wantErr: `unknown controller "statefulsets"`},
		{name: "empty selection", flag: []string{"-podgc"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := selectControllers(tc.flag)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if names := enabledNames(got); !slices.Equal(names, tc.want) {
				t.Fatalf("enabled = %v, want %v", names, tc.want)
			}
		})
	}
}
