package envvars

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// objects reads a pod's ConfigMaps and Secrets once each per Resolve.
type objects struct {
	src        Source
	namespace  string
	configMaps map[string]*corev1.ConfigMap // nil value: absent
	secrets    map[string]*corev1.Secret
}

// configMap returns the named ConfigMap, or an error reading
// `configmap "name" not found` (IsNotFound) when it is absent.
func (o *objects) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	return cached(ctx, &o.configMaps, o.src.ConfigMap, o.namespace, name, "configmap")
}

// secret returns the named Secret, or an error reading
// `secret "name" not found` (IsNotFound) when it is absent.
func (o *objects) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	return cached(ctx, &o.secrets, o.src.Secret, o.namespace, name, "secret")
}

// cached reads an object through cache, remembering absent ones too. An
// absent object is a NotFound error for resource, which the kubelet names
// in the singular ("configmap", "secret").
func cached[T any](ctx context.Context, cache *map[string]*T, get func(context.Context, string, string) (*T, error), namespace, name, resource string) (*T, error) {
	obj, seen := (*cache)[name]
	if !seen {
		var err error
		obj, err = get(ctx, namespace, name)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("get %s %s/%s: %w", resource, namespace, name, err)
		}
		if err != nil {
			obj = nil
		}
		if *cache == nil {
			*cache = map[string]*T{}
		}
		(*cache)[name] = obj
	}
	if obj == nil {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
	}
	return obj, nil
}

// addEnvFrom adds every key of an envFrom source (with its prefix) to env.
// Keys that are not valid variable names are skipped and named in the
// returned warning. An absent optional source adds nothing.
func (o *objects) addEnvFrom(ctx context.Context, env *envList, from *corev1.EnvFromSource) (warning string, err error) {
	data := map[string]string{}
	var kind, name string
	switch {
	case from.ConfigMapRef != nil:
		kind, name = "configMap", from.ConfigMapRef.Name
		cm, err := o.configMap(ctx, name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(from.ConfigMapRef.Optional) {
				return "", nil
			}
			return "", err
		}
		data = cm.Data
	case from.SecretRef != nil:
		kind, name = "secret", from.SecretRef.Name
		s, err := o.secret(ctx, name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(from.SecretRef.Optional) {
				return "", nil
			}
			return "", err
		}
		data = stringData(s)
	default:
		return "", nil
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var invalid []string
	for _, k := range keys {
		name := from.Prefix + k
		if len(validation.IsEnvVarName(name)) != 0 {
			invalid = append(invalid, name)
			continue
		}
		env.set(name, data[k])
	}
	if len(invalid) == 0 {
		return "", nil
	}
	return fmt.Sprintf("Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
		strings.Join(invalid, ", "), kind, o.namespace, name), nil
}

// valueFrom resolves an env entry's valueFrom. ok is false when an
// optional ConfigMap/Secret or key is absent: the variable is not set.
func (o *objects) valueFrom(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rt Runtime, from *corev1.EnvVarSource) (value string, ok bool, err error) {
	switch {
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		return keyValue(ref.Key, ref.Optional, "ConfigMap "+o.namespace+"/"+ref.Name, func() (map[string]string, error) {
			cm, err := o.configMap(ctx, ref.Name)
			if err != nil {
				return nil, err
			}
			return cm.Data, nil
		})
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		return keyValue(ref.Key, ref.Optional, "Secret "+o.namespace+"/"+ref.Name, func() (map[string]string, error) {
			s, err := o.secret(ctx, ref.Name)
			if err != nil {
				return nil, err
			}
			return stringData(s), nil
		})
	case from.FieldRef != nil:
		v, err := fieldValue(pod, rt, from.FieldRef)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := resourceValue(c, rt, from.ResourceFieldRef)
		return v, err == nil, err
	}
	return "", false, fmt.Errorf("valueFrom sets no source")
}

// keyValue looks key up in the data read returns; what names the object
// in the error for a missing key ("ConfigMap ns/name").
func keyValue(key string, optional *bool, what string, read func() (map[string]string, error)) (string, bool, error) {
	data, err := read()
	if err != nil {
		if apierrors.IsNotFound(err) && isTrue(optional) {
			return "", false, nil
		}
		return "", false, err
	}
	v, found := data[key]
	if !found {
		if isTrue(optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("couldn't find key %s in %s", key, what)
	}
	return v, true, nil
}

func stringData(s *corev1.Secret) map[string]string {
	data := make(map[string]string, len(s.Data))
	for k, v := range s.Data {
		data[k] = string(v)
	}
	return data
}

func isTrue(b *bool) bool { return b != nil && *b }
