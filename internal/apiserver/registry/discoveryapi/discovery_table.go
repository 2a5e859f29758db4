package discoveryapi

import (
	"strconv"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// listShown is how many ports or addresses a cell lists before "+ N more...".
const listShown = 3

var sliceDocs = discoveryv1.EndpointSlice{}.SwaggerDoc()

var endpointSliceTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "AddressType", Type: "string", Description: sliceDocs["addressType"]},
	{Name: "Ports", Type: "string", Description: sliceDocs["ports"]},
	{Name: "Endpoints", Type: "string", Description: sliceDocs["endpoints"]},
	registry.AgeColumn,
}, func(s *discoveryv1.EndpointSlice, now time.Time) []interface{} {
	var ports, addrs []string
	for _, p := range s.Ports {
		switch {
		case p.Port != nil:
			ports = append(ports, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			ports = append(ports, *p.Name)
		default:
			ports = append(ports, "*")
		}
	}
	for _, e := range s.Endpoints {
		addrs = append(addrs, e.Addresses...)
	}
	return []interface{}{string(s.AddressType), unsetIfEmpty(ports), unsetIfEmpty(addrs), registry.Age(s.CreationTimestamp, now)}
})

func unsetIfEmpty(items []string) string {
	return registry.StringOr(registry.MoreList(items, len(items), listShown), "<unset>")
}
