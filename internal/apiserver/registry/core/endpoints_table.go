package core

import (
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// endpointsShown is how many addresses the ENDPOINTS cell lists before
// "+ N more...".
const endpointsShown = 3

var endpointsTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Endpoints", Type: "string", Description: corev1.Endpoints{}.SwaggerDoc()["subsets"]},
	registry.AgeColumn,
}, func(e *corev1.Endpoints, now time.Time) []interface{} {
	return []interface{}{endpointsCell(e), registry.Age(e.CreationTimestamp, now)}
})

// endpointsCell lists the ready addresses as ip:port, one per address and
// port (just the IP for a subset without ports), the first three of them.
func endpointsCell(e *corev1.Endpoints) string {
	if len(e.Subsets) == 0 {
		return "<none>"
	}
	var shown []string
	total := 0
	add := func(s string) {
		total++
		if len(shown) < endpointsShown {
			shown = append(shown, s)
		}
	}
	for _, ss := range e.Subsets {
		if len(ss.Ports) == 0 {
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	return registry.MoreList(shown, total, endpointsShown)
}
