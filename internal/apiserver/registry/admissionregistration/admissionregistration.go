// Package admissionregistration defines admissionregistration.k8s.io/v1
// resources (stored only for now).
package admissionregistration

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

func gvr(r string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: r}
}

// Resources lists the admissionregistration.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	cat := func(r *registry.Resource) { r.Categories = []string{"api-extensions"} }
	return []*registry.Resource{
		registry.Plain(gvr("mutatingwebhookconfigurations"), "MutatingWebhookConfiguration", false,
			func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfiguration{} },
			func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfigurationList{} }, cat).
			WithTable(webhooksTable[*admissionregistrationv1.MutatingWebhookConfiguration](mutatingWebhooks)),
		registry.Plain(gvr("validatingadmissionpolicies"), "ValidatingAdmissionPolicy", false,
			func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} },
			func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} },
			func(r *registry.Resource) { cat(r); r.HasStatus, r.TracksGeneration = true, true }).
			WithTable(validatingAdmissionPolicyTable),
		registry.Plain(gvr("validatingadmissionpolicybindings"), "ValidatingAdmissionPolicyBinding", false,
			func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} },
			func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} }, cat).
			WithTable(validatingAdmissionPolicyBindingTable),
		registry.Plain(gvr("validatingwebhookconfigurations"), "ValidatingWebhookConfiguration", false,
			func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfiguration{} },
			func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfigurationList{} }, cat).
			WithTable(webhooksTable[*admissionregistrationv1.ValidatingWebhookConfiguration](validatingWebhooks)),
	}
}
