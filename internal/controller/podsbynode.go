package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// PodNodeIndex names the pod informer index by spec.nodeName.
const PodNodeIndex = "spec.nodeName"

// IndexPodsByNode adds PodNodeIndex to a pod informer unless a controller
// built earlier in the term already did; call it before the informer
// starts.
func IndexPodsByNode(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[PodNodeIndex]; ok {
		return nil
	}
	err := inf.AddIndexers(cache.Indexers{PodNodeIndex: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" {
			return nil, nil
		}
		return []string{p.Spec.NodeName}, nil
	}})
	if err != nil {
		return fmt.Errorf("index pods by node: %w", err)
	}
	return nil
}

// PodsOnNode lists the pods bound to node from an informer indexed with
// IndexPodsByNode.
func PodsOnNode(indexer cache.Indexer, node string) ([]*corev1.Pod, error) {
	objs, err := indexer.ByIndex(PodNodeIndex, node)
	if err != nil {
		return nil, fmt.Errorf("pods on node %s: %w", node, err)
	}
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out, nil
}
