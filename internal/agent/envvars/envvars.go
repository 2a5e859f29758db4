// Package envvars computes a container's environment and command line:
// env (value, configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef),
// envFrom, service-link variables and $(VAR) expansion.
//
// STUB: the signatures are the contract with internal/agent/pods; the bodies
// are being written.
package envvars

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
)

// Source reads the objects environment variables refer to.
type Source interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	// Services lists the services of namespace (for service links) and
	// of the default namespace (the "kubernetes" service).
	Services(ctx context.Context, namespace string) ([]*corev1.Service, error)
}

// Runtime is what the node knows about the pod when its container starts.
type Runtime struct {
	PodIPs []string
	HostIP string
	// NodeAllocatable fills resourceFieldRef limits a container does not set.
	NodeAllocatable corev1.ResourceList
}

// Result is a container's resolved environment and command line.
type Result struct {
	Env     []corev1.EnvVar // final, in order, names unique (later wins)
	Command []string        // $(VAR) expanded
	Args    []string        // $(VAR) expanded
}

// Resolve computes container c's environment. A missing non-optional
// ConfigMap/Secret or key is an error whose text matches the kubelet's
// (e.g. `configmap "x" not found`, `couldn't find key k in ConfigMap ns/x`);
// the pod worker reports it as CreateContainerConfigError.
func Resolve(ctx context.Context, src Source, pod *corev1.Pod, c *corev1.Container, rt Runtime) (Result, error) {
	r := Result{Command: c.Command, Args: c.Args}
	if len(c.EnvFrom) > 0 {
		return Result{}, errors.New("envvars: envFrom not implemented")
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			return Result{}, errors.New("envvars: valueFrom not implemented")
		}
		r.Env = append(r.Env, e)
	}
	return r, nil
}
