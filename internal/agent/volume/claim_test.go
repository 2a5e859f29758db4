package volume_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPersistentVolumeClaims(t *testing.T) {
	e := startAPI(t)
	ctx := context.Background()
	if _, err := e.c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a",
		Labels: map[string]string{"kubernetes.io/hostname": "node-a"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostDir, localDir := t.TempDir(), t.TempDir()
	onNode := func(node string) *corev1.VolumeNodeAffinity {
		return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}}
	}
	pvs := []*corev1.PersistentVolume{
		{ObjectMeta: metav1.ObjectMeta{Name: "pv-host"}, Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pv-local"}, Spec: corev1.PersistentVolumeSpec{NodeAffinity: onNode("node-a"),
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: localDir}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pv-elsewhere"}, Spec: corev1.PersistentVolumeSpec{NodeAffinity: onNode("node-b"),
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: localDir}}}},
	}
	for _, pv := range pvs {
		pv.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
		pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		if _, err := e.c.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(name, volume string, bound bool) {
		t.Helper()
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
			VolumeName:  volume,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}
		got, err := e.c.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if bound {
			got.Status.Phase = corev1.ClaimBound
			if _, err := e.c.CoreV1().PersistentVolumeClaims(e.ns).UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(hostDir, "keep"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	claim("host", "pv-host", true)
	claim("local", "pv-local", true)
	claim("elsewhere", "pv-elsewhere", true)
	claim("pending", "", false)

	tests := []struct {
		name         string
		claim        string
		readOnly     bool
		wantPath     string
		wantReadOnly bool
		wantErr      string
	}{
		{name: "hostPath PV", claim: "host", wantPath: hostDir},
		{name: "local PV on this node, read-only claim", claim: "local", readOnly: true, wantPath: localDir, wantReadOnly: true},
		{name: "local PV of another node", claim: "elsewhere", wantErr: "no matching NodeSelectorTerms"},
		{name: "unbound claim", claim: "pending", wantErr: `persistentvolumeclaim "pending" is not bound`},
		{name: "missing claim", claim: "nope", wantErr: `persistentvolumeclaims "nope" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("pvc-"+tc.claim, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: tc.claim, ReadOnly: tc.readOnly}}})
			pod.Namespace = e.ns
			err := e.m.SetUp(ctx, pod)
			defer e.m.TearDown(ctx, pod.UID)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SetUp error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := pod.Spec.Containers[0]
			c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
			mounts, err := e.m.Mounts(pod, &c)
			if err != nil || len(mounts) != 1 || mounts[0].HostPath != tc.wantPath || mounts[0].Readonly != tc.wantReadOnly {
				t.Fatalf("Mounts = %v, %v; want %s readOnly=%v", mounts, err, tc.wantPath, tc.wantReadOnly)
			}
		})
	}
	// Tearing the pods down left the PV's data alone.
	if b, err := os.ReadFile(filepath.Join(hostDir, "keep")); err != nil || string(b) != "data" {
		t.Errorf("PV data after TearDown = %q, %v", b, err)
	}
}
