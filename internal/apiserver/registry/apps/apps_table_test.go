package apps

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-90 * time.Second))}
}

func template() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}, {Name: "log", Image: "busybox:1.36"}},
	}}
}

func TestAppsTables(t *testing.T) {
	three := int32(3)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	yes := true
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "deployment", Res: Deployments(),
			WantColumns: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
			WantWide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
			Obj: &appsv1.Deployment{ObjectMeta: meta("web"),
				Spec:   appsv1.DeploymentSpec{Replicas: &three, Selector: sel, Template: template()},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 1}},
			WantCells: []interface{}{"web", "2/3", int64(3), int64(1), "90s", "web,log", "nginx:1.27,busybox:1.36", "app=web"},
		},
		{
			Name: "replica set", Res: ReplicaSets(),
			WantColumns: []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"},
			WantWide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
			Obj: &appsv1.ReplicaSet{ObjectMeta: meta("web-5d9c"),
				Spec:   appsv1.ReplicaSetSpec{Replicas: &three, Selector: sel, Template: template()},
				Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2}},
			WantCells: []interface{}{"web-5d9c", int64(3), int64(3), int64(2), "90s", "web,log", "nginx:1.27,busybox:1.36", "app=web"},
		},
		{
			Name: "replica set with an empty selector", Res: ReplicaSets(),
			WantColumns: []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"},
			WantWide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
			Obj:         &appsv1.ReplicaSet{ObjectMeta: meta("bare")},
			WantCells:   []interface{}{"bare", int64(1), int64(0), int64(0), "90s", "", "", "<none>"},
		},
		{
			Name: "stateful set", Res: StatefulSets(),
			WantColumns: []string{"NAME", "READY", "AGE"}, WantWide: []string{"CONTAINERS", "IMAGES"},
			Obj: &appsv1.StatefulSet{ObjectMeta: meta("db"),
				Spec:   appsv1.StatefulSetSpec{Replicas: &three, Selector: sel, Template: template()},
				Status: appsv1.StatefulSetStatus{ReadyReplicas: 3}},
			WantCells: []interface{}{"db", "3/3", "90s", "web,log", "nginx:1.27,busybox:1.36"},
		},
		{
			Name: "daemon set", Res: DaemonSets(),
			WantColumns: []string{"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"},
			WantWide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
			Obj: &appsv1.DaemonSet{ObjectMeta: meta("agent"),
				Spec: appsv1.DaemonSetSpec{Selector: sel, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/os": "linux", "disk": "ssd"},
					Containers:   []corev1.Container{{Name: "agent", Image: "agent:2"}}}}},
				Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 4, CurrentNumberScheduled: 4, NumberReady: 3, UpdatedNumberScheduled: 2, NumberAvailable: 3}},
			WantCells: []interface{}{"agent", int64(4), int64(4), int64(3), int64(2), int64(3), "disk=ssd,kubernetes.io/os=linux", "90s", "agent", "agent:2", "app=web"},
		},
		{
			Name: "controller revision of a daemon set", Res: ControllerRevisions(),
			WantColumns: []string{"NAME", "CONTROLLER", "REVISION", "AGE"},
			Obj: &appsv1.ControllerRevision{ObjectMeta: func() metav1.ObjectMeta {
				m := meta("agent-7f8d")
				m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", Controller: &yes}}
				return m
			}(), Revision: 2},
			WantCells: []interface{}{"agent-7f8d", "daemonset.apps/agent", int64(2), "90s"},
		},
		{
			Name: "controller revision without a controller", Res: ControllerRevisions(),
			WantColumns: []string{"NAME", "CONTROLLER", "REVISION", "AGE"},
			Obj:         &appsv1.ControllerRevision{ObjectMeta: meta("orphan"), Revision: 1},
			WantCells:   []interface{}{"orphan", "<none>", int64(1), "90s"},
		},
	})
}
