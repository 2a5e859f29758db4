// Package validation checks API objects the way a v1.32 Kubernetes API server
// does, so that kubectl users see the same field paths and messages.
//
// Every exported Validate* function takes typed k8s.io/api objects that have
// already been through package defaults and returns a field.ErrorList. The
// registry turns a non-empty list into a 422 Invalid status at its boundary.
//
//	request body ─► decode ─► defaults.X(obj) ─► validation.ValidateX(obj) ─► storage
//	                                                   │
//	                                                   └─ ValidateXUpdate(new, old) on update
//
// Glossary:
//   - "template" validation (ValidatePodTemplateSpec) is pod-spec validation
//     without the checks that only make sense for a live pod;
//   - "sidecar" is an init container whose restartPolicy is Always.
package validation
