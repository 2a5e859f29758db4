package job

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func indexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

// completions is spec.completions, or -1 when unset (a work-queue Job).
func completions(job *batchv1.Job) int {
	if job.Spec.Completions == nil {
		return -1
	}
	return int(*job.Spec.Completions)
}

// podIndex reads a pod's completion index from its annotation (or label)
// and checks it is below completions.
func podIndex(p *corev1.Pod, completions int) (int, bool) {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = p.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || (completions >= 0 && i >= completions) {
		return 0, false
	}
	return i, true
}

// parseIndexes reads a completedIndexes string such as "1,3-5"; invalid
// parts and indexes at or above completions are dropped.
func parseIndexes(s string, completions int) map[int]bool {
	out := map[int]bool{}
	if s == "" {
		return out
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := first; i <= last && (completions < 0 || i < completions); i++ {
			out[i] = true
		}
	}
	return out
}

// formatIndexes writes indexes as sorted intervals: "1,3-5".
func formatIndexes(indexes map[int]bool) string {
	var sorted []int
	for i := range indexes {
		sorted = append(sorted, i)
	}
	slices.Sort(sorted)
	var parts []string
	for k := 0; k < len(sorted); {
		j := k
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		if j == k {
			parts = append(parts, strconv.Itoa(sorted[k]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", sorted[k], sorted[j]))
		}
		k = j + 1
	}
	return strings.Join(parts, ",")
}
