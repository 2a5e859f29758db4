package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/internal/apiserver"
	saadmission "github.com/skiffhq/skiff/internal/apiserver/admission/serviceaccount"
	"github.com/skiffhq/skiff/internal/auth"
)

var serviceAccountsGVR = corev1.SchemeGroupVersion.WithResource("serviceaccounts")

// serviceAccountKeyFile is the key that signs service-account tokens,
// next to the other PKI files (DIR/tls).
const serviceAccountKeyFile = "service-account.key"

// ensureServiceAccountKey loads the token-signing key from dir, creating an
// ECDSA P-256 key (ES256 tokens) on first start.
func ensureServiceAccountKey(dir string) (*ecdsa.PrivateKey, error) {
	path := filepath.Join(dir, serviceAccountKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("service account key %s: no PEM block", path)
		}
		key, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("service account key %s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read service account key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate service account key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write service account key: %w", err)
	}
	return key, nil
}

// serviceAccountTokens signs and authenticates service-account tokens with
// the key in DIR/tls (created by ensureCerts' directory).
func serviceAccountTokens(o Options) (*auth.ServiceAccountTokens, error) {
	key, err := ensureServiceAccountKey(filepath.Join(o.DataDir, "tls"))
	if err != nil {
		return nil, err
	}
	return auth.NewServiceAccountTokens(key), nil
}

// serviceAccountAdmission is the ServiceAccount admission plugin reading
// accounts from the store. Without controllers nothing creates default
// accounts, so pods are then admitted without one rather than refused.
func serviceAccountAdmission(api func() *apiserver.Server, o Options) *saadmission.Plugin {
	p := saadmission.New(func(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
		obj, err := api().Store(serviceAccountsGVR).GetCached(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		return obj.(*corev1.ServiceAccount), nil
	})
	p.AllowMissingAccount = o.DisableControllers
	return p
}
