package volume_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/agent/volume"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// apiEnv is a real API server, a namespace and a volume.Manager reading from it.
type apiEnv struct {
	srv *testserver.Server
	c   kubernetes.Interface
	ns  string
	m   *volume.Manager
}

func startAPI(t *testing.T) *apiEnv {
	t.Helper()
	srv := testserver.Start(t, nil)
	e := &apiEnv{srv: srv, c: srv.Client, ns: "vol"}
	e.create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}})
	e.m = volume.NewManager(volume.Options{Root: t.TempDir(), Client: srv.Client, NodeName: "node-a",
		NodeAllocatable: func() corev1.ResourceList {
			return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
		}})
	return e
}

// create creates a namespace, ConfigMap, Secret or ServiceAccount.
func (e *apiEnv) create(t *testing.T, obj any) {
	t.Helper()
	ctx := context.Background()
	var err error
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = e.c.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
	case *corev1.ConfigMap:
		_, err = e.c.CoreV1().ConfigMaps(e.ns).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Secret:
		_, err = e.c.CoreV1().Secrets(e.ns).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.ServiceAccount:
		_, err = e.c.CoreV1().ServiceAccounts(e.ns).Create(ctx, o, metav1.CreateOptions{})
	default:
		t.Fatalf("create: unexpected %T", obj)
	}
	if err != nil {
		t.Fatalf("create %T: %v", obj, err)
	}
}

// files reads every user-visible file of a volume dir (following the
// key -> ..data/key links), as a container would see it.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		walkFiles(t, filepath.Join(dir, e.Name()), e.Name(), out)
	}
	return out
}

func walkFiles(t *testing.T, path, rel string, out map[string]string) {
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !info.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out[rel] = string(b)
		return
	}
	entries, _ := os.ReadDir(path)
	for _, e := range entries {
		walkFiles(t, filepath.Join(path, e.Name()), rel+"/"+e.Name(), out)
	}
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestAPIVolumes(t *testing.T) {
	e := startAPI(t)
	ctx := context.Background()
	e.create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"a.conf": "alpha", "b.conf": "beta"}, BinaryData: map[string][]byte{"bin": {0, 1, 2}}})
	e.create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"password": []byte("s3cret"), "user": []byte("admin")}})

	yes := true
	mode0600 := int32(0o600)
	tests := []struct {
		name      string
		plugin    string
		src       corev1.VolumeSource
		wantFiles map[string]string
		wantModes map[string]os.FileMode
		wantErr   string
	}{
		{name: "configMap all keys with binaryData", plugin: volume.PluginConfigMap,
			src:       corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("cfg")}},
			wantFiles: map[string]string{"a.conf": "alpha", "b.conf": "beta", "bin": "\x00\x01\x02"},
			wantModes: map[string]os.FileMode{"a.conf": 0o644}},
		{name: "configMap items with path and mode", plugin: volume.PluginConfigMap,
			src: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("cfg"),
				Items: []corev1.KeyToPath{{Key: "a.conf", Path: "etc/app.conf", Mode: &mode0600}}}},
			wantFiles: map[string]string{"etc/app.conf": "alpha"},
			wantModes: map[string]os.FileMode{"etc/app.conf": 0o600}},
		{name: "configMap missing", plugin: volume.PluginConfigMap,
			src:     corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("nope")}},
			wantErr: `MountVolume.SetUp failed for volume "v" : configmap "nope" not found`},
		{name: "configMap missing but optional", plugin: volume.PluginConfigMap,
			src:       corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("nope"), Optional: &yes}},
			wantFiles: map[string]string{}},
		{name: "configMap missing key", plugin: volume.PluginConfigMap,
			src: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("cfg"),
				Items: []corev1.KeyToPath{{Key: "zzz", Path: "z"}}}},
			wantErr: "configmap references non-existent config key: zzz"},
		{name: "secret with default mode", plugin: volume.PluginSecret,
			src:       corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec", DefaultMode: &mode0600}},
			wantFiles: map[string]string{"password": "s3cret", "user": "admin"},
			wantModes: map[string]os.FileMode{"password": 0o600}},
		{name: "secret missing", plugin: volume.PluginSecret,
			src:     corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope"}},
			wantErr: `secret "nope" not found`},
		{name: "secret missing but optional", plugin: volume.PluginSecret,
			src:       corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope", Optional: &yes}},
			wantFiles: map[string]string{}},
		{name: "downwardAPI", plugin: volume.PluginDownwardAPI,
			src: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
				{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}},
				{Path: "uid", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}},
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				{Path: "app", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}},
				{Path: "cpu_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}},
				{Path: "mem_request", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "requests.memory", Divisor: resource.MustParse("1Mi")}},
				{Path: "mem_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.memory"}},
			}}},
			wantFiles: map[string]string{"name": "p-u", "ns": "vol", "uid": "u", "labels": "app=\"web\"\ntier=\"front\"", "app": "web",
				"cpu_limit": "4000", "mem_request": "64", "mem_limit": "8589934592"}},
		{name: "projected", plugin: volume.PluginProjected,
			src: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: ref("cfg"), Items: []corev1.KeyToPath{{Key: "a.conf", Path: "a"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: ref("sec"), Items: []corev1.KeyToPath{{Key: "user", Path: "u"}}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "n", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: ref("gone"), Optional: &yes}},
			}}},
			wantFiles: map[string]string{"a": "alpha", "u": "admin", "n": "vol"}},
		{name: "projected clusterTrustBundle", plugin: volume.PluginProjected,
			src: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "b"}}}}},
			wantErr: "clusterTrustBundle projections are not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("u", corev1.Volume{Name: "v", VolumeSource: tc.src})
			pod.Namespace = e.ns
			pod.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
			err := e.m.SetUp(ctx, pod)
			defer e.m.TearDown(ctx, pod.UID)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SetUp error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetUp: %v", err)
			}
			dir := e.m.VolumeDir(pod.UID, tc.plugin, "v")
			got := files(t, dir)
			if strings.Join(keysOf(got), ",") != strings.Join(keysOf(tc.wantFiles), ",") {
				t.Fatalf("files = %v, want %v", keysOf(got), keysOf(tc.wantFiles))
			}
			for k, v := range tc.wantFiles {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k, mode := range tc.wantModes {
				info, err := os.Stat(filepath.Join(dir, k))
				if err != nil || info.Mode().Perm() != mode {
					t.Errorf("mode of %s = %v (%v), want %v", k, info.Mode().Perm(), err, mode)
				}
			}
			// The API-data volumes are mounted read-only.
			c := pod.Spec.Containers[0]
			c.VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/v"}}
			mounts, err := e.m.Mounts(pod, &c)
			if err != nil || len(mounts) != 1 || !mounts[0].Readonly || mounts[0].HostPath != dir {
				t.Errorf("Mounts = %v, %v; want one read-only mount of %s", mounts, err, dir)
			}
		})
	}
}

func ref(name string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: name} }

func TestAtomicUpdate(t *testing.T) {
	e := startAPI(t)
	ctx := context.Background()
	e.create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"one": "1", "two": "2"}})
	gid := int64(4321)
	pod := testPod("upd", corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("cfg")}}})
	pod.Namespace = e.ns
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: &gid}
	if err := e.m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	dir := e.m.VolumeDir(pod.UID, volume.PluginConfigMap, "v")
	first, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil {
		t.Fatal(err)
	}
	if link, _ := os.Readlink(filepath.Join(dir, "one")); link != "..data/one" {
		t.Errorf("one -> %q, want ..data/one", link)
	}
	if os.Geteuid() == 0 {
		assertGroup(t, filepath.Join(dir, "one"), gid)
	}

	// No change: no swap.
	if err := e.m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, "..data")); again != first {
		t.Fatalf("..data swapped without a change: %s -> %s", first, again)
	}

	// Update: new content, a key removed, a key added.
	cm, err := e.c.CoreV1().ConfigMaps(e.ns).Get(ctx, "cfg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{"one": "uno", "three": "3"}
	if _, err := e.c.CoreV1().ConfigMaps(e.ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	second, _ := os.Readlink(filepath.Join(dir, "..data"))
	if second == first {
		t.Fatal("..data not swapped after the ConfigMap changed")
	}
	got := files(t, dir)
	if len(got) != 2 || got["one"] != "uno" || got["three"] != "3" {
		t.Errorf("files after update = %v, want one=uno three=3", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "two")); !os.IsNotExist(err) {
		t.Errorf("stale key two still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old payload dir %s still there: %v", first, err)
	}
	if os.Geteuid() == 0 {
		assertGroup(t, filepath.Join(dir, "three"), gid)
	}
}

func statGID(path string) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return int64(info.Sys().(*syscall.Stat_t).Gid), nil
}

func assertGroup(t *testing.T, path string, gid int64) {
	t.Helper()
	st, err := statGID(path)
	if err != nil || st != gid {
		t.Errorf("group of %s = %d (%v), want fsGroup %d", path, st, err, gid)
	}
}

func TestServiceAccountToken(t *testing.T) {
	e := startAPI(t)
	ctx := context.Background()
	e.create(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	e.create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": "PEM"}})
	// Created through the API: the ServiceAccount admission adds the
	// kube-api-access volume, and the token is bound to the pod.
	pod, err := e.c.CoreV1().Pods(e.ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "tok"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].Projected == nil {
		t.Fatalf("admitted pod volumes = %+v, want the kube-api-access projected volume", pod.Spec.Volumes)
	}
	if err := e.m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	mounts, err := e.m.Mounts(pod, &pod.Spec.Containers[0])
	if err != nil || len(mounts) != 1 || mounts[0].ContainerPath != "/var/run/secrets/kubernetes.io/serviceaccount" || !mounts[0].Readonly {
		t.Fatalf("Mounts = %v, %v", mounts, err)
	}
	got := files(t, mounts[0].HostPath)
	if got["namespace"] != e.ns || got["ca.crt"] != "PEM" || got["token"] == "" {
		t.Fatalf("token volume files = %v", keysOf(got))
	}
	// The token authenticates as the pod's service account.
	cfg := rest.AnonymousClientConfig(e.srv.Config)
	cfg.BearerToken = got["token"]
	rev, err := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("whoami with the projected token: %v", err)
	}
	if want := "system:serviceaccount:" + e.ns + ":default"; rev.Status.UserInfo.Username != want {
		t.Errorf("user = %q, want %q", rev.Status.UserInfo.Username, want)
	}
	// Resyncs reuse the fresh token.
	if err := e.m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if again := files(t, mounts[0].HostPath)["token"]; again != got["token"] {
		t.Error("token replaced on a resync although it is fresh")
	}
}
