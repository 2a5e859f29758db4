package discoveryapi

import (
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func TestEndpointSliceTable(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cols := []string{"NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"}
	m := metav1.ObjectMeta{Name: "web-abc12", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))}
	p80, p443, p8080, named := int32(80), int32(443), int32(8080), "metrics"
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "empty", Res: Resources()[0], WantColumns: cols,
			Obj:       &discoveryv1.EndpointSlice{ObjectMeta: m, AddressType: discoveryv1.AddressTypeIPv4},
			WantCells: []interface{}{"web-abc12", "IPv4", "<unset>", "<unset>", "60s"},
		},
		{
			Name: "ports and endpoints are cut after three", Res: Resources()[0], WantColumns: cols,
			Obj: &discoveryv1.EndpointSlice{ObjectMeta: m, AddressType: discoveryv1.AddressTypeIPv4,
				Ports:     []discoveryv1.EndpointPort{{Port: &p80}, {Name: &named}, {}, {Port: &p443}, {Port: &p8080}},
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1", "10.1.0.2"}}, {Addresses: []string{"10.1.0.3"}}, {Addresses: []string{"10.1.0.4"}}},
			},
			WantCells: []interface{}{"web-abc12", "IPv4", "80,metrics,* + 2 more...", "10.1.0.1,10.1.0.2,10.1.0.3 + 1 more...", "60s"},
		},
	})
}
