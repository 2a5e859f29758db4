package volume

import (
	"context"
	"fmt"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// defaultTokenExpiration is a projected token's lifetime when the volume
// names none, as upstream.
const defaultTokenExpiration = int64(3600)

// maxTokenAge is how long a token is reused at most, whatever its
// lifetime (the kubelet's 24 hours).
const maxTokenAge = 24 * time.Hour

// tokenCache keeps the service-account tokens requested for projected
// volumes and renews each once 80% of its lifetime has passed, like the
// kubelet's token manager.
type tokenCache struct {
	// mu guards tokens.
	mu     sync.Mutex
	tokens map[tokenKey]cachedToken
}

// tokenKey identifies one projected token of one pod.
type tokenKey struct {
	pod        types.UID
	namespace  string
	account    string
	audience   string
	expiration int64
}

type cachedToken struct {
	token   string
	issued  time.Time
	expires time.Time
}

func newTokenCache() *tokenCache { return &tokenCache{tokens: map[tokenKey]cachedToken{}} }

// fresh reports whether t may still be served at now.
func (t cachedToken) fresh(now time.Time) bool {
	life := t.expires.Sub(t.issued)
	return now.Before(t.issued.Add(life*8/10)) && now.Before(t.issued.Add(maxTokenAge))
}

// get returns a token for the projection of pod, requesting a new one
// (bound to the pod) when there is none or it is due for renewal.
func (c *tokenCache) get(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) (string, error) {
	account := pod.Spec.ServiceAccountName
	if account == "" {
		account = "default"
	}
	exp := defaultTokenExpiration
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	key := tokenKey{pod: pod.UID, namespace: pod.Namespace, account: account, audience: src.Audience, expiration: exp}
	now := time.Now()
	c.mu.Lock()
	t, ok := c.tokens[key]
	c.mu.Unlock()
	if ok && t.fresh(now) {
		return t.token, nil
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	out, err := client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, account, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to fetch token: %w", err)
	}
	t = cachedToken{token: out.Status.Token, issued: now, expires: out.Status.ExpirationTimestamp.Time}
	if !t.expires.After(now) {
		t.expires = now.Add(time.Duration(exp) * time.Second)
	}
	c.mu.Lock()
	c.tokens[key] = t
	c.mu.Unlock()
	return t.token, nil
}

// forget drops the tokens of pod uid.
func (c *tokenCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.tokens {
		if k.pod == uid {
			delete(c.tokens, k)
		}
	}
}
