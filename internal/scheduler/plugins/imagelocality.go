package plugins

import (
	"context"
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/scheduler/framework"
)

// ImageLocalityName is the plugin's name.
const ImageLocalityName = "ImageLocality"

// Thresholds of the image score: below 23 MiB an image is not worth
// preferring a node for; 1000 MiB per container scores the maximum.
const (
	mib                        = 1024 * 1024
	imageMinThreshold    int64 = 23 * mib
	imageMaxPerContainer       = 1000 * mib
)

// ImageLocality prefers nodes that already have the pod's images, by
// image size scaled by how widely the image is spread (an image on every
// node is no reason to pick one).
type ImageLocality struct {
	h framework.Handle
}

// NewImageLocality is the plugin's factory.
func NewImageLocality(_ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &ImageLocality{h: h}, nil
}

// Name implements framework.Plugin.
func (*ImageLocality) Name() string { return ImageLocalityName }

// EventsToRegister implements framework.EnqueueExtensions.
func (*ImageLocality) EventsToRegister() []framework.ClusterEvent { return nil }

// Score implements framework.ScorePlugin.
func (p *ImageLocality) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	total := p.h.Snapshot().NumNodes()
	if total == 0 || len(ni.ImageStates) == 0 {
		return 0, nil
	}
	var sum int64
	containers := 0
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			containers++
			if st, ok := ni.ImageStates[normalizedImageName(c.Image)]; ok {
				spread := float64(st.NumNodes) / float64(total)
				sum += int64(float64(st.Size) * spread)
			}
		}
	}
	return imageScore(sum, containers), nil
}

// imageScore maps a sum of scaled image sizes to [0, 100].
func imageScore(sum int64, containers int) int64 {
	maxThreshold := imageMaxPerContainer * int64(max(containers, 1))
	sum = min(max(sum, imageMinThreshold), maxThreshold)
	return framework.MaxNodeScore * (sum - imageMinThreshold) / (maxThreshold - imageMinThreshold)
}

// normalizedImageName adds the ":latest" tag an untagged, undigested image
// name implies.
func normalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		return name + ":latest"
	}
	return name
}

// ScoreExtensions implements framework.ScorePlugin.
func (*ImageLocality) ScoreExtensions() framework.ScoreExtensions { return nil }
