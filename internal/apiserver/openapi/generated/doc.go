// Package generated holds the OpenAPI definitions of every built-in type,
// generated from the k8s.io/api Go types (their doc comments become field
// descriptions) by kube-openapi's openapi-gen. Regenerate with go generate.
package generated

//go:generate go tool openapi-gen --go-header-file /dev/null --output-dir . --output-pkg github.com/skiffhq/skiff/internal/apiserver/openapi/generated --output-file zz_generated.openapi.go --report-filename /dev/null k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/batch/v1 k8s.io/api/autoscaling/v1 k8s.io/api/autoscaling/v2 k8s.io/api/policy/v1 k8s.io/api/rbac/v1 k8s.io/api/storage/v1 k8s.io/api/networking/v1 k8s.io/api/coordination/v1 k8s.io/api/discovery/v1 k8s.io/api/events/v1 k8s.io/api/scheduling/v1 k8s.io/api/node/v1 k8s.io/api/certificates/v1 k8s.io/api/admissionregistration/v1 k8s.io/api/authentication/v1 k8s.io/api/authorization/v1 k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1 k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/util/intstr k8s.io/apimachinery/pkg/api/resource k8s.io/apimachinery/pkg/version
