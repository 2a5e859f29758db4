package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/internal/storage"
)

// UpdateFunc computes the new object from the current one (nil when the
// object does not exist and the resource allows create-on-update). It gets a
// private copy it may modify and return.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// UpdateOptions tune Update.
type UpdateOptions struct {
	DryRun bool
	// Subresource is "" for the object itself or "status".
	Subresource string
	// Admit runs after defaulting and before validation; it may change obj.
	Admit func(ctx context.Context, obj, old runtime.Object) error
	// CreateIfMissing lets this update create the object (server-side apply).
	CreateIfMissing bool
}

// maxUpdateAttempts bounds retries of unconditional updates racing writers.
const maxUpdateAttempts = 16

// Update reads the object, applies tryUpdate and writes the result with a
// compare-and-swap. Updates whose result carries no resourceVersion retry on
// conflicts; ones that carry a stale resourceVersion fail with 409.
// It reports whether the object was created.
//
// The first read comes from the watch cache when it holds the object: it
// is usually current, and the compare-and-swap catches it when it is not.
// Whatever a stale read could decide wrongly — an error from tryUpdate or
// the checks, a conflict, a no-op — is decided again on a consistent read.
func (s *Store) Update(ctx context.Context, ns, name string, tryUpdate UpdateFunc, opts UpdateOptions) (runtime.Object, bool, error) {
	key := s.Key(ns, name)
	kv, current, err := s.readCached(ctx, key)
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		if attempt > 0 {
			kv, err = s.storage.Get(ctx, key)
			current = true
		}
		if errors.Is(err, storage.ErrNotFound) {
			return s.createOnUpdate(ctx, ns, name, tryUpdate, opts)
		}
		if err != nil {
			return nil, false, s.storageError(err, name)
		}
		priv, cur, err := s.decodeForUpdate(kv, s.onlyReadsOld(opts))
		if err != nil {
			return nil, false, err
		}
		obj, err := tryUpdate(priv)
		if err != nil {
			if !current {
				continue
			}
			return nil, false, err
		}
		unconditional, err := s.prepareUpdate(ctx, obj, cur, ns, name, opts)
		if err != nil {
			if !current {
				continue
			}
			return nil, false, err
		}
		if opts.DryRun && !current {
			continue // a dry run writes nothing that could catch a stale read
		}
		if s.readyToRemove(obj) {
			out, err := s.removeFinalized(ctx, key, obj, kv.Revision, opts.DryRun)
			if (errors.Is(err, storage.ErrConflict) && unconditional) || staleWrite(err, current) {
				continue
			}
			return out, false, err
		}
		if opts.DryRun {
			setRV(obj, kv.Revision)
			return obj, false, nil
		}
		data, err := s.encode(obj)
		if err != nil {
			return nil, false, err
		}
		if bytes.Equal(data, kv.Value) {
			// Nothing changes (the stored bytes are this codec's encoding).
			if !current {
				continue
			}
			setRV(obj, kv.Revision)
			return obj, false, nil
		}
		rev, err := s.storage.Update(ctx, key, data, kv.Revision)
		if (errors.Is(err, storage.ErrConflict) && unconditional) || staleWrite(err, current) {
			continue
		}
		if err != nil {
			return nil, false, s.storageError(err, name)
		}
		setRV(obj, rev)
		return obj, false, nil
	}
	return nil, false, apierrors.NewConflict(s.Resource.GroupResource(), name,
		errors.New("too many concurrent writers; please try again"))
}

// staleWrite reports a compare-and-swap that failed because the read it
// was based on was not current (the object changed or went since the
// cache saw it): the update is decided again on a consistent read.
func staleWrite(err error, current bool) bool {
	return !current && (errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound))
}

// cachedGetter is a storage with a watch cache that answers a read of one
// key from memory (possibly behind the backend); ok is false when it
// cannot.
type cachedGetter interface {
	GetCached(key string) (kv storage.KeyValue, ok bool)
}

