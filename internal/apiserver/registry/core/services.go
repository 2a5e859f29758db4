package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/validation"
)

// Services is core/v1 services; cluster IPs and node ports are allocated
// on create and released on delete.
func Services(ips, ports registry.Allocator) *registry.Resource {
	a := serviceAllocator{ips: ips, ports: ports}
	return registry.Define(registry.Resource{
		GVR: gvr("services"), Kind: "Service", SingularName: "service", Namespaced: true,
		ShortNames: []string{"svc"}, Categories: []string{"all"}, HasStatus: true,
		New:     func() runtime.Object { return &corev1.Service{} },
		NewList: func() runtime.Object { return &corev1.ServiceList{} },
	}, registry.Strategy[*corev1.Service]{
		PrepareForUpdate: func(svc, old *corev1.Service) {
			if svc.Spec.ClusterIP == "" {
				svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
			}
			keepNodePorts(svc, old)
		},
		Default:        defaults.Service,
		Allocate:       a.allocate,
		AfterDelete:    a.release,
		Validate:       validation.ValidateService,
		ValidateUpdate: validation.ValidateServiceUpdate,
		Table:          serviceTable,
	})
}

type serviceAllocator struct {
	ips, ports registry.Allocator
}

var servicesGR = schema.GroupResource{Resource: "services"}

// allocate assigns the cluster IP and node ports a new service needs.
func (a serviceAllocator) allocate(ctx context.Context, svc *corev1.Service) (func(), error) {
	var taken []func()
	undo := func() {
		for _, f := range taken {
			f()
		}
	}
	if a.ips != nil && svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		ip, err := a.ips.Allocate(ctx, svc.Spec.ClusterIP)
		if err != nil {
			return undo, allocError(svc, field.NewPath("spec", "clusterIPs").Index(0), svc.Spec.ClusterIP, err)
		}
		taken = append(taken, func() { _ = a.ips.Release(context.WithoutCancel(ctx), ip) })
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
	}
	if svc.Spec.ClusterIP != "" {
		defaults.Service(svc)
	}
	if a.ports == nil || (svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer) {
		return undo, nil
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		want := ""
		if p.NodePort != 0 {
			want = fmt.Sprint(p.NodePort)
		}
		got, err := a.ports.Allocate(ctx, want)
		if err != nil {
			undo()
			return func() {}, allocError(svc, field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort, err)
		}
		taken = append(taken, func() { _ = a.ports.Release(context.WithoutCancel(ctx), got) })
		fmt.Sscan(got, &p.NodePort)
	}
	return undo, nil
}

func allocError(svc *corev1.Service, path *field.Path, value interface{}, err error) error {
	msg := err.Error()
	if errors.Is(err, registry.ErrAllocated) {
		msg = "provided IP is already allocated"
		if strings.Contains(path.String(), "nodePort") {
			msg = "provided port is already allocated"
		}
	} else if errors.Is(err, registry.ErrFull) {
		return apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: range is full"))
	}
	return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, svc.Name, field.ErrorList{field.Invalid(path, value, msg)})
}

func (a serviceAllocator) release(ctx context.Context, svc *corev1.Service) {
	if a.ips != nil && svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		_ = a.ips.Release(ctx, svc.Spec.ClusterIP)
	}
	if a.ports != nil {
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				_ = a.ports.Release(ctx, fmt.Sprint(p.NodePort))
			}
		}
	}
}

// keepNodePorts carries allocated node ports over an update that omits them.
func keepNodePorts(svc, old *corev1.Service) {
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		for _, op := range old.Spec.Ports {
			if p.NodePort == 0 && op.Port == p.Port && op.Protocol == p.Protocol {
				p.NodePort = op.NodePort
			}
		}
	}
}

var serviceDocs = corev1.ServiceSpec{}.SwaggerDoc()

var serviceTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Type", Type: "string", Description: serviceDocs["type"]},
	{Name: "Cluster-IP", Type: "string", Description: serviceDocs["clusterIP"]},
	{Name: "External-IP", Type: "string", Description: serviceDocs["externalIPs"]},
	{Name: "Port(s)", Type: "string", Description: serviceDocs["ports"]},
	registry.AgeColumn,
	{Name: "Selector", Type: "string", Priority: 1, Description: serviceDocs["selector"]},
}, func(s *corev1.Service, now time.Time) []interface{} {
	ip := "<none>"
	if len(s.Spec.ClusterIPs) > 0 {
		ip = s.Spec.ClusterIPs[0]
	}
	return []interface{}{string(s.Spec.Type), ip, externalIPs(s), servicePorts(s),
		registry.Age(s.CreationTimestamp, now), labels.FormatLabels(s.Spec.Selector)}
})

// externalIPs is the EXTERNAL-IP cell: spec.externalIPs, for load balancers
// after the ingress points ("<pending>" until there are any), the external
// name for ExternalName services.
func externalIPs(s *corev1.Service) string {
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		return registry.StringOr(strings.Join(s.Spec.ExternalIPs, ","), "<none>")
	case corev1.ServiceTypeLoadBalancer:
		ips := loadBalancerIngress(s.Status.LoadBalancer.Ingress)
		ips = append(ips, s.Spec.ExternalIPs...)
		return registry.StringOr(strings.Join(ips, ","), "<pending>")
	case corev1.ServiceTypeExternalName:
		return s.Spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerIngress returns the distinct IPs (or hostnames) of ingress
// points, sorted.
func loadBalancerIngress(ingress []corev1.LoadBalancerIngress) []string {
	seen := map[string]bool{}
	var out []string
	for _, in := range ingress {
		v := registry.StringOr(in.IP, in.Hostname)
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// servicePorts is the PORT(S) cell: port/protocol, or port:nodePort/protocol.
func servicePorts(s *corev1.Service) string {
	if len(s.Spec.Ports) == 0 {
		return "<none>"
	}
	parts := make([]string, 0, len(s.Spec.Ports))
	for _, p := range s.Spec.Ports {
		v := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort > 0 {
			v = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, ",")
}
