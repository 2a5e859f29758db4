package registry

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableDef is how kubectl get prints a resource: the columns after NAME and
// a function producing their cells. Like upstream's server-side printers it
// always produces the -o wide cells too; columns with Priority 1 are the ones
// kubectl shows only with -o wide.
type TableDef struct {
	Columns []metav1.TableColumnDefinition
	// Cells returns one value per column (without the name).
	Cells func(obj runtime.Object, now time.Time) []interface{}
	// OmitName leaves out the leading NAME column (events place it last).
	OmitName bool
	// Name, when set, prints the NAME cell instead of metadata.name
	// (storage classes add " (default)").
	Name func(obj runtime.Object) string
	// Conditions, when set, returns the row's conditions (a finished pod's
	// row is marked Completed).
	Conditions func(obj runtime.Object) []metav1.TableRowCondition
}

// NewTable builds a TableDef whose cells function takes the stored Go type.
func NewTable[T runtime.Object](columns []metav1.TableColumnDefinition, cells func(obj T, now time.Time) []interface{}) *TableDef {
	return &TableDef{
		Columns: columns,
		Cells:   func(obj runtime.Object, now time.Time) []interface{} { return cells(obj.(T), now) },
	}
}

// objectMetaDocs are the field descriptions of metadata, which upstream uses
// for the NAME, AGE and CREATED AT columns.
var objectMetaDocs = metav1.ObjectMeta{}.SwaggerDoc()

// nameColumn is the first column of every table.
var nameColumn = metav1.TableColumnDefinition{
	Name: "Name", Type: "string", Format: "name", Description: objectMetaDocs["name"],
}

// AgeColumn is the AGE column: the time since creation, as Age prints it.
var AgeColumn = metav1.TableColumnDefinition{
	Name: "Age", Type: "string", Description: objectMetaDocs["creationTimestamp"],
}

// defaultTable prints NAME and CREATED AT, like upstream's default for
// resources without their own columns (roles, limit ranges, CRDs, ...).
var defaultTable = TableDef{
	Columns: []metav1.TableColumnDefinition{{
		Name: "Created At", Type: "date", Description: objectMetaDocs["creationTimestamp"],
	}},
	Cells: func(obj runtime.Object, _ time.Time) []interface{} {
		m, _ := metaOf(obj)
		return []interface{}{m.GetCreationTimestamp().UTC().Format(time.RFC3339)}
	},
}

// Age formats the age of a timestamp as kubectl prints it ("<unknown>" when
// unset).
func Age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// MicroAge is Age for a MicroTime (events.k8s.io timestamps).
func MicroAge(t metav1.MicroTime, now time.Time) string {
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
	// Rows share one backing array for their cells and one for their
	// metadata: a list of thousands of objects is two allocations, not
	// thousands.
	width := len(lead) + len(def.Columns)
	cellBuf := make([]interface{}, len(objs)*width)
	var partials []metav1.PartialObjectMetadata
	if includeObject != metav1.IncludeObject && includeObject != metav1.IncludeNone {
		partials = make([]metav1.PartialObjectMetadata, len(objs))
	}
	t.Rows = make([]metav1.TableRow, len(objs))
	for i, obj := range objs {
		m, err := metaOf(obj)
		if err != nil {
			return nil, err
		}
		cells := cellBuf[i*width : i*width : (i+1)*width]
		if !def.OmitName {
			name := m.GetName()
			if def.Name != nil {
				name = def.Name(obj)
			}
			cells = append(cells, name)
		}
		cells = append(cells, def.Cells(obj, now)...)
		if len(cells) != width {
			return nil, fmt.Errorf("table of %s: %d cells for %d columns", r.Kind, len(cells), width)
		}
		row := &t.Rows[i]
		row.Cells = cells
		if def.Conditions != nil {
			row.Conditions = def.Conditions(obj)
		}
		switch includeObject {
		case metav1.IncludeObject:
			row.Object.Object = obj
		case metav1.IncludeNone:
		default:
			p := &partials[i]
			p.TypeMeta = metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}
			p.ObjectMeta = *objectMeta(obj, m)
			row.Object.Object = p
		}
	}
	return t, nil
}

func objectMeta(obj runtime.Object, m metav1.Object) *metav1.ObjectMeta {
	// Built-in types embed ObjectMeta, whose GetObjectMeta is promoted.
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return om
		}
	}
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

// WithTable sets the columns kubectl get prints for a resource built with
// Plain, whose strategy has no other hooks, and returns it.
func (r *Resource) WithTable(t *TableDef) *Resource {
	r.hooks.table = t
	return r
}
