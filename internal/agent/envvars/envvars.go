// Package envvars computes a container's environment and command line:
// env (value, configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef),
// envFrom, service-link variables and $(VAR) expansion.
//
// The order of precedence follows the kubelet: service-link variables are
// the base, envFrom entries override them, and env entries override both
// (a later env entry overrides an earlier one of the same name).
package envvars

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// Source reads the objects environment variables refer to. An absent
// object is an error satisfying apierrors.IsNotFound (or a nil object).
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
	// HostIPs are the node's IPs for status.hostIPs; HostIP when empty.
	HostIPs []string
	// NodeAllocatable fills resourceFieldRef limits a container does not set.
	NodeAllocatable corev1.ResourceList
}

// Result is a container's resolved environment and command line.
type Result struct {
	Env     []corev1.EnvVar // final, in order, names unique (later wins)
	Command []string        // $(VAR) expanded
	Args    []string        // $(VAR) expanded
	// Warnings are messages for an InvalidEnvironmentVariableNames
	// warning event on the pod: envFrom keys that are not valid
	// variable names were skipped.
	Warnings []string
}

// ReasonInvalidNames is the event reason for Result.Warnings.
const ReasonInvalidNames = "InvalidEnvironmentVariableNames"

// Resolve computes container c's environment. A missing non-optional
// ConfigMap/Secret or key is an error whose text matches the kubelet's
// (e.g. `configmap "x" not found`, `couldn't find key k in ConfigMap ns/x`);
// the pod worker reports it as CreateContainerConfigError.
func Resolve(ctx context.Context, src Source, pod *corev1.Pod, c *corev1.Container, rt Runtime) (Result, error) {
	services, err := serviceEnv(ctx, src, pod)
	if err != nil {
		return Result{}, err
	}
	objs := &objects{src: src, namespace: pod.Namespace}
	user := &envList{}
	var r Result
	for i := range c.EnvFrom {
		warning, err := objs.addEnvFrom(ctx, user, &c.EnvFrom[i])
		if err != nil {
			return Result{}, err
		}
		if warning != "" {
			r.Warnings = append(r.Warnings, warning)
		}
	}
	lookup := func(name string) (string, bool) {
		if v, ok := user.get(name); ok {
			return v, true
		}
		return services.get(name)
	}
	for i := range c.Env {
		e := &c.Env[i]
		value := e.Value
		switch {
		case value != "":
			value = Expand(value, lookup)
		case e.ValueFrom != nil:
			v, ok, err := objs.valueFrom(ctx, pod, c, rt, e.ValueFrom)
			if err != nil {
				return Result{}, err
			}
			if !ok {
				continue // an optional source that is absent sets nothing
			}
			value = v
		}
		user.set(e.Name, value)
	}

	final := &envList{}
	for _, e := range services.vars {
		if _, overridden := user.get(e.Name); !overridden {
			final.set(e.Name, e.Value)
		}
	}
	for _, e := range user.vars {
		final.set(e.Name, e.Value)
	}
	r.Env = final.vars
	r.Command = expandAll(c.Command, final.get)
	r.Args = expandAll(c.Args, final.get)
	return r, nil
}

func expandAll(in []string, lookup func(string) (string, bool)) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Expand(s, lookup)
	}
	return out
}

// envList is an ordered set of variables: setting an existing name
// replaces its value in place.
type envList struct {
	vars  []corev1.EnvVar
	index map[string]int
}

func (l *envList) set(name, value string) {
	if l.index == nil {
		l.index = map[string]int{}
	}
	if i, ok := l.index[name]; ok {
		l.vars[i].Value = value
		return
	}
	l.index[name] = len(l.vars)
	l.vars = append(l.vars, corev1.EnvVar{Name: name, Value: value})
}

func (l *envList) get(name string) (string, bool) {
	i, ok := l.index[name]
	if !ok {
		return "", false
	}
	return l.vars[i].Value, true
}
