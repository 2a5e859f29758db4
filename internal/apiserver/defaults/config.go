package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// ConfigMap has no defaults upstream; it exists so every resource has one.
func ConfigMap(_ *corev1.ConfigMap) {}

// Secret fills type Opaque and merges stringData into data (stringData wins),
// which upstream does during API conversion; stringData is write-only and is
// cleared.
func Secret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}
