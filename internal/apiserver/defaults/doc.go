// Package defaults fills the fields a v1.32 Kubernetes API server fills when
// an object is created or updated, so objects read back from skiff look the
// same as from upstream (kubectl get -o yaml, server-side apply diffs).
//
// Each exported function takes a pointer to a typed k8s.io/api object and
// mutates it in place; calling it twice is harmless. The registry calls the
// matching function before validation:
//
//	decode ─► defaults.Deployment(d) ─► validation.ValidateDeployment(d)
//
// A few fields upstream sets during API conversion or in the registry
// strategy rather than in defaulting (Secret stringData merge, Service
// clusterIPs, Namespace finalizers, Job selector) are filled here too, so a
// single call leaves an object ready for validation.
package defaults
