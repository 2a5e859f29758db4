package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// ClaimPods adopts and releases owner's pods among pods by selector and
// returns the owned ones; recheck re-reads the owner before adopting.
func ClaimPods(ctx context.Context, client kubernetes.Interface, owner metav1.Object, kind schema.GroupVersionKind, selector labels.Selector, recheck func(context.Context) (metav1.Object, error), pods []*corev1.Pod) ([]*corev1.Pod, error) {
	claimer := &Claimer{Owner: owner, OwnerKind: kind, Selector: selector, Recheck: recheck, Patch: PatchPods(client)}
	owned, err := Claim(ctx, claimer, pods)
	if err != nil {
		return nil, fmt.Errorf("claim pods of %s/%s: %w", owner.GetNamespace(), owner.GetName(), err)
	}
	return owned, nil
}
