package rbac

import (
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// Roles and cluster roles print upstream's default NAME and CREATED AT;
// bindings show the role and, with -o wide, their subjects by kind.

var roleBindingTable = registry.NewTable(bindingColumns("roleBinding", rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
	func(b *rbacv1.RoleBinding, now time.Time) []interface{} {
		return bindingCells(b.RoleRef, b.Subjects, b.CreationTimestamp, now)
	})

var clusterRoleBindingTable = registry.NewTable(bindingColumns("clusterRoleBinding", rbacv1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"]),
	func(b *rbacv1.ClusterRoleBinding, now time.Time) []interface{} {
		return bindingCells(b.RoleRef, b.Subjects, b.CreationTimestamp, now)
	})

func bindingColumns(kind, roleDoc string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		{Name: "Role", Type: "string", Description: roleDoc},
		registry.AgeColumn,
		{Name: "Users", Type: "string", Priority: 1, Description: "Users in the " + kind},
		{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the " + kind},
		{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the " + kind},
	}
}

// bindingCells lists users, groups and namespace/name service accounts,
// each joined with ", ".
func bindingCells(ref rbacv1.RoleRef, subjects []rbacv1.Subject, created metav1.Time, now time.Time) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		}
	}
	return []interface{}{ref.Kind + "/" + ref.Name, registry.Age(created, now),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", ")}
}
