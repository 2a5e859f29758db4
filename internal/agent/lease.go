package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Node lease timing, as the kubelet's: the lease lasts 40 s and is
// renewed every quarter of that.
const (
	nodeLeaseNamespace     = "kube-node-lease"
	nodeLeaseDuration      = 40 * time.Second
	nodeLeaseRenewInterval = nodeLeaseDuration / 4
)

// leaseRenewer keeps the node's Lease in kube-node-lease fresh: the
// heartbeat the node lifecycle controller watches.
type leaseRenewer struct {
	client   kubernetes.Interface
	nodeName string
	nodeUID  types.UID
	interval time.Duration
	log      *slog.Logger
	lease    *coordinationv1.Lease
}

// renew creates or updates the lease once.
func (l *leaseRenewer) renew(ctx context.Context) error {
	leases := l.client.CoordinationV1().Leases(nodeLeaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	if l.lease == nil {
		cur, err := leases.Get(ctx, l.nodeName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			lease := &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: l.nodeName, Namespace: nodeLeaseNamespace,
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: l.nodeName, UID: l.nodeUID}}},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(l.nodeName),
					LeaseDurationSeconds: ptr.To(int32(nodeLeaseDuration / time.Second)), RenewTime: &now},
			}
			created, err := leases.Create(ctx, lease, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("create node lease: %w", err)
			}
			l.lease = created
			return nil
		case err != nil:
			return fmt.Errorf("get node lease: %w", err)
		}
		l.lease = cur
	}
	lease := l.lease.DeepCopy()
	lease.Spec.RenewTime = &now
	lease.Spec.HolderIdentity = ptr.To(l.nodeName)
	lease.Spec.LeaseDurationSeconds = ptr.To(int32(nodeLeaseDuration / time.Second))
	if len(lease.OwnerReferences) == 0 && l.nodeUID != "" {
		lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: corev1.SchemeGroupVersion.WithKind("Node").Kind, Name: l.nodeName, UID: l.nodeUID}}
	}
	updated, err := leases.Update(ctx, lease, metav1.UpdateOptions{})
	if err != nil {
		// A conflict or a deleted lease: read it again next time.
		l.lease = nil
		return fmt.Errorf("renew node lease: %w", err)
	}
	l.lease = updated
	return nil
}

// run renews the lease every interval until ctx ends; after a failure it
// retries sooner.
func (l *leaseRenewer) run(ctx context.Context) error {
	for {
		wait := l.interval
		if err := l.renew(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.log.Warn("node lease", "err", err)
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}
