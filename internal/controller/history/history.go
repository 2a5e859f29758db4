// Package history keeps the ControllerRevisions in which StatefulSets and
// DaemonSets record their pod templates: one revision per distinct
// template, numbered in the order the templates were (last) used, so that
// `kubectl rollout history` lists them and `kubectl rollout undo` can
// strategic-merge a revision's data back onto its owner.
//
//	owner template ─► Data: {"spec":{"template":{…,"$patch":"replace"}}}
//	                  equal revision exists? ── newest: use it
//	                  │                         older: renumber it newest
//	                  no: create <owner>-<hash(data, collisionCount)>
//	                      name taken by other data: collisionCount++ and retry
package history

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"reflect"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"

	"github.com/skiffhq/skiff/internal/controller"
)

// HashLabel is the label holding a revision's hash, upstream's.
const HashLabel = "controller.kubernetes.io/hash"

// maxPrefix bounds the owner-name part of a revision name so that
// "<prefix>-<hash>" stays a valid name.
const maxPrefix = 223

// TemplateData returns the revision data recording template: a strategic
// merge patch that replaces spec.template, spelled like kubectl's (it
// compares the bytes to tell whether a revision is the current one).
func TemplateData(template *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("encode pod template: %w", err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		return nil, fmt.Errorf("decode pod template: %w", err)
	}
	tmpl["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": tmpl}})
}

// Hash names data and a collision count: FNV-32a spelled with
// rand.SafeEncodeString (no vowels, so no words), like upstream.
func Hash(data []byte, collisionCount *int32) string {
	h := fnv.New32a()
	h.Write(data)
	if collisionCount != nil {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(*collisionCount))
		h.Write(b[:])
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// Name is the revision name of owner for hash.
func Name(owner, hash string) string {
	if len(owner) > maxPrefix {
		owner = owner[:maxPrefix]
	}
	return owner + "-" + hash
}

// Sort orders revisions oldest first (by number, then name).
func Sort(revs []*appsv1.ControllerRevision) {
	slices.SortFunc(revs, func(a, b *appsv1.ControllerRevision) int {
		return cmp.Or(cmp.Compare(a.Revision, b.Revision), cmp.Compare(a.Name, b.Name))
	})
}

// Owner describes the object whose revisions are kept.
type Owner struct {
	Object metav1.Object
	Kind   schema.GroupVersionKind
	// Labels are the template labels (the owner's selector must find its
	// revisions by them, as kubectl does).
	Labels map[string]string
	// Annotations are copied to new revisions (kubectl shows their
	// kubernetes.io/change-cause).
	Annotations map[string]string
}

// Store creates and edits ControllerRevisions through the API.
type Store struct {
	Client kubernetes.Interface
}

// Ensure returns the revision recording data among revs (sorted oldest
// first, all owned by o): the newest equal one, renumbered to come after
// every other revision if it is not the newest already, or a new one. A
// name taken by a revision with other data bumps *collisionCount, which
// the caller must persist in the owner's status.
func (s Store) Ensure(ctx context.Context, o Owner, data []byte, revs []*appsv1.ControllerRevision, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	var next int64 = 1
	if len(revs) > 0 {
		next = revs[len(revs)-1].Revision + 1
	}
	for i := len(revs) - 1; i >= 0; i-- {
		if !EqualData(revs[i].Data.Raw, data) {
			continue
		}
		if i == len(revs)-1 {
			return revs[i], nil
		}
		return s.renumber(ctx, revs[i], next)
	}
	return s.create(ctx, o, data, next, collisionCount)
}

func (s Store) renumber(ctx context.Context, rev *appsv1.ControllerRevision, n int64) (*appsv1.ControllerRevision, error) {
	patch := fmt.Sprintf(`{"metadata":{"uid":%q},"revision":%d}`, rev.UID, n)
	out, err := s.Client.AppsV1().ControllerRevisions(rev.Namespace).Patch(ctx, rev.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("renumber controllerrevision %s/%s to %d: %w", rev.Namespace, rev.Name, n, err)
	}
	return out, nil
}

func (s Store) create(ctx context.Context, o Owner, data []byte, n int64, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	ns := o.Object.GetNamespace()
	for {
		hash := Hash(data, collisionCount)
		labels := maps.Clone(o.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[HashLabel] = hash
		rev := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{
				Name: Name(o.Object.GetName(), hash), Namespace: ns,
				Labels: labels, Annotations: maps.Clone(o.Annotations),
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(o.Object, o.Kind)},
			},
			Data:     runtime.RawExtension{Raw: data},
			Revision: n,
		}
		created, err := s.Client.AppsV1().ControllerRevisions(ns).Create(ctx, rev, metav1.CreateOptions{})
		if err == nil {
			return created, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create controllerrevision %s/%s: %w", ns, rev.Name, err)
		}
		found, gerr := s.Client.AppsV1().ControllerRevisions(ns).Get(ctx, rev.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("read controllerrevision %s/%s: %w", ns, rev.Name, gerr)
		}
		if EqualData(found.Data.Raw, data) && metav1.IsControlledBy(found, o.Object) {
			return found, nil // ours, not yet in the cache
		}
		*collisionCount++
	}
}

// EqualData reports whether two revisions' data are the same JSON (the
// API server may re-encode what it stores).
func EqualData(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// Truncate deletes the oldest revisions of revs (sorted oldest first) that
// live does not name, until at most limit such revisions remain.
func (s Store) Truncate(ctx context.Context, revs []*appsv1.ControllerRevision, live map[string]bool, limit int32) error {
	var dead []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			dead = append(dead, r)
		}
	}
	excess := len(dead) - int(max(limit, 0))
	for i := 0; i < excess; i++ {
		r := dead[i]
		uid := r.UID
		err := s.Client.AppsV1().ControllerRevisions(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete controllerrevision %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	return nil
}

// Claim adopts and releases the ControllerRevisions in owner's namespace
// by selector and returns the owned ones, oldest first; recheck re-reads
// the owner before adopting.
func Claim(ctx context.Context, client kubernetes.Interface, lister appslisters.ControllerRevisionLister, owner metav1.Object, kind schema.GroupVersionKind, selector labels.Selector, recheck func(context.Context) (metav1.Object, error)) ([]*appsv1.ControllerRevision, error) {
	revs, err := lister.ControllerRevisions(owner.GetNamespace()).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	claimer := &controller.Claimer{
		Owner: owner, OwnerKind: kind, Selector: selector, Recheck: recheck,
		Patch: func(ctx context.Context, ns, name string, patch []byte) error {
			_, err := client.AppsV1().ControllerRevisions(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	owned, err := controller.Claim(ctx, claimer, revs)
	if err != nil {
		return nil, fmt.Errorf("claim revisions of %s/%s: %w", owner.GetNamespace(), owner.GetName(), err)
	}
	Sort(owned)
	return owned, nil
}
