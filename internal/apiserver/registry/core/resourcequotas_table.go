package core

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// resourceQuotaTable prints NAME AGE REQUEST LIMIT (v1.32's order): each
// enforced resource as "name: used/hard", limits.* in LIMIT and the rest in
// REQUEST. Both numbers come from the status the quota controller keeps.
var resourceQuotaTable = registry.NewTable([]metav1.TableColumnDefinition{
	registry.AgeColumn,
	{Name: "Request", Type: "string", Description: "Request represents a minimum amount of cpu/memory that a container may consume."},
	{Name: "Limit", Type: "string", Description: "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."},
}, func(q *corev1.ResourceQuota, now time.Time) []interface{} {
	names := make([]string, 0, len(q.Status.Hard))
	for n := range q.Status.Hard {
		names = append(names, string(n))
	}
	sort.Strings(names)
	var requests, limits []string
	for _, n := range names {
		used, hard := q.Status.Used[corev1.ResourceName(n)], q.Status.Hard[corev1.ResourceName(n)]
		entry := fmt.Sprintf("%s: %s/%s", n, used.String(), hard.String())
		if strings.HasPrefix(n, "limits.") {
			limits = append(limits, entry)
		} else {
			requests = append(requests, entry)
		}
	}
	return []interface{}{registry.Age(q.CreationTimestamp, now), strings.Join(requests, ", "), strings.Join(limits, ", ")}
})
