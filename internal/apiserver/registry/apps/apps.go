// Package apps defines the resources of the apps/v1 API group.
package apps

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

var ageColumn = metav1.TableColumnDefinition{Name: "Age", Type: "string",
	Description: "CreationTimestamp is a timestamp representing the server time when this object was created."}

func column(name, desc string, priority int32) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: "string", Description: desc, Priority: priority}
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
		Table: &registry.TableDef{
			Columns: []metav1.TableColumnDefinition{
				column("Ready", "Number of the pod with ready state", 0),
				{Name: "Up-to-date", Type: "integer", Description: "Total number of non-terminated pods targeted by this deployment that have the desired template spec."},
				{Name: "Available", Type: "integer", Description: "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."},
				ageColumn,
				column("Containers", "Names of each container in the template.", 1),
				column("Images", "Images referenced by each container in the template.", 1),
				column("Selector", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", 1),
			},
			Cells: func(obj runtime.Object, now time.Time) []interface{} {
				d := obj.(*appsv1.Deployment)
				names, images := containers(&d.Spec.Template)
				return []interface{}{
					fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)),
					int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas),
					registry.Age(d.CreationTimestamp, now), names, images, selector(d.Spec.Selector),
				}
			},
		},
	})
}

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
		Table: &registry.TableDef{
			Columns: []metav1.TableColumnDefinition{
				{Name: "Desired", Type: "integer", Description: "Replicas is the number of desired replicas."},
				{Name: "Current", Type: "integer", Description: "Replicas is the most recently observed number of replicas."},
				{Name: "Ready", Type: "integer", Description: "The number of ready replicas for this replica set."},
				ageColumn,
				column("Containers", "Names of each container in the template.", 1),
				column("Images", "Images referenced by each container in the template.", 1),
				column("Selector", "Selector is a label query over pods that should match the replica count.", 1),
			},
			Cells: func(obj runtime.Object, now time.Time) []interface{} {
				rs := obj.(*appsv1.ReplicaSet)
				names, images := containers(&rs.Spec.Template)
				return []interface{}{
					int64(replicas(rs.Spec.Replicas)), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
					registry.Age(rs.CreationTimestamp, now), names, images, selector(rs.Spec.Selector),
				}
			},
		},
	})
}

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
		Table: &registry.TableDef{
			Columns: []metav1.TableColumnDefinition{
				column("Ready", "Number of the pod with ready state", 0),
				ageColumn,
				column("Containers", "Names of each container in the template.", 1),
				column("Images", "Images referenced by each container in the template.", 1),
			},
			Cells: func(obj runtime.Object, now time.Time) []interface{} {
				s := obj.(*appsv1.StatefulSet)
				names, images := containers(&s.Spec.Template)
				return []interface{}{
					fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, replicas(s.Spec.Replicas)),
					registry.Age(s.CreationTimestamp, now), names, images,
				}
			},
		},
	})
}

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
		Table: &registry.TableDef{
			Columns: []metav1.TableColumnDefinition{
				{Name: "Desired", Type: "integer", Description: "The total number of nodes that should be running the daemon pod."},
				{Name: "Current", Type: "integer", Description: "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."},
				{Name: "Ready", Type: "integer", Description: "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."},
				{Name: "Up-to-date", Type: "integer", Description: "The total number of nodes that are running updated daemon pod"},
				{Name: "Available", Type: "integer", Description: "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available."},
				column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node.", 0),
				ageColumn,
				column("Containers", "Names of each container in the template.", 1),
				column("Images", "Images referenced by each container in the template.", 1),
				column("Selector", "A label query over pods that are managed by the daemon set.", 1),
			},
			Cells: func(obj runtime.Object, now time.Time) []interface{} {
				d := obj.(*appsv1.DaemonSet)
				names, images := containers(&d.Spec.Template)
				return []interface{}{
					int64(d.Status.DesiredNumberScheduled), int64(d.Status.CurrentNumberScheduled), int64(d.Status.NumberReady),
					int64(d.Status.UpdatedNumberScheduled), int64(d.Status.NumberAvailable), mapString(d.Spec.Template.Spec.NodeSelector),
					registry.Age(d.CreationTimestamp, now), names, images, selector(d.Spec.Selector),
				}
			},
		},
	})
}

// ControllerRevisions is apps/v1 controllerrevisions.
func ControllerRevisions() *registry.Resource {
	return registry.Define(registry.Resource{
		GVR: gvr("controllerrevisions"), Kind: "ControllerRevision", SingularName: "controllerrevision", Namespaced: true,
		New:     func() runtime.Object { return &appsv1.ControllerRevision{} },
		NewList: func() runtime.Object { return &appsv1.ControllerRevisionList{} },
	}, registry.Strategy[*appsv1.ControllerRevision]{})
}
