package deployment

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"maps"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/rand"
)

// Annotations the controller keeps on Deployments and ReplicaSets.
const (
	AnnotationRevision        = "deployment.kubernetes.io/revision"
	AnnotationRevisionHistory = "deployment.kubernetes.io/revision-history"
	AnnotationDesiredReplicas = "deployment.kubernetes.io/desired-replicas"
	AnnotationMaxReplicas     = "deployment.kubernetes.io/max-replicas"
	// annotationRollbackTo is the deprecated extensions/v1beta1 rollback
	// request; never copied to ReplicaSets.
	annotationRollbackTo = "deprecated.deployment.rollback.to"
	// annotationLastApplied is kubectl apply's record.
	annotationLastApplied = "kubectl.kubernetes.io/last-applied-configuration"
)

// maxRevisionHistoryChars bounds the revision-history annotation.
const maxRevisionHistoryChars = 2000

// notCopied are the Deployment annotations that stay off its ReplicaSets.
var notCopied = map[string]bool{
	annotationLastApplied:     true,
	AnnotationRevision:        true,
	AnnotationRevisionHistory: true,
	AnnotationDesiredReplicas: true,
	AnnotationMaxReplicas:     true,
	annotationRollbackTo:      true,
}

// templateHash names a template: an FNV-32a hash of its JSON encoding and
// the collision count, spelled with rand.SafeEncodeString like upstream
// (no vowels, so no words).
func templateHash(t *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	data, _ := json.Marshal(t) // a PodTemplateSpec always encodes
	h.Write(data)
	if collisionCount != nil {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(*collisionCount))
		h.Write(b[:])
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// equalIgnoreHash compares two templates ignoring the pod-template-hash
// label.
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return apiequality.Semantic.DeepEqual(a, b)
}

// revisionOf returns the revision annotation of rs (0 when absent or bad).
func revisionOf(rs *appsv1.ReplicaSet) int64 {
	v, err := strconv.ParseInt(rs.Annotations[AnnotationRevision], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// maxRevision returns the highest revision among sets.
func maxRevision(sets []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range sets {
		m = max(m, revisionOf(rs))
	}
	return m
}

// setNewReplicaSetAnnotations brings the annotations of the new RS up to
// date: the Deployment's own annotations, the revision (recording the one
// it replaces in the history) and, on create, the replica annotations. It
// reports whether anything changed.
func setNewReplicaSetAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision string, exists bool) bool {
	changed := copyDeploymentAnnotations(d, rs)
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	oldRevision := rs.Annotations[AnnotationRevision]
	oldInt, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil && oldRevision != "" {
		return false
	}
	newInt, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return false
	}
	if oldInt < newInt {
		rs.Annotations[AnnotationRevision] = newRevision
		changed = true
		if oldRevision != "" {
			rs.Annotations[AnnotationRevisionHistory] = appendHistory(rs.Annotations[AnnotationRevisionHistory], oldRevision)
		}
	}
	if !exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d)+maxSurge(d)) {
		changed = true
	}
	return changed
}

// appendHistory appends rev to a comma-separated history, dropping the
// oldest entries beyond maxRevisionHistoryChars.
func appendHistory(history, rev string) string {
	var list []string
	if history != "" {
		list = strings.Split(history, ",")
	}
	list = append(list, rev)
	for len(list) > 1 && len(strings.Join(list, ",")) > maxRevisionHistoryChars {
		list = list[1:]
	}
	return strings.Join(list, ",")
}

// copyDeploymentAnnotations copies d's annotations (except the controller's
// own) onto rs; it reports whether any changed.
func copyDeploymentAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	changed := false
	for k, v := range d.Annotations {
		if notCopied[k] {
			continue
		}
		if cur, ok := rs.Annotations[k]; ok && cur == v {
			continue
		}
		if rs.Annotations == nil {
			rs.Annotations = map[string]string{}
		}
		rs.Annotations[k] = v
		changed = true
	}
	return changed
}

// setReplicasAnnotations records the Deployment's size and size plus surge
// on rs; it reports whether they changed.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	want := map[string]string{
		AnnotationDesiredReplicas: strconv.Itoa(int(desired)),
		AnnotationMaxReplicas:     strconv.Itoa(int(maxReplicas)),
	}
	if rs.Annotations != nil && rs.Annotations[AnnotationDesiredReplicas] == want[AnnotationDesiredReplicas] &&
		rs.Annotations[AnnotationMaxReplicas] == want[AnnotationMaxReplicas] {
		return false
	}
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	maps.Copy(rs.Annotations, want)
	return true
}

// desiredReplicasOf reads rs's desired-replicas annotation.
func desiredReplicasOf(rs *appsv1.ReplicaSet) (int32, bool) {
	return int32Annotation(rs, AnnotationDesiredReplicas)
}

// maxReplicasOf reads rs's max-replicas annotation.
func maxReplicasOf(rs *appsv1.ReplicaSet) (int32, bool) {
	return int32Annotation(rs, AnnotationMaxReplicas)
}

func int32Annotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}
