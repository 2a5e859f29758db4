package pki

import (
	"crypto/tls"
	"fmt"
	"net/url"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultContextName names the cluster, user and context of a kubeconfig
// written without an explicit context name.
const DefaultContextName = "skiff"

// KubeconfigBytes renders a kubeconfig for serverURL with the CA, client
// certificate and key embedded as data. The cluster, user and context are all
// named contextName ("skiff" when empty) and the context is current.
// certPEM and keyPEM are given together or not at all.
func KubeconfigBytes(serverURL string, caPEM, certPEM, keyPEM []byte, contextName string) ([]byte, error) {
	if contextName == "" {
		contextName = DefaultContextName
	}
	u, err := url.Parse(serverURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("pki: kubeconfig: server %q is not an https URL", serverURL)
	}
	if len(caPEM) == 0 {
		return nil, fmt.Errorf("pki: kubeconfig: no certificate authority data")
	}
	if _, err := parseCertPEM(caPEM); err != nil {
		return nil, fmt.Errorf("pki: kubeconfig: certificate authority data: %w", err)
	}
	if (len(certPEM) == 0) != (len(keyPEM) == 0) {
		return nil, fmt.Errorf("pki: kubeconfig: client certificate and key must be given together")
	}
	if len(certPEM) > 0 {
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			return nil, fmt.Errorf("pki: kubeconfig: client certificate: %w", err)
		}
	}

	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{
		Server:                   serverURL,
		CertificateAuthorityData: caPEM,
	}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: certPEM,
		ClientKeyData:         keyPEM,
	}
	cfg.Contexts[contextName] = &clientcmdapi.Context{
		Cluster:  contextName,
		AuthInfo: contextName,
	}
	cfg.CurrentContext = contextName
	if err := clientcmd.Validate(*cfg); err != nil {
		return nil, fmt.Errorf("pki: kubeconfig: %w", err)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("pki: kubeconfig: %w", err)
	}
	return data, nil
}

// WriteKubeconfig writes KubeconfigBytes to path atomically with mode 0600,
// creating missing parent directories with mode 0700.
func WriteKubeconfig(path, serverURL string, caPEM, certPEM, keyPEM []byte, contextName string) error {
	data, err := KubeconfigBytes(serverURL, caPEM, certPEM, keyPEM, contextName)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, data, keyFileMode); err != nil {
		return fmt.Errorf("pki: kubeconfig: %w", err)
	}
	return nil
}
