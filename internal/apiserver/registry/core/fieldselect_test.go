package core_test

import (
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
)

// referenceFields is the field set of upstream's field selectors, written
// out per resource: metadata.name, metadata.namespace for namespaced
// resources, and the resource's own fields. Matches must agree with
// fields.Selector.Matches on it.
func referenceFields(obj runtime.Object) fields.Set {
	switch o := obj.(type) {
	case *corev1.Pod:
		return fields.Set{
			"metadata.name":            o.Name,
			"metadata.namespace":       o.Namespace,
			"spec.nodeName":            o.Spec.NodeName,
			"spec.restartPolicy":       string(o.Spec.RestartPolicy),
			"spec.schedulerName":       o.Spec.SchedulerName,
			"spec.serviceAccountName":  o.Spec.ServiceAccountName,
			"spec.hostNetwork":         strconv.FormatBool(o.Spec.HostNetwork),
			"status.phase":             string(o.Status.Phase),
			"status.podIP":             o.Status.PodIP,
			"status.nominatedNodeName": o.Status.NominatedNodeName,
		}
	case *corev1.Node:
		return fields.Set{"metadata.name": o.Name, "spec.unschedulable": strconv.FormatBool(o.Spec.Unschedulable)}
	case *corev1.Secret:
		return fields.Set{"metadata.name": o.Name, "metadata.namespace": o.Namespace, "type": string(o.Type)}
	case *corev1.Event:
		return fields.Set{
			"metadata.name":                  o.Name,
			"metadata.namespace":             o.Namespace,
			"involvedObject.kind":            o.InvolvedObject.Kind,
			"involvedObject.namespace":       o.InvolvedObject.Namespace,
			"involvedObject.name":            o.InvolvedObject.Name,
			"involvedObject.uid":             string(o.InvolvedObject.UID),
			"involvedObject.apiVersion":      o.InvolvedObject.APIVersion,
			"involvedObject.resourceVersion": o.InvolvedObject.ResourceVersion,
			"involvedObject.fieldPath":       o.InvolvedObject.FieldPath,
			"reason":                         o.Reason,
			"reportingComponent":             o.ReportingController,
			"source":                         o.Source.Component,
			"type":                           o.Type,
		}
	}
	panic("no reference fields for " + obj.GetObjectKind().GroupVersionKind().String())
}

func fieldTestResources() map[string]*registry.Resource {
	return map[string]*registry.Resource{
		"pods": core.Pods(), "nodes": core.Nodes(), "secrets": core.Secrets(), "events": core.Events(time.Hour),
	}
}

func fieldTestObjects() map[string][]runtime.Object {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "ns1", Labels: map[string]string{"app": name}}
	}
	return map[string][]runtime.Object{
		"pods": {
			&corev1.Pod{ObjectMeta: meta("unbound")},
			&corev1.Pod{ObjectMeta: meta("bound"), Spec: corev1.PodSpec{NodeName: "node-1", RestartPolicy: corev1.RestartPolicyAlways,
				SchedulerName: "default-scheduler", ServiceAccountName: "sa", HostNetwork: true},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", NominatedNodeName: "node-2"}},
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns2"}, Spec: corev1.PodSpec{NodeName: "node-2"},
				Status: corev1.PodStatus{Phase: corev1.PodPending}},
		},
		"nodes": {
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}},
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-2", Labels: map[string]string{"app": "node-2"}},
				Spec: corev1.NodeSpec{Unschedulable: true}},
		},
		"secrets": {
			&corev1.Secret{ObjectMeta: meta("s1"), Type: corev1.SecretTypeOpaque},
			&corev1.Secret{ObjectMeta: meta("s2"), Type: corev1.SecretTypeServiceAccountToken},
		},
		"events": {
			&corev1.Event{ObjectMeta: meta("e1"), Reason: "Scheduled", Type: "Normal", ReportingController: "default-scheduler",
				Source:         corev1.EventSource{Component: "default-scheduler"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns1", Name: "bound", UID: "u1", APIVersion: "v1", FieldPath: "spec"}},
			&corev1.Event{ObjectMeta: meta("e2"), Reason: "Failed", Type: "Warning"},
		},
	}
}

