// Package serviceaccount is the ServiceAccount admission plugin: on pod
// creation it defaults spec.serviceAccountName to "default", refuses pods
// whose account does not exist and, unless automounting is turned off,
// adds the projected kube-api-access-<random> volume (a bound token, the
// cluster CA and the namespace) mounted at
// /var/run/secrets/kubernetes.io/serviceaccount in every container.
package serviceaccount

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/skiffhq/skiff/internal/apiserver/admission"
)

// Names and values of the injected volume, upstream's.
const (
	// DefaultServiceAccountName is the account of pods that name none.
	DefaultServiceAccountName = "default"
	// DefaultAPITokenMountPath is where containers find the token.
	DefaultAPITokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// VolumeNamePrefix prefixes the injected volume's name.
	VolumeNamePrefix = "kube-api-access-"
	// RootCAConfigMap is the ConfigMap holding the cluster CA in every
	// namespace; RootCAKey its key.
	RootCAConfigMap = "kube-root-ca.crt"
	RootCAKey       = "ca.crt"
	// TokenExpirationSeconds is the injected token's requested lifetime.
	TokenExpirationSeconds = int64(3607)
	// MirrorPodAnnotation marks static pods, which get no account.
	MirrorPodAnnotation = "kubernetes.io/config.mirror"
)

// defaultAccountWait bounds how long a pod waits for the "default" account
// of a namespace created a moment ago (the serviceaccount controller
// creates it right after the namespace).
const defaultAccountWait = 5 * time.Second

// GetServiceAccount reads a ServiceAccount; it returns a NotFound API error
// when there is none.
type GetServiceAccount func(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error)

// Plugin is the ServiceAccount admission plugin.
type Plugin struct {
	get GetServiceAccount
	// AllowMissingAccount admits a pod whose account does not exist, with
	// no token volume, instead of refusing it. For servers that run no
	// serviceaccount controller, where no namespace ever gets a default
	// account.
	AllowMissingAccount bool
}

// New returns the plugin reading accounts through get.
func New(get GetServiceAccount) *Plugin { return &Plugin{get: get} }

var podsGR = schema.GroupResource{Resource: "pods"}

// Admit implements admission.Plugin.
func (p *Plugin) Admit(ctx context.Context, a *admission.Attributes) error {
	if a.Resource == nil || a.Subresource != "" || a.Operation != admission.Create || a.Resource.GroupResource() != podsGR {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil
	}
	if _, mirror := pod.Annotations[MirrorPodAnnotation]; mirror {
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	// The deprecated twin follows, as defaulting would make it on any later
	// update; left empty, every update of the pod would look like a change
	// of spec.serviceAccount and be refused.
	if pod.Spec.DeprecatedServiceAccount == "" {
		pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	}
	sa, err := p.lookup(ctx, a.Namespace, pod.Spec.ServiceAccountName)
	if apierrors.IsNotFound(err) && p.AllowMissingAccount {
		return nil
	}
	if err != nil {
		return apierrors.NewForbidden(podsGR, podName(a, pod),
			fmt.Errorf("error looking up service account %s/%s: %w", a.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if automount(pod, sa) {
		mountToken(pod)
	}
	return nil
}

// lookup reads the account; the default account of a brand-new namespace
// is waited for briefly.
func (p *Plugin) lookup(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	sa, err := p.get(ctx, ns, name)
	if !apierrors.IsNotFound(err) || name != DefaultServiceAccountName || p.AllowMissingAccount {
		return sa, notFoundAsAccount(err, name)
	}
	deadline := time.NewTimer(defaultAccountWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, notFoundAsAccount(err, name)
		case <-deadline.C:
			return nil, notFoundAsAccount(err, name)
		case <-tick.C:
		}
		if sa, err = p.get(ctx, ns, name); !apierrors.IsNotFound(err) {
			return sa, err
		}
	}
}

// notFoundAsAccount phrases a NotFound like upstream's plugin does
// (`serviceaccount "default" not found`).
func notFoundAsAccount(err error, name string) error {
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccount"}, name)
	}
	return err
}

// automount reports whether the pod gets a token: the pod's setting wins
// over the account's; the default is yes.
func automount(pod *corev1.Pod, sa *corev1.ServiceAccount) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa != nil && sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// mountToken adds the projected volume and mounts it in every container
// and init container that does not mount something at the token path yet.
func mountToken(pod *corev1.Pod) {
	name := ""
	added := false
	mount := func(cs []corev1.Container) {
		for i := range cs {
			if hasMountAt(cs[i].VolumeMounts, DefaultAPITokenMountPath) {
				continue
			}
			if name == "" {
				name = volumeName(pod)
			}
			cs[i].VolumeMounts = append(cs[i].VolumeMounts, corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: DefaultAPITokenMountPath})
			added = true
		}
	}
	mount(pod.Spec.InitContainers)
	mount(pod.Spec.Containers)
	if added {
		pod.Spec.Volumes = append(pod.Spec.Volumes, TokenVolume(name))
	}
}

func hasMountAt(mounts []corev1.VolumeMount, path string) bool {
	for _, m := range mounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// volumeName picks kube-api-access-<5 random chars> not used by the pod.
func volumeName(pod *corev1.Pod) string {
	used := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		used[v.Name] = true
	}
	for {
		if n := VolumeNamePrefix + utilrand.String(5); !used[n] {
			return n
		}
	}
}

// TokenVolume is the projected volume the plugin injects.
func TokenVolume(name string) corev1.Volume {
	mode := corev1.ProjectedVolumeSourceDefaultMode
	exp := TokenExpirationSeconds
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &exp, Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCAConfigMap},
				Items:                []corev1.KeyToPath{{Key: RootCAKey, Path: RootCAKey}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}}}
}

func podName(a *admission.Attributes, pod *corev1.Pod) string {
	switch {
	case a.Name != "":
		return a.Name
	case pod.Name != "":
		return pod.Name
	}
	return pod.GenerateName
}
