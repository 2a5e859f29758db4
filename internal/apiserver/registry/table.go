package registry

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableDef is how kubectl get prints a resource: the columns after NAME and
// a function producing their cells.
type TableDef struct {
	Columns []metav1.TableColumnDefinition
	// Cells returns one value per column (without the name).
	Cells func(obj runtime.Object, now time.Time) []interface{}
	// OmitName leaves out the leading NAME column (events place it last).
	OmitName bool
}

// nameColumn is the first column of every table.
var nameColumn = metav1.TableColumnDefinition{
	Name: "Name", Type: "string", Format: "name",
	Description: "Name must be unique within a namespace.",
}

// defaultTable prints NAME and CREATED AT, like upstream's default.
var defaultTable = TableDef{
	Columns: []metav1.TableColumnDefinition{{
		Name: "Created At", Type: "date",
		Description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
	}},
	Cells: func(obj runtime.Object, _ time.Time) []interface{} {
		m, _ := metaOf(obj)
		return []interface{}{m.GetCreationTimestamp().UTC().Format(time.RFC3339)}
	},
}

// Age formats the age of a timestamp as kubectl prints it.
func Age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// ToTable converts objects (one object, or the items of a list) to a table.
// includeObject is "None", "Metadata" or "Object".
func (r *Resource) ToTable(objs []runtime.Object, includeObject metav1.IncludeObjectPolicy, now time.Time, omitHeaders bool) (*metav1.Table, error) {
	def := r.hooks.table
	if def == nil {
		def = &defaultTable
	}
	t := &metav1.Table{}
	lead := []metav1.TableColumnDefinition{nameColumn}
	if def.OmitName {
		lead = nil
	}
	if !omitHeaders {
		t.ColumnDefinitions = append(lead, def.Columns...)
	}
	for _, obj := range objs {
		m, err := metaOf(obj)
		if err != nil {
			return nil, err
		}
		cells := def.Cells(obj, now)
		if !def.OmitName {
			cells = append([]interface{}{m.GetName()}, cells...)
		}
		if len(cells) != len(def.Columns)+len(lead) {
			return nil, fmt.Errorf("table of %s: %d cells for %d columns", r.Kind, len(cells), len(def.Columns)+len(lead))
		}
		row := metav1.TableRow{Cells: cells}
		switch includeObject {
		case metav1.IncludeObject:
			row.Object.Object = obj
		case metav1.IncludeNone:
		default:
			row.Object.Object = &metav1.PartialObjectMetadata{
				TypeMeta:   metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"},
				ObjectMeta: *objectMeta(obj, m),
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func objectMeta(obj runtime.Object, m metav1.Object) *metav1.ObjectMeta {
	if f := structOf(obj).FieldByName("ObjectMeta"); f.IsValid() {
		if om, ok := f.Addr().Interface().(*metav1.ObjectMeta); ok {
			return om
		}
	}
	return &metav1.ObjectMeta{
		Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
		ResourceVersion: m.GetResourceVersion(), Generation: m.GetGeneration(),
		CreationTimestamp: m.GetCreationTimestamp(), DeletionTimestamp: m.GetDeletionTimestamp(),
		Labels: m.GetLabels(), Annotations: m.GetAnnotations(), OwnerReferences: m.GetOwnerReferences(),
		Finalizers: m.GetFinalizers(),
	}
}
