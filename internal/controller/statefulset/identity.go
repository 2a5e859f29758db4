package statefulset

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// memberName parses "<set>-<ordinal>".
var memberName = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parentAndOrdinal returns the set name and ordinal a pod name encodes, or
// ok false.
func parentAndOrdinal(podName string) (parent string, ordinal int, ok bool) {
	m := memberName.FindStringSubmatch(podName)
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, false
	}
	return m[1], n, true
}

// isMember reports whether pod's name makes it a member of set.
func isMember(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, _, ok := parentAndOrdinal(pod.Name)
	return ok && parent == set.Name
}

// ordinalOf returns the ordinal in pod's name (-1 when it has none).
func ordinalOf(pod *corev1.Pod) int {
	_, n, ok := parentAndOrdinal(pod.Name)
	if !ok {
		return -1
	}
	return n
}

// podName is the name of set's pod with ordinal.
func podName(set *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%d", set.Name, ordinal)
}

// startOrdinal is spec.ordinals.start (0 when unset).
func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

// replicasOf is spec.replicas (1 when unset).
func replicasOf(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange reports whether ordinal is within [start, start+replicas).
func inRange(set *appsv1.StatefulSet, ordinal int) bool {
	start := startOrdinal(set)
	return ordinal >= start && ordinal < start+replicasOf(set)
}

// claimName is the PVC name of a volume claim template for ordinal.
func claimName(set *appsv1.StatefulSet, template string, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", template, set.Name, ordinal)
}

// newPod builds set's pod with ordinal at revision: name, identity labels,
// hostname and subdomain, claim volumes, revision label.
func newPod(set *appsv1.StatefulSet, ordinal int, revision string) *corev1.Pod {
	pod := controller.PodFromTemplate(&set.Spec.Template, set, kind, "")
	pod.Name = podName(set, ordinal)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	setIdentityLabels(pod.Labels, pod.Name, ordinal)
	pod.Labels[appsv1.ControllerRevisionHashLabelKey] = revision
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	setClaimVolumes(set, pod, ordinal)
	return pod
}

// setIdentityLabels puts the pod-name and pod-index labels into l.
func setIdentityLabels(l map[string]string, name string, ordinal int) {
	l[appsv1.StatefulSetPodNameLabel] = name
	l[appsv1.PodIndexLabel] = strconv.Itoa(ordinal)
}

// identityMatches reports whether pod carries its identity labels.
func identityMatches(pod *corev1.Pod, ordinal int) bool {
	return pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name &&
		pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(ordinal)
}

// setClaimVolumes makes each volume claim template a volume of pod named
// like the template, backed by the ordinal's PVC; a template volume of the
// same name is replaced.
func setClaimVolumes(set *appsv1.StatefulSet, pod *corev1.Pod, ordinal int) {
	if len(set.Spec.VolumeClaimTemplates) == 0 {
		return
	}
	byName := map[string]bool{}
	var vols []corev1.Volume
	for _, t := range set.Spec.VolumeClaimTemplates {
		byName[t.Name] = true
		vols = append(vols, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(set, t.Name, ordinal)},
		}})
	}
	for _, v := range pod.Spec.Volumes {
		if !byName[v.Name] {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

// newClaims builds the PVCs of ordinal from set's volume claim templates,
// labelled with the template's labels and the set's selector labels.
func newClaims(set *appsv1.StatefulSet, ordinal int) []*corev1.PersistentVolumeClaim {
	out := make([]*corev1.PersistentVolumeClaim, 0, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		pvc := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name: claimName(set, t.Name, ordinal), Namespace: set.Namespace,
				Labels: maps.Clone(t.Labels), Annotations: maps.Clone(t.Annotations),
			},
			Spec: *t.Spec.DeepCopy(),
		}
		if set.Spec.Selector != nil && len(set.Spec.Selector.MatchLabels) > 0 {
			if pvc.Labels == nil {
				pvc.Labels = map[string]string{}
			}
			maps.Copy(pvc.Labels, set.Spec.Selector.MatchLabels)
		}
		out = append(out, pvc)
	}
	return out
}
