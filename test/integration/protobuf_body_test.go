package integration

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// TestProtobufBodiesMatchJSON creates and binds the same pod once with
// protobuf request bodies and once with JSON ones: the server decodes
// protobuf bodies of the target's own kind in place, and what it stores
// must be what the JSON path stores.
func TestProtobufBodiesMatchJSON(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	clientFor := func(contentType string) kubernetes.Interface {
		cfg := rest.CopyConfig(s.Config)
		cfg.ContentType = contentType
		return kubernetes.NewForConfigOrDie(cfg)
	}
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"},
				Annotations: map[string]string{"note": "ü"}},
			Spec: corev1.PodSpec{
				Containers: []corev1.Container{{
					Name: "web", Image: "busybox:1.36", Command: []string{"sleep", "3600"},
					Env:   []corev1.EnvVar{{Name: "A", Value: "1"}},
					Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
				}},
				NodeSelector: map[string]string{"disk": "ssd"},
				Tolerations:  []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}},
			},
		}
	}
	stored := map[string]*corev1.Pod{}
	for name, ct := range map[string]string{"proto": "application/vnd.kubernetes.protobuf", "json": "application/json"} {
		c := clientFor(ct)
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod(name), metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s create: %v", name, err)
		}
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
		if err := c.CoreV1().Pods("default").Bind(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s bind: %v", name, err)
		}
		got, err := s.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stored[name] = got
	}
	p, j := stored["proto"], stored["json"]
	if p.Spec.NodeName != "node-1" {
		t.Errorf("protobuf binding: nodeName %q, want node-1", p.Spec.NodeName)
	}
	if !equality.Semantic.DeepEqual(p.Spec, j.Spec) || !equality.Semantic.DeepEqual(p.Labels, j.Labels) ||
		!equality.Semantic.DeepEqual(p.Annotations, j.Annotations) {
		t.Errorf("protobuf and JSON bodies stored differently:\nprotobuf %+v\njson     %+v", p, j)
	}
	// An Eviction of the older policy/v1beta1 in protobuf still evicts.
	ev := &policyv1beta1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "proto", Namespace: "default"}}
	if err := clientFor("application/vnd.kubernetes.protobuf").PolicyV1beta1().Evictions("default").Evict(ctx, ev); err != nil {
		t.Fatalf("policy/v1beta1 eviction in protobuf: %v", err)
	}
	if got, err := s.Client.CoreV1().Pods("default").Get(ctx, "proto", metav1.GetOptions{}); err == nil && got.DeletionTimestamp == nil {
		t.Error("the evicted pod is not being deleted")
	} else if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	// A protobuf body of another kind takes the general decoder and is
	// refused as a JSON one would be.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-a-pod"}}
	err := clientFor("application/vnd.kubernetes.protobuf").CoreV1().RESTClient().Post().
		Namespace("default").Resource("pods").Body(cm).Do(ctx).Error()
	const want = "the kind in the data (ConfigMap) does not match the expected kind (Pod)"
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("ConfigMap posted as a pod: %v, want 400 %q", err, want)
	}
}
