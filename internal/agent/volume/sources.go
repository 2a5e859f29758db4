package volume

import (
	"context"
	"fmt"
	"io/fs"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// keyedData is the data of a ConfigMap or Secret, with what errors call it.
type keyedData struct {
	data map[string][]byte
	// missingKey formats the error for an item naming an absent key.
	missingKey func(key string) error
}

// getConfigMap reads a ConfigMap; found is false when it does not exist.
func (m *Manager) getConfigMap(ctx context.Context, ns, name string) (*keyedData, bool, error) {
	cm, err := m.o.Objects.ConfigMap(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get configmap %s/%s: %w", ns, name, err)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return &keyedData{data: data, missingKey: func(key string) error {
		return fmt.Errorf("configmap references non-existent config key: %s", key)
	}}, true, nil
}

// getSecret reads a Secret; found is false when it does not exist.
func (m *Manager) getSecret(ctx context.Context, ns, name string) (*keyedData, bool, error) {
	s, err := m.o.Objects.Secret(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get secret %s/%s: %w", ns, name, err)
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		data[k] = v
	}
	return &keyedData{data: data, missingKey: func(key string) error {
		return fmt.Errorf("references non-existent secret key: %s", key)
	}}, true, nil
}

// keysToPayload projects data into files: every key, or only items (with
// their paths and modes). An item naming an absent key is an error unless
// optional.
func keysToPayload(d *keyedData, items []corev1.KeyToPath, defaultMode int32, optional bool, into payload) error {
	if len(items) == 0 {
		for k, v := range d.data {
			into[k] = file{data: v, mode: fs.FileMode(defaultMode)}
		}
		return nil
	}
	for _, it := range items {
		v, ok := d.data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return d.missingKey(it.Key)
		}
		into[it.Path] = file{data: v, mode: fs.FileMode(modeOr(it.Mode, defaultMode))}
	}
	return nil
}

// keyedSource is a configMap or secret referenced by a volume or a
// projection.
type keyedSource struct {
	// kind is "configmap" or "secret", as errors name it.
	kind     string
	name     string
	items    []corev1.KeyToPath
	optional *bool
}

// projectKeyed adds the files of a configMap or secret source to into. A
// missing object is an error unless optional.
func (m *Manager) projectKeyed(ctx context.Context, ns string, src keyedSource, mode int32, into payload) error {
	get := m.getConfigMap
	if src.kind == "secret" {
		get = m.getSecret
	}
	d, found, err := get(ctx, ns, src.name)
	optional := src.optional != nil && *src.optional
	switch {
	case err != nil:
		return err
	case !found && optional:
		return nil
	case !found:
		return fmt.Errorf("%s %q not found", src.kind, src.name)
	}
	return keysToPayload(d, src.items, mode, optional, into)
}

// configMapPayload builds a configMap volume's files.
func (m *Manager) configMapPayload(ctx context.Context, ns string, src *corev1.ConfigMapVolumeSource) (payload, error) {
	p := payload{}
	err := m.projectKeyed(ctx, ns, keyedSource{"configmap", src.Name, src.Items, src.Optional},
		modeOr(src.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode), p)
	return p, err
}

// secretPayload builds a secret volume's files.
func (m *Manager) secretPayload(ctx context.Context, ns string, src *corev1.SecretVolumeSource) (payload, error) {
	p := payload{}
	err := m.projectKeyed(ctx, ns, keyedSource{"secret", src.SecretName, src.Items, src.Optional},
		modeOr(src.DefaultMode, corev1.SecretVolumeSourceDefaultMode), p)
	return p, err
}

// projectedPayload builds a projected volume's files from all its sources.
func (m *Manager) projectedPayload(ctx context.Context, pod *corev1.Pod, src *corev1.ProjectedVolumeSource) (payload, error) {
	mode := modeOr(src.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
	p := payload{}
	for i, s := range src.Sources {
		if err := m.projectOne(ctx, pod, s, mode, p); err != nil {
			return nil, fmt.Errorf("sources[%d]: %w", i, err)
		}
	}
	return p, nil
}

// projectOne adds one projected source's files to p.
func (m *Manager) projectOne(ctx context.Context, pod *corev1.Pod, s corev1.VolumeProjection, mode int32, p payload) error {
	switch {
	case s.ConfigMap != nil:
		return m.projectKeyed(ctx, pod.Namespace, keyedSource{"configmap", s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional}, mode, p)
	case s.Secret != nil:
		return m.projectKeyed(ctx, pod.Namespace, keyedSource{"secret", s.Secret.Name, s.Secret.Items, s.Secret.Optional}, mode, p)
	case s.DownwardAPI != nil:
		dp, err := m.downwardAPIPayload(pod, s.DownwardAPI.Items, mode)
		if err != nil {
			return err
		}
		for k, v := range dp {
			p[k] = v
		}
		return nil
	case s.ServiceAccountToken != nil:
		tok, err := m.tokens.get(ctx, m.o.Client, pod, s.ServiceAccountToken)
		if err != nil {
			return err
		}
		p[s.ServiceAccountToken.Path] = file{data: []byte(tok), mode: fs.FileMode(mode)}
		return nil
	case s.ClusterTrustBundle != nil:
		return fmt.Errorf("clusterTrustBundle projections are not supported by skiff (the ClusterTrustBundle API is not served)")
	}
	return fmt.Errorf("empty projection: set one of configMap, secret, downwardAPI or serviceAccountToken")
}
