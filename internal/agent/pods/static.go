package pods

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// Annotations of static and mirror pods, the kubelet's.
const (
	annotationConfigSource = "kubernetes.io/config.source"
	annotationConfigHash   = "kubernetes.io/config.hash"
	annotationConfigSeen   = "kubernetes.io/config.seen"
	annotationConfigMirror = "kubernetes.io/config.mirror"
	// staticInterval is how often StaticPodDir is read.
	staticInterval = 5 * time.Second
)

// isMirror reports a mirror pod: the API's picture of a static pod, never
// run itself.
func isMirror(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[annotationConfigMirror]
	return ok
}

// staticLoop runs the pods of StaticPodDir and keeps their mirror pods in
// the API.
func (m *Manager) staticLoop(ctx context.Context) {
	if m.o.StaticPodDir == "" {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(staticInterval)
	defer t.Stop()
	for {
		m.syncStaticPods(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// syncStaticPods reads the manifests, starts and stops static pods, and
// creates (or replaces) their mirror pods.
func (m *Manager) syncStaticPods(ctx context.Context) {
	pods, err := m.readManifests()
	if err != nil {
		m.log.Warn("read static pod manifests", "dir", m.o.StaticPodDir, "err", err)
		return
	}
	m.mu.Lock()
	var removed []*corev1.Pod
	for uid, p := range m.static {
		if _, ok := pods[uid]; !ok {
			delete(m.static, uid)
			removed = append(removed, p)
		}
	}
	for uid, p := range pods {
		if _, ok := m.static[uid]; !ok {
			m.static[uid] = p
		}
	}
	current := make([]*corev1.Pod, 0, len(m.static))
	for _, p := range m.static {
		current = append(current, p)
	}
	m.mu.Unlock()
	for _, p := range removed {
		m.kick(p.UID)
		if mirror := m.mirrorOf(p); mirror != nil {
			uid := mirror.UID
			err := m.o.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) {
				m.log.Warn("delete mirror pod", "pod", p.Namespace+"/"+p.Name, "err", err)
			}
		}
	}
	for _, p := range current {
		m.ensureWorker(p)
		if err := m.ensureMirror(ctx, p); err != nil {
			m.log.Warn("mirror pod", "pod", p.Namespace+"/"+p.Name, "err", err)
		}
	}
}

// readManifests parses every *.yaml, *.yml and *.json file of StaticPodDir.
func (m *Manager) readManifests() (map[types.UID]*corev1.Pod, error) {
	entries, err := os.ReadDir(m.o.StaticPodDir)
	if os.IsNotExist(err) {
		return map[types.UID]*corev1.Pod{}, nil
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	out := map[types.UID]*corev1.Pod{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		path := filepath.Join(m.o.StaticPodDir, e.Name())
		p, err := m.staticPod(path)
		if err != nil {
			m.log.Warn("invalid static pod manifest", "file", path, "err", err)
			continue
		}
		out[p.UID] = p
	}
	return out, nil
}

// staticPod reads one manifest into a pod bound to this node, with the
// defaults the API server would have set.
func (m *Manager) staticPod(path string) (*corev1.Pod, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(b, &pod); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if pod.Kind != "Pod" || (pod.APIVersion != "v1" && pod.APIVersion != "") {
		return nil, fmt.Errorf("kind %q apiVersion %q, want a v1 Pod", pod.Kind, pod.APIVersion)
	}
	if pod.Name == "" || len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("a static pod needs a name and containers")
	}
	sum := sha256.Sum256(append([]byte(m.o.NodeName+"\x00"+path+"\x00"), b...))
	hash := hex.EncodeToString(sum[:16])
	pod.UID = types.UID(hash)
	pod.Name = pod.Name + "-" + m.o.NodeName
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[annotationConfigSource] = "file"
	pod.Annotations[annotationConfigHash] = hash
	pod.Annotations[annotationConfigSeen] = time.Now().UTC().Format(time.RFC3339Nano)
	pod.Spec.NodeName = m.o.NodeName
	defaultPodSpec(&pod.Spec)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	return &pod, nil
}

// defaultPodSpec sets the defaults a static pod misses for not going
// through the API server.
func defaultPodSpec(spec *corev1.PodSpec) {
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.TerminationGracePeriodSeconds == nil {
		g := int64(corev1.DefaultTerminationGracePeriodSeconds)
		spec.TerminationGracePeriodSeconds = &g
	}
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			c := &list[i]
			if c.TerminationMessagePath == "" {
				c.TerminationMessagePath = corev1.TerminationMessagePathDefault
			}
			if c.TerminationMessagePolicy == "" {
				c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
			}
			if c.ImagePullPolicy == "" {
				c.ImagePullPolicy = pullPolicy(c)
			}
		}
	}
}

// mirrorOf returns static pod's mirror pod from the informer, if any.
func (m *Manager) mirrorOf(static *corev1.Pod) *corev1.Pod {
	p, err := m.lister.Pods(static.Namespace).Get(static.Name)
	if err != nil || p.Annotations[annotationConfigMirror] != static.Annotations[annotationConfigHash] {
		return nil
	}
	return p
}

// ensureMirror creates static pod's mirror pod, replacing one of an older
// manifest or one being deleted.
func (m *Manager) ensureMirror(ctx context.Context, static *corev1.Pod) error {
	pods := m.o.Client.CoreV1().Pods(static.Namespace)
	existing, err := m.lister.Pods(static.Namespace).Get(static.Name)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	case existing.Annotations[annotationConfigMirror] == static.Annotations[annotationConfigHash] && existing.DeletionTimestamp == nil:
		return nil
	default:
		if !isMirror(existing) {
			return fmt.Errorf("pod %s/%s exists and is not a mirror pod", static.Namespace, static.Name)
		}
		uid := existing.UID
		err := pods.Delete(ctx, static.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete outdated mirror pod: %w", err)
		}
	}
	node, err := m.o.Client.CoreV1().Nodes().Get(ctx, m.o.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node for the mirror pod's owner: %w", err)
	}
	mirror := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: static.Namespace, Name: static.Name,
			Labels:      copyMap(static.Labels),
			Annotations: copyMap(static.Annotations),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: new(bool),
			}},
		},
		Spec: *static.Spec.DeepCopy(),
	}
	mirror.Annotations[annotationConfigMirror] = static.Annotations[annotationConfigHash]
	if _, err := pods.Create(ctx, mirror, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create mirror pod: %w", err)
	}
	return nil
}

// setStatus hands a pod's status to the status manager; a static pod's
// status goes to its mirror pod.
func (m *Manager) setStatus(pod *corev1.Pod, status corev1.PodStatus) {
	if m.isStatic(pod.UID) {
		mirror := m.mirrorOf(pod)
		if mirror == nil {
			return // written once the mirror exists
		}
		pod = mirror
	}
	m.statuses.set(pod, status)
}
