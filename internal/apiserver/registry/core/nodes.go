package core

import (
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/validation"
)

// Nodes is core/v1 nodes. Node agents register with a status, so it is
// kept on create.
func Nodes() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("nodes"), Kind: "Node", SingularName: "node", ShortNames: []string{"no"},
		HasStatus: true, KeepStatusOnCreate: true, Subresources: []string{"proxy"},
		New:     func() runtime.Object { return &corev1.Node{} },
		NewList: func() runtime.Object { return &corev1.NodeList{} },
	}, registry.Strategy[*corev1.Node]{
		Default:              defaults.Node,
		Validate:             validation.ValidateNode,
		ValidateUpdate:       validation.ValidateNodeUpdate,
		ValidateStatusUpdate: validation.ValidateNodeUpdate,
		Fields: registry.FieldGetters[*corev1.Node]{
			"spec.unschedulable": func(n *corev1.Node) string { return strconv.FormatBool(n.Spec.Unschedulable) },
		},
		Table: nodeTable,
	})
}

var (
	nodeInfoDocs   = corev1.NodeSystemInfo{}.SwaggerDoc()
	nodeStatusDocs = corev1.NodeStatus{}.SwaggerDoc()
)

var nodeTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Status", Type: "string", Description: "The status of the node"},
	{Name: "Roles", Type: "string", Description: "The roles of the node"},
	registry.AgeColumn,
	{Name: "Version", Type: "string", Description: nodeInfoDocs["kubeletVersion"]},
	{Name: "Internal-IP", Type: "string", Priority: 1, Description: nodeStatusDocs["addresses"]},
	{Name: "External-IP", Type: "string", Priority: 1, Description: nodeStatusDocs["addresses"]},
	{Name: "OS-Image", Type: "string", Priority: 1, Description: nodeInfoDocs["osImage"]},
	{Name: "Kernel-Version", Type: "string", Priority: 1, Description: nodeInfoDocs["kernelVersion"]},
	{Name: "Container-Runtime", Type: "string", Priority: 1, Description: nodeInfoDocs["containerRuntimeVersion"]},
}, func(n *corev1.Node, now time.Time) []interface{} {
	info := n.Status.NodeInfo
	return []interface{}{
		nodeStatus(n), nodeRoles(n), registry.Age(n.CreationTimestamp, now), info.KubeletVersion,
		nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP),
		registry.StringOr(info.OSImage, "<unknown>"), registry.StringOr(info.KernelVersion, "<unknown>"),
		registry.StringOr(info.ContainerRuntimeVersion, "<unknown>"),
	}
})

// nodeStatus is the STATUS cell: Ready, NotReady or Unknown (no Ready
// condition yet), plus SchedulingDisabled for a cordoned node.
func nodeStatus(n *corev1.Node) string {
	status := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			status = "NotReady"
			if c.Status == corev1.ConditionTrue {
				status = "Ready"
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles is the ROLES cell: the sorted, distinct roles named by
// node-role.kubernetes.io/<role> label keys and the kubernetes.io/role label.
func nodeRoles(n *corev1.Node) string {
	seen := map[string]bool{}
	var roles []string
	add := func(r string) {
		if r != "" && !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			add(strings.TrimPrefix(k, "node-role.kubernetes.io/"))
		case k == "kubernetes.io/role":
			add(v)
		}
	}
	if len(roles) == 0 {
		return "<none>"
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}
