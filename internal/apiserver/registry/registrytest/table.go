// Package registrytest helps tests of the registry packages look at what
// kubectl would print for an object.
package registrytest

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Printed is one object rendered through a resource's table.
type Printed struct {
	// Columns are the headers kubectl get prints (upper case); Wide are
	// the ones it adds with -o wide.
	Columns, Wide []string
	// Cells are the row's cells, all columns, in column order.
	Cells []interface{}
	// Conditions are the row's conditions.
	Conditions []metav1.TableRowCondition
}

// Print renders obj, a stored object of res, as a table at time now.
func Print(t testing.TB, res *registry.Resource, obj runtime.Object, now time.Time) Printed {
	t.Helper()
	tbl, err := res.ToTable([]runtime.Object{obj}, metav1.IncludeNone, now, false)
	if err != nil {
		t.Fatalf("ToTable: %v", err)
	}
	if len(tbl.Rows) != 1 {
		t.Fatalf("ToTable: %d rows, want 1", len(tbl.Rows))
	}
	var p Printed
	for _, c := range tbl.ColumnDefinitions {
		name := strings.ToUpper(c.Name)
		if c.Priority == 0 {
			p.Columns = append(p.Columns, name)
		} else {
			p.Wide = append(p.Wide, name)
		}
	}
	p.Cells, p.Conditions = tbl.Rows[0].Cells, tbl.Rows[0].Conditions
	return p
}

// Case is one object printed through its resource's table.
type Case struct {
	Name        string
	Res         *registry.Resource
	Obj         runtime.Object
	WantColumns []string // without -o wide
	WantWide    []string // added by -o wide
	WantCells   []interface{}
}

// RunCases prints each case's object at time now and compares the columns
// and cells with the wanted ones.
func RunCases(t *testing.T, now time.Time, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got := Print(t, tc.Res, tc.Obj, now)
			if !slices.Equal(got.Columns, tc.WantColumns) {
				t.Errorf("columns = %q, want %q", got.Columns, tc.WantColumns)
			}
			if !slices.Equal(got.Wide, tc.WantWide) {
				t.Errorf("wide columns = %q, want %q", got.Wide, tc.WantWide)
			}
			if !slices.Equal(got.Cells, tc.WantCells) {
				t.Errorf("cells = %#v\nwant    %#v", got.Cells, tc.WantCells)
			}
		})
	}
}
