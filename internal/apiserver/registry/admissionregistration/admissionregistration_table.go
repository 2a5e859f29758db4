package admissionregistration

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

// webhooksTable prints how many webhooks a configuration registers; count
// reads them from a mutating or validating configuration.
func webhooksTable[T interface {
	runtime.Object
	metav1.Object
}](count func(T) int) *registry.TableDef {
	return registry.NewTable([]metav1.TableColumnDefinition{
		{Name: "Webhooks", Type: "integer", Description: "Webhooks indicates the number of webhooks registered in this configuration"},
		registry.AgeColumn,
	}, func(c T, now time.Time) []interface{} {
		return []interface{}{int64(count(c)), registry.Age(c.GetCreationTimestamp(), now)}
	})
}

func mutatingWebhooks(c *admissionregistrationv1.MutatingWebhookConfiguration) int {
	return len(c.Webhooks)
}

func validatingWebhooks(c *admissionregistrationv1.ValidatingWebhookConfiguration) int {
	return len(c.Webhooks)
}

var validatingAdmissionPolicyTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Validations", Type: "integer", Description: "Validations indicates the number of validation rules defined in this configuration"},
	{Name: "ParamKind", Type: "string", Description: "ParamKind specifies the kind of resources used to parameterize this policy"},
	registry.AgeColumn,
}, func(p *admissionregistrationv1.ValidatingAdmissionPolicy, now time.Time) []interface{} {
	paramKind := "<unset>"
	if k := p.Spec.ParamKind; k != nil {
		paramKind = k.APIVersion + "/" + k.Kind
	}
	return []interface{}{int64(len(p.Spec.Validations)), paramKind, registry.Age(p.CreationTimestamp, now)}
})

var validatingAdmissionPolicyBindingTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "PolicyName", Type: "string", Description: "PolicyName indicates the policy definition which the policy binding binded to"},
	{Name: "ParamRef", Type: "string", Description: "ParamRef indicates the param resource which sets the configration param"},
	registry.AgeColumn,
}, func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, now time.Time) []interface{} {
	param := "<unset>"
	if ref := b.Spec.ParamRef; ref != nil {
		switch {
		case ref.Name != "" && ref.Namespace != "":
			param = ref.Namespace + "/" + ref.Name
		case ref.Name != "":
			// The param's scope is unknown here, so any namespace.
			param = "*/" + ref.Name
		case ref.Selector != nil:
			param = ref.Selector.String()
		}
	}
	return []interface{}{b.Spec.PolicyName, param, registry.Age(b.CreationTimestamp, now)}
})