// readCached reads key from the watch cache when the storage has one
// holding it (current is false then), else consistently. Stores without a
// watch cache make the consistent read.
func (s *Store) readCached(ctx context.Context, key string) (kv storage.KeyValue, current bool, err error) {
	if c, ok := s.storage.(cachedGetter); ok {
		if kv, ok := c.GetCached(key); ok {
			return kv, false, nil
		}
	}
	kv, err = s.storage.Get(ctx, key)
	return kv, true, err
}

func (s *Store) createOnUpdate(ctx context.Context, ns, name string, tryUpdate UpdateFunc, opts UpdateOptions) (runtime.Object, bool, error) {
	if !(s.Resource.AllowCreateOnUpdate || opts.CreateIfMissing) || opts.Subresource != "" {
		return nil, false, apierrors.NewNotFound(s.Resource.GroupResource(), name)
	}
	obj, err := tryUpdate(nil)
	if err != nil {
		return nil, false, err
	}
	m, err := metaOf(obj)
	if err != nil {
		return nil, false, err
	}
	if m.GetName() != name {
		return nil, false, nameMismatch(m.GetName(), name)
	}
	m.SetResourceVersion("")
	co := CreateOptions{DryRun: opts.DryRun}
	if opts.Admit != nil {
		co.Admit = func(ctx context.Context, o runtime.Object) error { return opts.Admit(ctx, o, nil) }
	}
	out, err := s.Create(ctx, ns, obj, co)
	return out, err == nil, err
}

func nameMismatch(objName, urlName string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", objName, urlName))
}

// prepareUpdate enforces metadata rules, the status split, defaults,
// generation and validation on obj against cur. It reports whether the
// update was unconditional (no resourceVersion given).
func (s *Store) prepareUpdate(ctx context.Context, obj, cur runtime.Object, ns, name string, opts UpdateOptions) (bool, error) {
	m, err := metaOf(obj)
	if err != nil {
		return false, err
	}
	old, _ := metaOf(cur)
	if m.GetName() != name {
		return false, nameMismatch(m.GetName(), name)
	}
	if err := s.fixNamespace(m, ns); err != nil {
		return false, err
	}
	rv := m.GetResourceVersion()
	if rv != "" && rv != old.GetResourceVersion() {
		return false, conflictError(s.Resource.GroupResource(), name)
	}
	if uid := m.GetUID(); uid != "" && uid != old.GetUID() {
		return false, apierrors.NewConflict(s.Resource.GroupResource(), name,
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, old.GetUID()))
	}
	// Server-owned metadata always comes from the stored object.
	m.SetUID(old.GetUID())
	m.SetCreationTimestamp(old.GetCreationTimestamp())
	keepDeletion(m, old)
	m.SetGeneration(old.GetGeneration())
	m.SetSelfLink("")
	m.SetResourceVersion(old.GetResourceVersion())
	if m.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) > len(old.GetFinalizers()) && !subsetOf(m.GetFinalizers(), old.GetFinalizers()) {
		errs := field.ErrorList{field.Forbidden(field.NewPath("metadata", "finalizers"),
			"no new finalizers can be added if the object is being deleted")}
		return false, apierrors.NewInvalid(s.Resource.GroupKind(), name, errs)
	}
	switch opts.Subresource {
	case "status", "approval":
		copySpec(obj, cur)
		m.SetLabels(old.GetLabels())
		m.SetAnnotations(old.GetAnnotations())
		m.SetFinalizers(old.GetFinalizers())
		m.SetOwnerReferences(old.GetOwnerReferences())
	case "":
		if s.Resource.HasStatus {
			copyStatus(obj, cur)
		}
	}
	if h := s.Resource.hooks.prepareForUpdate; h != nil && opts.Subresource == "" {
		h(obj, cur)
	}
	if h := s.Resource.hooks.prepareForSubUpdate; h != nil && opts.Subresource != "" {
		h(opts.Subresource, obj, cur)
	}
	if h := s.Resource.hooks.defaults; h != nil {
		h(obj)
	}
	if s.Resource.TracksGeneration && !specEqual(obj, cur) {
		m.SetGeneration(old.GetGeneration() + 1)
	}
	if opts.Admit != nil {
		if err := opts.Admit(ctx, obj, cur); err != nil {
			return false, err
		}
	}
	if errs := s.validateUpdate(obj, cur, opts.Subresource); len(errs) > 0 {
		return false, apierrors.NewInvalid(s.Resource.GroupKind(), name, errs)
	}
	return rv == "", nil
}

