package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/apiserver"
	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/auth"
	"github.com/skiffhq/skiff/internal/auth/pki"
)

// AgentClientUser is the identity the server presents to node agents
// (upstream's kube-apiserver-kubelet-client).
const AgentClientUser = "kube-apiserver-kubelet-client"

var configMapsGVR = corev1.SchemeGroupVersion.WithResource("configmaps")

// publishClientCA writes the cluster's client CA to ConfigMap
// kube-system/extension-apiserver-authentication (key client-ca-file), as
// upstream does: agents and extension servers read it to verify client
// certificates.
func publishClientCA(ctx context.Context, api *apiserver.Server, caPEM []byte) error {
	store := api.Store(configMapsGVR)
	const ns, name = "kube-system", "extension-apiserver-authentication"
	set := func(cur runtime.Object) (runtime.Object, error) {
		cm, ok := cur.(*corev1.ConfigMap)
		if !ok || cm == nil {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data["client-ca-file"] = string(caPEM)
		return cm, nil
	}
	_, _, err := store.Update(ctx, ns, name, set, registry.UpdateOptions{CreateIfMissing: true})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("publish client CA: %w", err)
	}
	return nil
}

// agentClientTLS is the server's client configuration for node agents: a
// certificate from the cluster client CA for kube-apiserver-kubelet-client
// in system:masters. Agents' serving certificates are self-signed and not
// verified (upstream's default without --kubelet-certificate-authority).
func agentClientTLS(o Options) (*tls.Config, error) {
	dir := filepath.Join(o.DataDir, "tls")
	clientCA, err := pki.EnsureCA(dir, "client-ca", "")
	if err != nil {
		return nil, fmt.Errorf("agent client certificate: %w", err)
	}
	certPEM, keyPEM, err := clientCA.EnsureClientCert(dir, "apiserver-agent-client", AgentClientUser, []string{auth.GroupMasters})
	if err != nil {
		return nil, fmt.Errorf("agent client certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("agent client certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair},
		InsecureSkipVerify: true}, nil //nolint:gosec // agents serve self-signed certificates
}
