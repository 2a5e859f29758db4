// Package core defines the resources of the core ("") API group, v1.
package core

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
)

// Deps are what core strategies need from outside the registry.
type Deps struct {
	// ServiceIPs allocates cluster IPs; NodePorts allocates node ports.
	ServiceIPs registry.Allocator
	NodePorts  registry.Allocator
	// EventTTL is how long events live after their last update.
	EventTTL time.Duration
	// Authorizer answers access reviews.
	Authorizer auth.Authorizer
}

// Resources lists the core/v1 resources in discovery order.
func Resources(d Deps) []*registry.Resource {
	return []*registry.Resource{
		ConfigMaps(),
		Endpoints(),
		Events(d.EventTTL),
		LimitRanges(),
		Namespaces(),
		Nodes(),
		PersistentVolumeClaims(),
		PersistentVolumes(),
		Pods(),
		PodTemplates(),
		ReplicationControllers(),
		ResourceQuotas(),
		Secrets(),
		ServiceAccounts(),
		Services(d.ServiceIPs, d.NodePorts),
	}
}

func gvr(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Version: "v1", Resource: resource}
}