// onlyReadsOld reports whether prepareUpdate with opts only reads the old
// object and puts none of its parts into the new one, so that the old
// object may be the one shared with watchers (see decodeStored): no
// status split copies parts over (a status write, a main write of a
// resource with status), no strategy hook or admission sees the old
// object, and validation is the generic metadata check. The copied
// metadata is values or copies (keepDeletion). Pod bindings are such
// updates.
func (s *Store) onlyReadsOld(opts UpdateOptions) bool {
	h := &s.Resource.hooks
	switch opts.Subresource {
	case "":
		return !s.Resource.HasStatus && h.prepareForUpdate == nil && h.validateUpdate == nil && opts.Admit == nil
	case "status", "approval":
		return false
	}
	return h.prepareForSubUpdate == nil && opts.Admit == nil
}

// keepDeletion sets m's deletion timestamp and grace period to copies of
// old's, so that m shares nothing with old.
func keepDeletion(m, old metav1.Object) {
	m.SetDeletionTimestamp(old.GetDeletionTimestamp().DeepCopy())
	var grace *int64
	if g := old.GetDeletionGracePeriodSeconds(); g != nil {
		v := *g
		grace = &v
	}
	m.SetDeletionGracePeriodSeconds(grace)
}

func subsetOf(a, b []string) bool {
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

func (s *Store) validateCreate(obj runtime.Object) field.ErrorList {
	if h := s.Resource.hooks.validate; h != nil {
		return h(obj)
	}
	m, _ := metaOf(obj)
	return apivalidation.ValidateObjectMetaAccessor(m, s.Resource.Namespaced, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

func (s *Store) validateUpdate(obj, old runtime.Object, subresource string) field.ErrorList {
	var h func(obj, old runtime.Object) field.ErrorList
	switch subresource {
	case "":
		h = s.Resource.hooks.validateUpdate
	case "status", "approval":
		h = s.Resource.hooks.validateStatusUpdate
	}
	if h != nil {
		return h(obj, old)
	}
	m, _ := metaOf(obj)
	om, _ := metaOf(old)
	if keepsImmutableMeta(m, om) {
		return nil
	}
	return apivalidation.ValidateObjectMetaAccessorUpdate(m, om, field.NewPath("metadata"))
}

// keepsImmutableMeta reports, cheaply, that an update leaves alone
// everything ValidateObjectMetaAccessorUpdate guards (so it would find
// nothing): most updates do, and only the others pay for its
// reflection-based comparisons.
func keepsImmutableMeta(m, om metav1.Object) bool {
	return m.GetResourceVersion() != "" && m.GetGeneration() >= om.GetGeneration() &&
		m.GetName() == om.GetName() && m.GetNamespace() == om.GetNamespace() && m.GetUID() == om.GetUID() &&
		m.GetCreationTimestamp() == om.GetCreationTimestamp() &&
		m.GetDeletionTimestamp() == nil && om.GetDeletionTimestamp() == nil &&
		m.GetDeletionGracePeriodSeconds() == nil && om.GetDeletionGracePeriodSeconds() == nil
}

// readyToRemove reports whether a deleted object has nothing left holding it.
func (s *Store) readyToRemove(obj runtime.Object) bool {
	m, _ := metaOf(obj)
	if m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		return false
	}
	if h := s.Resource.hooks.holdsDeletion; h != nil && h(obj) {
		return false
	}
	return true
}

// removeFinalized deletes an object whose last finalizer went away.
func (s *Store) removeFinalized(ctx context.Context, key string, obj runtime.Object, rev int64, dryRun bool) (runtime.Object, error) {
	if dryRun {
		return obj, nil
	}
	kv, err := s.storage.Delete(ctx, key, rev)
	if err != nil {
		return nil, err
	}
	s.afterDelete(ctx, obj)
	setRV(obj, kv.Revision)
	return obj, nil
}
