// Package rbac defines the rbac.authorization.k8s.io/v1 resources.
package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

func gvr(r string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: r}
}

// Resources lists the RBAC resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		registry.Plain(gvr("clusterrolebindings"), "ClusterRoleBinding", false,
			func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
			func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} }, nil).WithTable(clusterRoleBindingTable),
		registry.Plain(gvr("clusterroles"), "ClusterRole", false,
			func() runtime.Object { return &rbacv1.ClusterRole{} },
			func() runtime.Object { return &rbacv1.ClusterRoleList{} }, nil),
		registry.Plain(gvr("rolebindings"), "RoleBinding", true,
			func() runtime.Object { return &rbacv1.RoleBinding{} },
			func() runtime.Object { return &rbacv1.RoleBindingList{} }, nil).WithTable(roleBindingTable),
		registry.Plain(gvr("roles"), "Role", true,
			func() runtime.Object { return &rbacv1.Role{} },
			func() runtime.Object { return &rbacv1.RoleList{} }, nil),
	}
}
