package apiserver

import (
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/admissionregistration"
	"github.com/skiffhq/skiff/internal/apiserver/registry/apiextensions"
	"github.com/skiffhq/skiff/internal/apiserver/registry/apps"
	"github.com/skiffhq/skiff/internal/apiserver/registry/authentication"
	"github.com/skiffhq/skiff/internal/apiserver/registry/authorization"
	"github.com/skiffhq/skiff/internal/apiserver/registry/autoscaling"
	"github.com/skiffhq/skiff/internal/apiserver/registry/batch"
	"github.com/skiffhq/skiff/internal/apiserver/registry/certificates"
	"github.com/skiffhq/skiff/internal/apiserver/registry/coordination"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
	"github.com/skiffhq/skiff/internal/apiserver/registry/discoveryapi"
	"github.com/skiffhq/skiff/internal/apiserver/registry/events"
	"github.com/skiffhq/skiff/internal/apiserver/registry/networking"
	"github.com/skiffhq/skiff/internal/apiserver/registry/nodeapi"
	"github.com/skiffhq/skiff/internal/apiserver/registry/policy"
	"github.com/skiffhq/skiff/internal/apiserver/registry/rbac"
	"github.com/skiffhq/skiff/internal/apiserver/registry/scheduling"
	"github.com/skiffhq/skiff/internal/apiserver/registry/storageapi"
)

// BuiltinResources lists every built-in resource, core first, in the group
// order discovery reports.
func BuiltinResources(deps core.Deps) []*registry.Resource {
	var out []*registry.Resource
	for _, group := range [][]*registry.Resource{
		core.Resources(deps),
		apps.Resources(),
		events.Resources(deps.EventTTL),
		authentication.Resources(),
		authorization.Resources(deps.Authorizer),
		autoscaling.Resources(),
		batch.Resources(),
		certificates.Resources(),
		networking.Resources(),
		policy.Resources(),
		rbac.Resources(),
		storageapi.Resources(),
		admissionregistration.Resources(),
		apiextensions.Resources(),
		scheduling.Resources(),
		coordination.Resources(),
		nodeapi.Resources(),
		discoveryapi.Resources(),
	} {
		out = append(out, group...)
	}
	return out
}
