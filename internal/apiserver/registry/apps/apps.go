// Package apps defines the resources of the apps/v1 API group.
package apps

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/validation"
)

// Resources lists the apps/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{ControllerRevisions(), DaemonSets(), Deployments(), ReplicaSets(), StatefulSets()}
}

func gvr(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: resource}
}

var (
	containersColumn = metav1.TableColumnDefinition{Name: "Containers", Type: "string", Priority: 1,
		Description: "Names of each container in the template."}
	imagesColumn = metav1.TableColumnDefinition{Name: "Images", Type: "string", Priority: 1,
		Description: "Images referenced by each container in the template."}
	deploymentStatusDocs = appsv1.DeploymentStatus{}.SwaggerDoc()
	replicaSetStatusDocs = appsv1.ReplicaSetStatus{}.SwaggerDoc()
	daemonSetStatusDocs  = appsv1.DaemonSetStatus{}.SwaggerDoc()
)

func selectorColumn(doc string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: doc}
}

// Deployments is apps/v1 deployments.
func Deployments() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("deployments"), Kind: "Deployment", SingularName: "deployment", Namespaced: true,
		ShortNames: []string{"deploy"}, Categories: []string{"all"},
		HasStatus: true, TracksGeneration: true, Subresources: []string{"scale"},
		New:     func() runtime.Object { return &appsv1.Deployment{} },
		NewList: func() runtime.Object { return &appsv1.DeploymentList{} },
	}, registry.Strategy[*appsv1.Deployment]{
		Default:        defaults.Deployment,
		Validate:       validation.ValidateDeployment,
		ValidateUpdate: validation.ValidateDeploymentUpdate,
		Table:          deploymentTable,
	})
}

var deploymentTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
	{Name: "Up-to-date", Type: "string", Description: deploymentStatusDocs["updatedReplicas"]},
	{Name: "Available", Type: "string", Description: deploymentStatusDocs["availableReplicas"]},
	registry.AgeColumn,
	containersColumn,
	imagesColumn,
	selectorColumn(appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]),
}, func(d *appsv1.Deployment, now time.Time) []interface{} {
	names, images := registry.ContainerCells(d.Spec.Template.Spec.Containers)
	// A deployment's selector prints empty rather than <none>.
	sel := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		sel = s.String()
	}
	return []interface{}{
		fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas),
		registry.Age(d.CreationTimestamp, now), names, images, sel,
	}
})

// ReplicaSets is apps/v1 replicasets.
func ReplicaSets() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("replicasets"), Kind: "ReplicaSet", SingularName: "replicaset", Namespaced: true,
		ShortNames: []string{"rs"}, Categories: []string{"all"},
		HasStatus: true, TracksGeneration: true, Subresources: []string{"scale"},
		New:     func() runtime.Object { return &appsv1.ReplicaSet{} },
		NewList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
	}, registry.Strategy[*appsv1.ReplicaSet]{
		Default:        defaults.ReplicaSet,
		Validate:       validation.ValidateReplicaSet,
		ValidateUpdate: validation.ValidateReplicaSetUpdate,
		Table:          replicaSetTable,
	})
}

var replicaSetTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Desired", Type: "integer", Description: appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]},
	{Name: "Current", Type: "integer", Description: replicaSetStatusDocs["replicas"]},
	{Name: "Ready", Type: "integer", Description: replicaSetStatusDocs["readyReplicas"]},
	registry.AgeColumn,
	containersColumn,
	imagesColumn,
	selectorColumn(appsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"]),
}, func(rs *appsv1.ReplicaSet, now time.Time) []interface{} {
	names, images := registry.ContainerCells(rs.Spec.Template.Spec.Containers)
	return []interface{}{
		int64(replicas(rs.Spec.Replicas)), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
		registry.Age(rs.CreationTimestamp, now), names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
	}
})

// StatefulSets is apps/v1 statefulsets.
func StatefulSets() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("statefulsets"), Kind: "StatefulSet", SingularName: "statefulset", Namespaced: true,
		ShortNames: []string{"sts"}, Categories: []string{"all"},
		HasStatus: true, TracksGeneration: true, Subresources: []string{"scale"},
		New:     func() runtime.Object { return &appsv1.StatefulSet{} },
		NewList: func() runtime.Object { return &appsv1.StatefulSetList{} },
	}, registry.Strategy[*appsv1.StatefulSet]{
		Default:        defaults.StatefulSet,
		Validate:       validation.ValidateStatefulSet,
		ValidateUpdate: validation.ValidateStatefulSetUpdate,
		Table:          statefulSetTable,
	})
}

var statefulSetTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
	registry.AgeColumn,
	containersColumn,
	imagesColumn,
}, func(s *appsv1.StatefulSet, now time.Time) []interface{} {
	names, images := registry.ContainerCells(s.Spec.Template.Spec.Containers)
	return []interface{}{
		fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, replicas(s.Spec.Replicas)),
		registry.Age(s.CreationTimestamp, now), names, images,
	}
})

// DaemonSets is apps/v1 daemonsets.
func DaemonSets() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("daemonsets"), Kind: "DaemonSet", SingularName: "daemonset", Namespaced: true,
		ShortNames: []string{"ds"}, Categories: []string{"all"},
		HasStatus: true, TracksGeneration: true,
		New:     func() runtime.Object { return &appsv1.DaemonSet{} },
		NewList: func() runtime.Object { return &appsv1.DaemonSetList{} },
	}, registry.Strategy[*appsv1.DaemonSet]{
		Default:        defaults.DaemonSet,
		Validate:       validation.ValidateDaemonSet,
		ValidateUpdate: validation.ValidateDaemonSetUpdate,
		Table:          daemonSetTable,
	})
}

var daemonSetTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Desired", Type: "integer", Description: daemonSetStatusDocs["desiredNumberScheduled"]},
	{Name: "Current", Type: "integer", Description: daemonSetStatusDocs["currentNumberScheduled"]},
	{Name: "Ready", Type: "integer", Description: daemonSetStatusDocs["numberReady"]},
	{Name: "Up-to-date", Type: "integer", Description: daemonSetStatusDocs["updatedNumberScheduled"]},
	{Name: "Available", Type: "integer", Description: daemonSetStatusDocs["numberAvailable"]},
	{Name: "Node Selector", Type: "string", Description: corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]},
	registry.AgeColumn,
	containersColumn,
	imagesColumn,
	selectorColumn(appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"]),
}, func(d *appsv1.DaemonSet, now time.Time) []interface{} {
	names, images := registry.ContainerCells(d.Spec.Template.Spec.Containers)
	return []interface{}{
		int64(d.Status.DesiredNumberScheduled), int64(d.Status.CurrentNumberScheduled), int64(d.Status.NumberReady),
		int64(d.Status.UpdatedNumberScheduled), int64(d.Status.NumberAvailable),
		labels.FormatLabels(d.Spec.Template.Spec.NodeSelector),
		registry.Age(d.CreationTimestamp, now), names, images, metav1.FormatLabelSelector(d.Spec.Selector),
	}
})

// ControllerRevisions is apps/v1 controllerrevisions.
func ControllerRevisions() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("controllerrevisions"), Kind: "ControllerRevision", SingularName: "controllerrevision", Namespaced: true,
		New:     func() runtime.Object { return &appsv1.ControllerRevision{} },
		NewList: func() runtime.Object { return &appsv1.ControllerRevisionList{} },
	}, registry.Strategy[*appsv1.ControllerRevision]{Table: controllerRevisionTable})
}

// controllerRevisionTable names the owning controller as kind.group/name
// (e.g. daemonset.apps/fluentd).
var controllerRevisionTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Controller", Type: "string", Description: "Controller of the object"},
	{Name: "Revision", Type: "string", Description: appsv1.ControllerRevision{}.SwaggerDoc()["revision"]},
	registry.AgeColumn,
}, func(cr *appsv1.ControllerRevision, now time.Time) []interface{} {
	controller := "<none>"
	if ref := metav1.GetControllerOf(cr); ref != nil {
		controller = ref.Name
		if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil {
			if gk := gv.WithKind(ref.Kind).GroupKind(); !gk.Empty() {
				controller = strings.ToLower(gk.String()) + "/" + ref.Name
			}
		}
	}
	return []interface{}{controller, cr.Revision, registry.Age(cr.CreationTimestamp, now)}
})

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}