// fieldTestSelectors are selectors per resource, with =, ==, != and
// several requirements, on fields that are set, empty, unknown and on
// labels.
var fieldTestSelectors = map[string][]string{
	"pods": {
		"spec.nodeName!=", "spec.nodeName=", "spec.nodeName=node-1", "spec.nodeName==node-2", "spec.nodeName!=node-1",
		"metadata.name=bound", "metadata.namespace=ns2", "metadata.namespace!=ns1,spec.nodeName=node-2",
		"spec.nodeName=node-1,status.phase=Running,spec.hostNetwork=true", "spec.hostNetwork=false",
		"status.podIP=10.0.0.1", "status.nominatedNodeName!=", "spec.schedulerName=default-scheduler,spec.restartPolicy=Always",
		"spec.serviceAccountName=sa,metadata.name!=bound", "status.phase!=Running,status.phase!=Pending", "no.such.field=",
		"no.such.field!=", "no.such.field=x",
	},
	"nodes": {
		"metadata.name=node-1", "metadata.name!=node-1", "spec.unschedulable=true", "spec.unschedulable!=true,metadata.name=node-1",
		"metadata.namespace=", "metadata.namespace!=",
	},
	"secrets": {
		"type=Opaque", "type!=Opaque", "type==kubernetes.io/service-account-token,metadata.name=s2", "metadata.namespace=ns1",
	},
	"events": {
		"involvedObject.kind=Pod,involvedObject.name=bound", "involvedObject.uid=u1", "reason!=Scheduled", "type=Warning",
		"source=default-scheduler,reportingComponent=default-scheduler", "involvedObject.fieldPath=", "involvedObject.apiVersion=v1",
		"involvedObject.namespace=ns1,involvedObject.resourceVersion=", "metadata.name=e2,type=Warning",
	},
}

// TestMatchesFieldSelectors checks Matches against upstream's semantics
// (fields.Selector.Matches on the whole field set) for every test object
// and selector, alone and with label selectors.
func TestMatchesFieldSelectors(t *testing.T) {
	resources := fieldTestResources()
	labelSelectors := []string{"", "app", "app=bound", "app!=s1", "!app"}
	for name, objs := range fieldTestObjects() {
		s := registry.NewStore(resources[name], nil, nil)
		for _, fs := range fieldTestSelectors[name] {
			sel, err := fields.ParseSelector(fs)
			if err != nil {
				t.Fatal(err)
			}
			for _, ls := range labelSelectors {
				lsel, err := labels.Parse(ls)
				if err != nil {
					t.Fatal(err)
				}
				for _, obj := range objs {
					m := obj.(metav1.Object)
					want := sel.Matches(referenceFields(obj)) && lsel.Matches(labels.Set(m.GetLabels()))
					got, err := s.Matches(obj, registry.ListOptions{Labels: lsel, Fields: sel})
					if err != nil || got != want {
						t.Errorf("%s %s: fields %q labels %q: got %v, %v; want %v", name, m.GetName(), fs, ls, got, err, want)
					}
				}
			}
		}
	}
}

// TestFieldSetAndSupportedFields checks the whole field set and the keys
// selectors may use against the reference: every field reads its
// reference value, and the supported keys are exactly the reference's.
func TestFieldSetAndSupportedFields(t *testing.T) {
	resources := fieldTestResources()
	for name, objs := range fieldTestObjects() {
		r := resources[name]
		for _, obj := range objs {
			want := referenceFields(obj)
			got, err := r.Matches(obj, nil, fields.SelectorFromSet(want))
			if err != nil || !got {
				t.Errorf("%s: fields do not read %v: %v, %v", name, want, got, err)
			}
			supported := r.SupportedFields()
			if len(supported) != len(want) {
				t.Errorf("%s: supported fields %v, want the keys of %v", name, supported, want)
			}
			for k := range want {
				if !supported[k] {
					t.Errorf("%s: field %s not supported", name, k)
				}
			}
		}
	}
}

// BenchmarkMatchesPodFieldSelector is the watch path's selector check of
// a pod event: the benchmark's spec.nodeName!= and a node agent's
// spec.nodeName=<node>.
func BenchmarkMatchesPodFieldSelector(b *testing.B) {
	s := registry.NewStore(core.Pods(), nil, nil)
	pod := fieldTestObjects()["pods"][1]
	for _, fs := range []string{"spec.nodeName!=", "spec.nodeName=node-7", "metadata.namespace=ns1,spec.nodeName!="} {
		opts := registry.ListOptions{Fields: fields.ParseSelectorOrDie(fs), Labels: labels.Everything()}
		b.Run(fs, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Matches(pod, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
