package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/auth"
)

// Token lifetimes, upstream's.
const (
	defaultTokenExpirationSeconds = int64(3600)
	minTokenExpirationSeconds     = int64(10 * 60)
	maxTokenExpirationSeconds     = int64(1 << 32)
)

var (
	tokenRequestGVK = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")
	boundPodsGVR    = corev1.SchemeGroupVersion.WithResource("pods")
	boundSecretsGVR = corev1.SchemeGroupVersion.WithResource("secrets")
	boundNodesGVR   = corev1.SchemeGroupVersion.WithResource("nodes")
	tokenSAGVR      = corev1.SchemeGroupVersion.WithResource("serviceaccounts")
)

// serveTokenRequest issues a service-account token (POST
// serviceaccounts/<name>/token with an authentication.k8s.io/v1
// TokenRequest): a signed JWT for the account, optionally bound to a pod,
// secret or node, so it stops working when that object goes away.
func (s *Server) serveTokenRequest(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	if ri.Verb != "create" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(h.res.GroupResource(), ri.Verb))
		return
	}
	if s.cfg.ServiceAccountTokens == nil {
		s.writeError(w, r, apierrors.NewServiceUnavailable("service account token signing is not configured"))
		return
	}
	_, body, ok := s.writeRequest(w, r)
	if !ok {
		return
	}
	req := &authenticationv1.TokenRequest{}
	if err := s.decodeOptions(r, body, tokenRequestGVK, req); err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	out, err := s.issueToken(r.Context(), h, ri, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out.SetGroupVersionKind(tokenRequestGVK)
	s.writeObject(w, r, nil, http.StatusCreated, out)
}

// issueToken validates and defaults req, resolves what it binds to and
// signs the token.
func (s *Server) issueToken(ctx context.Context, h *resourceHandler, ri *requestInfo, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	if req.Name != "" && req.Name != ri.Name {
		return nil, apierrors.NewBadRequest("the name of the TokenRequest must match the service account name in the URL")
	}
	if req.Namespace != "" && req.Namespace != ri.Namespace {
		return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if req.Spec.ExpirationSeconds == nil {
		req.Spec.ExpirationSeconds = ptrTo(defaultTokenExpirationSeconds)
	}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tokenRequestGVK.GroupKind(), ri.Name, errs)
	}
	obj, err := h.store.Get(ctx, ri.Namespace, ri.Name)
	if err != nil {
		return nil, err
	}
	sa := obj.(*corev1.ServiceAccount)
	tokens := s.cfg.ServiceAccountTokens
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = append([]string(nil), tokens.Audiences...)
	}
	spec := auth.TokenSpec{
		Namespace: sa.Namespace, Name: sa.Name, UID: string(sa.UID),
		Audiences: req.Spec.Audiences,
		Lifetime:  time.Duration(*req.Spec.ExpirationSeconds) * time.Second,
	}
	if ref := req.Spec.BoundObjectRef; ref != nil {
		if err := s.bindToken(ctx, ri.Namespace, ref, &spec); err != nil {
			return nil, err
		}
	}
	token, exp, err := tokens.Issue(spec, time.Now())
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out := req.DeepCopy()
	out.Name, out.Namespace = sa.Name, sa.Namespace
	out.CreationTimestamp = metav1.Time{}
	out.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(exp)}
	return out, nil
}

func validateTokenRequest(req *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "expirationSeconds")
	switch exp := *req.Spec.ExpirationSeconds; {
	case exp < minTokenExpirationSeconds:
		errs = append(errs, field.Invalid(p, exp, "may not specify a duration less than 10 minutes"))
	case exp > maxTokenExpirationSeconds:
		errs = append(errs, field.Invalid(p, exp, "may not specify a duration larger than 2^32 seconds"))
	}
	return errs
}

// bindToken resolves a boundObjectRef (a Pod, Secret or Node that must
// exist with the given UID) into the token's claims.
func (s *Server) bindToken(ctx context.Context, ns string, ref *authenticationv1.BoundObjectReference, spec *auth.TokenSpec) error {
	gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	if gvk.Group != "" || gvk.Version != "v1" {
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for object of type %s", gvk))
	}
	var gvr schema.GroupVersionResource
	objNS := ns
	switch gvk.Kind {
	case "Pod":
		gvr = boundPodsGVR
	case "Secret":
		gvr = boundSecretsGVR
	case "Node":
		gvr, objNS = boundNodesGVR, ""
	default:
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for object of type %s", gvk))
	}
	obj, err := s.Store(gvr).Get(ctx, objNS, ref.Name)
	if err != nil {
		return err
	}
	m := obj.(metav1.Object)
	if ref.UID != "" && ref.UID != m.GetUID() {
		return apierrors.NewConflict(schema.GroupResource{Resource: gvr.Resource}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	bound := &auth.ObjectRef{Name: m.GetName(), UID: string(m.GetUID())}
	switch gvk.Kind {
	case "Pod":
		spec.Pod = bound
		if node := obj.(*corev1.Pod).Spec.NodeName; node != "" {
			spec.Node = &auth.ObjectRef{Name: node}
			if n, err := s.Store(boundNodesGVR).GetCached(ctx, "", node); err == nil {
				spec.Node.UID = string(n.(metav1.Object).GetUID())
			}
		}
	case "Secret":
		spec.Secret = bound
	case "Node":
		spec.Node = bound
	}
	return nil
}

// ValidateBoundToken checks that the service account of a token, and the
// pod or secret it is bound to, still exist with the UIDs in its claims.
// The service-account authenticator calls it on every request.
func (s *Server) ValidateBoundToken(ctx context.Context, c *auth.ServiceAccountClaims) error {
	k := c.Kubernetes
	check := func(gvr schema.GroupVersionResource, ns string, ref *auth.ObjectRef) error {
		obj, err := s.Store(gvr).GetCached(ctx, ns, ref.Name)
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", gvr.Resource, ns, ref.Name, err)
		}
		if ref.UID != "" && types.UID(ref.UID) != obj.(metav1.Object).GetUID() {
			return errors.New(gvr.Resource + " UID (" + ref.UID + ") does not match the stored object")
		}
		return nil
	}
	if err := check(tokenSAGVR, k.Namespace, &k.ServiceAccount); err != nil {
		return err
	}
	if k.Pod != nil {
		return check(boundPodsGVR, k.Namespace, k.Pod)
	}
	if k.Secret != nil {
		return check(boundSecretsGVR, k.Namespace, k.Secret)
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }
