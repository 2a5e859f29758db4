package volume_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiffhq/skiff/internal/agent/volume"
	"github.com/skiffhq/skiff/internal/testutil/crinode"
)

// testPod is a pod with one container mounting nothing yet.
func testPod(uid string, vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p-" + uid, Namespace: "ns1", UID: types.UID(uid),
			Labels: map[string]string{"app": "web", "tier": "front"}},
		Spec: corev1.PodSpec{
			NodeName:   "node-a",
			Volumes:    vols,
			Containers: []corev1.Container{{Name: "c"}},
		},
	}
}

func TestHostPathTypes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name    string
		path    string
		typ     corev1.HostPathType
		wantErr string
		// wantMode, when set, is the mode of the created path.
		wantMode os.FileMode
	}{
		{name: "unset type accepts a missing path", path: filepath.Join(dir, "missing"), typ: corev1.HostPathUnset},
		{name: "DirectoryOrCreate creates 0755", path: filepath.Join(dir, "newdir"), typ: corev1.HostPathDirectoryOrCreate, wantMode: os.ModeDir | 0o755},
		{name: "DirectoryOrCreate on a file", path: file, typ: corev1.HostPathDirectoryOrCreate, wantErr: "hostPath type check failed: " + file + " is not a directory"},
		{name: "Directory", path: dir, typ: corev1.HostPathDirectory},
		{name: "Directory missing", path: filepath.Join(dir, "nope"), typ: corev1.HostPathDirectory, wantErr: "is not a directory"},
		{name: "FileOrCreate creates 0644", path: filepath.Join(dir, "newfile"), typ: corev1.HostPathFileOrCreate, wantMode: 0o644},
		{name: "File on a directory", path: dir, typ: corev1.HostPathFile, wantErr: "hostPath type check failed: " + dir + " is not a file"},
		{name: "File", path: file, typ: corev1.HostPathFile},
		{name: "Socket", path: sock, typ: corev1.HostPathSocket},
		{name: "Socket on a file", path: file, typ: corev1.HostPathSocket, wantErr: "is not a socket file"},
		{name: "CharDevice", path: "/dev/null", typ: corev1.HostPathCharDev},
		{name: "CharDevice on a file", path: file, typ: corev1.HostPathCharDev, wantErr: "is not a character device"},
		{name: "BlockDevice on a char device", path: "/dev/null", typ: corev1.HostPathBlockDev, wantErr: "is not a block device"},
	}
	m := volume.NewManager(volume.Options{Root: t.TempDir()})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.typ
			pod := testPod(string(rune('a'+i)), corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: tc.path, Type: &typ}}})
			err := m.SetUp(context.Background(), pod)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SetUp error = %v, want %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), `MountVolume.SetUp failed for volume "h"`) {
					t.Errorf("error %q does not name the volume", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetUp: %v", err)
			}
			if tc.wantMode != 0 {
				info, err := os.Stat(tc.path)
				if err != nil {
					t.Fatal(err)
				}
				if info.Mode() != tc.wantMode {
					t.Errorf("mode = %v, want %v", info.Mode(), tc.wantMode)
				}
			}
		})
	}
}

func TestEmptyDirAndSubPath(t *testing.T) {
	m := volume.NewManager(volume.Options{Root: t.TempDir()})
	ctx := context.Background()
	pod := testPod("u1", corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	pod.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "SUB", Value: "logs"},
	}
	if err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(m.PodDir("u1"), "volumes", volume.PluginEmptyDir, "scratch")
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o777 {
		t.Fatalf("emptyDir %s: %v %v, want a 0777 directory", dir, info, err)
	}
	hostToContainer := corev1.MountPropagationHostToContainer
	c := &pod.Spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "scratch", MountPath: "/data"},
		{Name: "scratch", MountPath: "/sub", SubPath: "a/b", ReadOnly: true, MountPropagation: &hostToContainer},
		{Name: "scratch", MountPath: "/expr", SubPathExpr: "$(SUB)/$(POD)"},
	}
	mounts, err := m.Mounts(pod, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []*runtimeapi.Mount{
		{ContainerPath: "/data", HostPath: dir, Propagation: runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
		{ContainerPath: "/sub", HostPath: filepath.Join(dir, "a/b"), Readonly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		{ContainerPath: "/expr", HostPath: filepath.Join(dir, "logs/p-u1"), Propagation: runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
	}
	for i, w := range want {
		g := mounts[i]
		if g.ContainerPath != w.ContainerPath || g.HostPath != w.HostPath || g.Readonly != w.Readonly || g.Propagation != w.Propagation || g.SelinuxRelabel {
			t.Errorf("mount %d = %+v, want %+v", i, g, w)
		}
		if info, err := os.Stat(g.HostPath); err != nil || !info.IsDir() {
			t.Errorf("subPath %s not created: %v", g.HostPath, err)
		}
	}

	// A file written in the volume survives another SetUp.
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
		t.Errorf("emptyDir content lost on resync: %v", err)
	}

	if err := m.TearDown(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.PodDir("u1")); !os.IsNotExist(err) {
		t.Errorf("pod dir still there after TearDown: %v", err)
	}
}

func TestSubPathEscapesRefused(t *testing.T) {
	m := volume.NewManager(volume.Options{Root: t.TempDir()})
	outside := t.TempDir()
	pod := testPod("u2", corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "UP", Value: ".."}}
	if err := m.SetUp(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(m.PodDir("u2"), "volumes", volume.PluginEmptyDir, "v")
	// What a container could do in its writable volume.
	if err := os.Symlink(outside, filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		vm      corev1.VolumeMount
		wantErr string
	}{
		{"dot-dot", corev1.VolumeMount{Name: "v", MountPath: "/x", SubPath: "a/../../etc"}, "must not contain '..'"},
		{"absolute", corev1.VolumeMount{Name: "v", MountPath: "/x", SubPath: "/etc"}, "must be a relative path"},
		{"symlink out of the volume", corev1.VolumeMount{Name: "v", MountPath: "/x", SubPath: "escape/sub"}, "outside of the volume"},
		{"subPathExpr expanding to ..", corev1.VolumeMount{Name: "v", MountPath: "/x", SubPathExpr: "$(UP)/etc"}, "must not contain '..'"},
		{"unknown volume", corev1.VolumeMount{Name: "nope", MountPath: "/x"}, `volume "nope" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := pod.Spec.Containers[0]
			c.VolumeMounts = []corev1.VolumeMount{tc.vm}
			_, err := m.Mounts(pod, &c)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Mounts error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(outside, "sub")); !os.IsNotExist(err) {
		t.Errorf("a directory was created outside the volume: %v", err)
	}
}

func TestMemoryEmptyDirIsTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs needs root")
	}
	m := volume.NewManager(volume.Options{Root: t.TempDir()})
	ctx := context.Background()
	limit := resource.MustParse("16Mi")
	pod := testPod("u3", corev1.Volume{Name: "mem", VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &limit}}})
	if err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(m.PodDir("u3"), "volumes", volume.PluginEmptyDir, "mem")
	t.Cleanup(func() { crinode.UnmountUnder(t, m.PodDir("u3")) })
	line := mountinfoLine(t, dir)
	if !strings.Contains(line, " - tmpfs ") || !strings.Contains(line, "size=16384k") {
		t.Fatalf("mountinfo for %s = %q, want a 16Mi tmpfs", dir, line)
	}
	// Idempotent: a second SetUp does not stack another tmpfs.
	if err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if n := countMounts(t, dir); n != 1 {
		t.Errorf("%d mounts at %s after a resync, want 1", n, dir)
	}
	if err := m.TearDown(ctx, "u3"); err != nil {
		t.Fatal(err)
	}
	if n := countMounts(t, dir); n != 0 {
		t.Errorf("tmpfs still mounted after TearDown")
	}
	if _, err := os.Stat(m.PodDir("u3")); !os.IsNotExist(err) {
		t.Errorf("pod dir still there: %v", err)
	}
}

func mountinfoLine(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			return l
		}
	}
	return ""
}

func countMounts(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			n++
		}
	}
	return n
}

func TestPodUIDs(t *testing.T) {
	m := volume.NewManager(volume.Options{Root: filepath.Join(t.TempDir(), "pods")})
	if got, err := m.PodUIDs(); err != nil || len(got) != 0 {
		t.Fatalf("PodUIDs on a missing root = %v, %v", got, err)
	}
	for _, uid := range []string{"b", "a"} {
		if err := m.SetUp(context.Background(), testPod(uid, corev1.Volume{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.PodUIDs()
	if err != nil || len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("PodUIDs = %v, %v; want [a b]", got, err)
	}
}
