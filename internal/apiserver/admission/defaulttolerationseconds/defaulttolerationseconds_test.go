package defaulttolerationseconds_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func seconds(s int64) *int64 { return &s }

// render lists tolerations as "key:operator:effect:seconds".
func render(ts []corev1.Toleration) []string {
	var out []string
	for _, t := range ts {
		s := "forever"
		if t.TolerationSeconds != nil {
			s = fmt.Sprint(*t.TolerationSeconds)
		}
		out = append(out, fmt.Sprintf("%s:%s:%s:%s", t.Key, t.Operator, t.Effect, s))
	}
	return out
}

// TestDefaultTolerations creates pods through the real API server and
// checks the tolerations they are stored with.
func TestDefaultTolerations(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := context.Background()
	const (
		notReady    = "node.kubernetes.io/not-ready:Exists:NoExecute:300"
		unreachable = "node.kubernetes.io/unreachable:Exists:NoExecute:300"
	)
	for _, tc := range []struct {
		name        string
		tolerations []corev1.Toleration
		want        []string
	}{
		{name: "none", want: []string{notReady, unreachable}},
		{
			name: "own not-ready seconds kept",
			tolerations: []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds(10)}},
			want: []string{"node.kubernetes.io/not-ready:Exists:NoExecute:10", unreachable},
		},
		{
			name:        "unreachable for ever, any effect",
			tolerations: []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists}},
			want:        []string{"node.kubernetes.io/unreachable:Exists::forever", notReady},
		},
		{
			name:        "tolerates everything",
			tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			want:        []string{":Exists::forever"},
		},
		{
			name:        "NoSchedule only does not count",
			tolerations: []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			want:        []string{"node.kubernetes.io/not-ready:Exists:NoSchedule:forever", notReady, unreachable},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "tol-"},
				Spec: corev1.PodSpec{
					ServiceAccountName: "default",
					Containers:         []corev1.Container{{Name: "main", Image: "busybox"}},
					Tolerations:        tc.tolerations,
				},
			}
			got, err := s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if g := render(got.Spec.Tolerations); fmt.Sprint(g) != fmt.Sprint(tc.want) {
				t.Errorf("tolerations %v, want %v", g, tc.want)
			}
			// An update keeps them as they are: no duplicates.
			upd, err := s.Client.CoreV1().Pods("default").Patch(ctx, got.Name, types.MergePatchType,
				[]byte(`{"metadata":{"labels":{"updated":"yes"}}}`), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if g := render(upd.Spec.Tolerations); fmt.Sprint(g) != fmt.Sprint(tc.want) {
				t.Errorf("after update: tolerations %v, want %v", g, tc.want)
			}
		})
	}
}
