package admissionregistration

import (
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

func byKind(kind string) *registry.Resource {
	for _, r := range Resources() {
		if r.Kind == kind {
			return r
		}
	}
	return nil
}

func TestAdmissionTables(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := metav1.ObjectMeta{Name: "policy", CreationTimestamp: metav1.NewTime(now.Add(-3 * time.Minute))}
	webhookCols := []string{"NAME", "WEBHOOKS", "AGE"}
	registrytest.RunCases(t, now, []registrytest.Case{
		{
			Name: "mutating webhooks", Res: byKind("MutatingWebhookConfiguration"), WantColumns: webhookCols,
			Obj:       &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: m, Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "a"}, {Name: "b"}}},
			WantCells: []interface{}{"policy", int64(2), "3m"},
		},
		{
			Name: "validating webhooks", Res: byKind("ValidatingWebhookConfiguration"), WantColumns: webhookCols,
			Obj:       &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: m, Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "a"}}},
			WantCells: []interface{}{"policy", int64(1), "3m"},
		},
		{
			Name: "validating admission policy", Res: byKind("ValidatingAdmissionPolicy"), WantColumns: []string{"NAME", "VALIDATIONS", "PARAMKIND", "AGE"},
			Obj: &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: m, Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				ParamKind:   &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
				Validations: []admissionregistrationv1.Validation{{Expression: "true"}}}},
			WantCells: []interface{}{"policy", int64(1), "v1/ConfigMap", "3m"},
		},
		{
			Name: "validating admission policy binding", Res: byKind("ValidatingAdmissionPolicyBinding"), WantColumns: []string{"NAME", "POLICYNAME", "PARAMREF", "AGE"},
			Obj: &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: m, Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName: "policy", ParamRef: &admissionregistrationv1.ParamRef{Name: "limits"}}},
			WantCells: []interface{}{"policy", "policy", "*/limits", "3m"},
		},
	})
}
