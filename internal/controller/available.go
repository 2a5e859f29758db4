package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// NextAvailable returns how long until the first of pods that is ready but
// not yet available for minReadySeconds becomes available, plus a little
// so a requeue lands after the line (0 when none is waiting).
func NextAvailable(pods []*corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	if minReadySeconds == 0 {
		return 0
	}
	var next time.Duration
	for _, p := range pods {
		c := PodReadyCondition(p)
		if c == nil || c.Status != corev1.ConditionTrue || PodAvailable(p, minReadySeconds, now) {
			continue
		}
		at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
		if at <= 0 {
			at = time.Second
		}
		if next == 0 || at < next {
			next = at
		}
	}
	if next > 0 {
		next += 100 * time.Millisecond
	}
	return next
}
