package rbac

import (
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func byName(kind string) *registry.Resource {
	for _, r := range Resources() {
		if r.Kind == kind {
			return r
		}
	}
	return nil
}

func TestRBACTables(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := metav1.ObjectMeta{Name: "view", CreationTimestamp: metav1.NewTime(now.Add(-48 * time.Hour))}
	bindingCols := []string{"NAME", "ROLE", "AGE"}
	bindingWide := []string{"USERS", "GROUPS", "SERVICEACCOUNTS"}
	subjects := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice"}, {Kind: rbacv1.UserKind, Name: "bob"},
		{Kind: rbacv1.GroupKind, Name: "devs"},
		{Kind: rbacv1.ServiceAccountKind, Namespace: "ci", Name: "deployer"},
	}
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "role prints the default columns", Res: byName("Role"), WantColumns: []string{"NAME", "CREATED AT"},
			Obj: &rbacv1.Role{ObjectMeta: m}, WantCells: []interface{}{"view", "2025-02-27T12:00:00Z"},
		},
		{
			Name: "cluster role prints the default columns", Res: byName("ClusterRole"), WantColumns: []string{"NAME", "CREATED AT"},
			Obj: &rbacv1.ClusterRole{ObjectMeta: m}, WantCells: []interface{}{"view", "2025-02-27T12:00:00Z"},
		},
		{
			Name: "role binding", Res: byName("RoleBinding"), WantColumns: bindingCols, WantWide: bindingWide,
			Obj:       &rbacv1.RoleBinding{ObjectMeta: m, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: subjects},
			WantCells: []interface{}{"view", "ClusterRole/view", "2d", "alice, bob", "devs", "ci/deployer"},
		},
		{
			Name: "cluster role binding without subjects", Res: byName("ClusterRoleBinding"), WantColumns: bindingCols, WantWide: bindingWide,
			Obj:       &rbacv1.ClusterRoleBinding{ObjectMeta: m, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}},
			WantCells: []interface{}{"view", "ClusterRole/view", "2d", "", "", ""},
		},
	})
}
