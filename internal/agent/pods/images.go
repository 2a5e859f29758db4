package pods

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/images"
)

// Waiting reasons of image problems, the kubelet's.
const (
	reasonErrImagePull      = "ErrImagePull"
	reasonImagePullBackOff  = "ImagePullBackOff"
	reasonErrImageNeverPull = "ErrImageNeverPull"
	reasonInvalidImageName  = "InvalidImageName"
)

// imageError is an image that cannot be had; reason becomes the container's
// waiting reason.
type imageError struct {
	reason, msg string
}

func (e *imageError) Error() string { return e.msg }

// pullPolicy is c's imagePullPolicy, defaulted like the API server does.
func pullPolicy(c *corev1.Container) corev1.PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	if _, tag, err := images.NormalizeRef(c.Image); err == nil && tag == "latest" && !strings.Contains(c.Image, "@") {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// ensureImage makes c's image present per its pull policy and returns it.
func (w *podWorker) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sandbox *runtimeapi.PodSandboxConfig) (*runtimeapi.Image, error) {
	m := w.m
	if strings.TrimSpace(c.Image) == "" {
		return nil, &imageError{reason: reasonInvalidImageName, msg: fmt.Sprintf("Failed to apply default image tag %q: couldn't parse image name", c.Image)}
	}
	spec := &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image}
	img, err := m.o.Runtime.ImageStatus(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("image status %s: %w", c.Image, err)
	}
	policy := pullPolicy(c)
	if img != nil && policy != corev1.PullAlways {
		m.event(pod, c, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", c.Image))
		return img, nil
	}
	if policy == corev1.PullNever {
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		m.event(pod, c, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
		return nil, &imageError{reason: reasonErrImageNeverPull, msg: msg}
	}
	key := "image/" + c.Image
	if in, _, _ := w.backoff.inBackoffSince(key, w.backoff.now()); in {
		msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
		m.event(pod, c, corev1.EventTypeNormal, "BackOff", msg)
		return nil, &imageError{reason: reasonImagePullBackOff, msg: msg}
	}
	m.event(pod, c, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", c.Image))
	start := time.Now()
	if err := w.pull(ctx, pod, spec, sandbox); err != nil {
		w.backoff.next(key)
		msg := fmt.Sprintf("Failed to pull image %q: %v", c.Image, err)
		m.event(pod, c, corev1.EventTypeWarning, "Failed", msg)
		m.event(pod, c, corev1.EventTypeWarning, "Failed", "Error: "+reasonErrImagePull)
		return nil, &imageError{reason: reasonErrImagePull, msg: msg}
	}
	w.backoff.reset(key)
	img, err = m.o.Runtime.ImageStatus(ctx, spec)
	if err != nil || img == nil {
		return nil, &imageError{reason: reasonErrImagePull, msg: fmt.Sprintf("image %q not found after pulling it: %v", c.Image, err)}
	}
	m.event(pod, c, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %s. Image size: %d bytes.", c.Image, time.Since(start).Round(time.Millisecond), img.GetSize_()))
	return img, nil
}

// pull pulls an image, trying the credentials of the pod's image pull
// secrets for its registry before pulling anonymously.
func (w *podWorker) pull(ctx context.Context, pod *corev1.Pod, spec *runtimeapi.ImageSpec, sandbox *runtimeapi.PodSandboxConfig) error {
	creds := w.pullCredentials(ctx, pod, spec.GetImage())
	var errs []error
	for _, auth := range append(creds, nil) {
		if _, err := w.m.o.Runtime.PullImage(ctx, spec, auth, sandbox); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return errors.Join(errs...)
}

// dockerConfigEntry is one registry's credentials in a docker config.
type dockerConfigEntry struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// pullCredentials are the credentials of the pod's image pull secrets that
// match image's registry.
func (w *podWorker) pullCredentials(ctx context.Context, pod *corev1.Pod, image string) []*runtimeapi.AuthConfig {
	repo := imageRepository(image)
	var out []*runtimeapi.AuthConfig
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := w.m.env.Secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			continue // the kubelet pulls anyway, without this secret
		}
		entries := map[string]dockerConfigEntry{}
		switch s.Type {
		case corev1.SecretTypeDockerConfigJson:
			var cfg struct {
				Auths map[string]dockerConfigEntry `json:"auths"`
			}
			if json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) == nil {
				entries = cfg.Auths
			}
		case corev1.SecretTypeDockercfg:
			_ = json.Unmarshal(s.Data[corev1.DockerConfigKey], &entries)
		}
		for server, e := range entries {
			if !registryMatches(server, repo) {
				continue
			}
			a := &runtimeapi.AuthConfig{
				Username: e.Username, Password: e.Password, Auth: e.Auth, ServerAddress: server,
				IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken,
			}
			if a.Username == "" && e.Auth != "" {
				if b, err := base64.StdEncoding.DecodeString(e.Auth); err == nil {
					a.Username, a.Password, _ = strings.Cut(string(b), ":")
				}
			}
			out = append(out, a)
		}
	}
	return out
}

// imageRepository is image's fully qualified repository
// ("docker.io/library/busybox").
func imageRepository(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if name, _, err := images.NormalizeRef(image); err == nil {
		return name
	}
	return image
}

// registryMatches reports whether a docker config key ("https://index.docker.io/v1/",
// "registry.example.com:5000", "example.com/team") covers repo.
func registryMatches(key, repo string) bool {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	key = strings.TrimSuffix(key, "/")
	key = strings.TrimSuffix(strings.TrimSuffix(key, "/v1"), "/v2")
	switch key {
	case "index.docker.io", "registry-1.docker.io":
		key = "docker.io"
	}
	return repo == key || strings.HasPrefix(repo, key+"/")
}
