package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/skiffhq/skiff/internal/apiserver/recent"
	"github.com/skiffhq/skiff/internal/storage"
)

// Store applies Kubernetes object semantics for one resource on top of a
// storage.Interface. Every method returns *apierrors.StatusError for failures
// users can act on; other errors are internal.
type Store struct {
	Resource *Resource
	storage  storage.Interface
	codec    Codec
	// Now is the clock; tests may replace it.
	Now func() time.Time

	// decoded shares decoded events among watchers (nil: no sharing; see
	// decodeEvent).
	decoded *recent.Memo[eventKey, runtime.Object]
}

// NewStore returns the store of r over s.
func NewStore(r *Resource, s storage.Interface, codec Codec) *Store {
	return &Store{Resource: r, storage: s, codec: codec, Now: time.Now, decoded: newDecodedEvents(r)}
}

// Key is the storage key of one object.
func (s *Store) Key(ns, name string) string {
	if s.Resource.Namespaced {
		return s.Resource.StoragePrefix + ns + "/" + name
	}
	return s.Resource.StoragePrefix + name
}

// prefix is the storage prefix of a list in ns ("" = all namespaces).
func (s *Store) prefix(ns string) string {
	if s.Resource.Namespaced && ns != "" {
		return s.Resource.StoragePrefix + ns + "/"
	}
	return s.Resource.StoragePrefix
}

// Get returns one object.
func (s *Store) Get(ctx context.Context, ns, name string) (runtime.Object, error) {
	kv, err := s.storage.Get(ctx, s.Key(ns, name))
	if err != nil {
		return nil, s.storageError(err, name)
	}
	return s.decodeStored(kv)
}

// GetCached returns one object from the watch cache when the storage has
// one (any recent version is fine), falling back to a consistent read when
// the cache does not have it yet. Admission uses it on hot paths.
func (s *Store) GetCached(ctx context.Context, ns, name string) (runtime.Object, error) {
	kv, _, err := s.readCached(ctx, s.Key(ns, name))
	if err != nil {
		return nil, s.storageError(err, name)
	}
	return s.decodeStored(kv)
}

// CreateOptions tune Create.
type CreateOptions struct {
	DryRun bool
	// Admit runs after defaulting and before validation; it may change obj.
	Admit func(ctx context.Context, obj runtime.Object) error
}

// Create stores a new object in ns.
func (s *Store) Create(ctx context.Context, ns string, obj runtime.Object, opts CreateOptions) (runtime.Object, error) {
	m, err := metaOf(obj)
	if err != nil {
		return nil, err
	}
	if err := s.fixNamespace(m, ns); err != nil {
		return nil, err
	}
	if m.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	generated := m.GetName() == "" && m.GetGenerateName() != ""
	s.initMeta(m)
	if s.Resource.HasStatus && !s.Resource.KeepStatusOnCreate {
		resetStatus(obj)
	}
	if h := s.Resource.hooks.prepareForCreate; h != nil {
		if err := h(ctx, obj); err != nil {
			return nil, err
		}
	}
	if h := s.Resource.hooks.defaults; h != nil {
		h(obj)
	}
	if opts.Admit != nil {
		if err := opts.Admit(ctx, obj); err != nil {
			return nil, err
		}
	}
	undo := func() {}
	if h := s.Resource.hooks.allocate; h != nil && !opts.DryRun {
		if undo, err = h(ctx, obj); err != nil {
			return nil, err
		}
	}
	out, err := s.validateAndCreate(ctx, obj, m, generated, opts)
	if err != nil {
		undo()
	}
	return out, err
}

func (s *Store) validateAndCreate(ctx context.Context, obj runtime.Object, m metav1.Object, generated bool, opts CreateOptions) (runtime.Object, error) {
	if errs := s.validateCreate(obj); len(errs) > 0 {
		return nil, apierrors.NewInvalid(s.Resource.GroupKind(), m.GetName(), errs)
	}
	if opts.DryRun {
		return obj, nil
	}
	for attempt := 0; ; attempt++ {
		data, err := s.encode(obj)
		if err != nil {
			return nil, err
		}
		rev, err := s.storage.Create(ctx, s.Key(m.GetNamespace(), m.GetName()), data)
		if errors.Is(err, storage.ErrKeyExists) && generated && attempt < 8 {
			m.SetName(generateName(m.GetGenerateName()))
			continue
		}
		if errors.Is(err, storage.ErrKeyExists) && generated {
			return nil, apierrors.NewGenerateNameConflict(s.Resource.GroupResource(), m.GetName(), 1)
		}
		if err != nil {
			return nil, s.storageError(err, m.GetName())
		}
		setRV(obj, rev)
		return obj, nil
	}
}

// fixNamespace makes the object's namespace agree with the request's.
func (s *Store) fixNamespace(m metav1.Object, ns string) error {
	if !s.Resource.Namespaced {
		m.SetNamespace("")
		return nil
	}
	switch m.GetNamespace() {
	case "":
		m.SetNamespace(ns)
	case ns:
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// initMeta fills the server-owned metadata of a new object.
func (s *Store) initMeta(m metav1.Object) {
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(generateName(m.GetGenerateName()))
	}
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(metav1.NewTime(s.Now().Truncate(time.Second)))
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	m.SetGeneration(0)
	if s.Resource.TracksGeneration {
		m.SetGeneration(1)
	}
}

const maxGeneratedNameLength = 63 - 5

func generateName(base string) string {
	if len(base) > maxGeneratedNameLength {
		base = base[:maxGeneratedNameLength]
	}
	return base + utilrand.String(5)
}

// storageError maps storage sentinels to API errors.
func (s *Store) storageError(err error, name string) error {
	gr := s.Resource.GroupResource()
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, storage.ErrKeyExists):
		return apierrors.NewAlreadyExists(gr, name)
	case errors.Is(err, storage.ErrConflict):
		return conflictError(gr, name)
	case errors.Is(err, storage.ErrCompacted):
		return apierrors.NewResourceExpired("The resourceVersion for the provided list is too old.")
	case errors.Is(err, storage.ErrInvalidContinue):
		return apierrors.NewBadRequest(fmt.Sprintf("invalid continue token: %v", err))
	case errors.Is(err, storage.ErrTooLargeRevision):
		return apierrors.NewTimeoutError("Too large resource version", 1)
	}
	return err
}

func conflictError(gr schema.GroupResource, name string) error {
	return apierrors.NewConflict(gr, name,
		errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}

// objectsEqual compares two objects ignoring resourceVersion.
func objectsEqual(a, b runtime.Object) bool {
	ma, _ := metaOf(a)
	mb, _ := metaOf(b)
	ra, rb := ma.GetResourceVersion(), mb.GetResourceVersion()
	ma.SetResourceVersion("")
	mb.SetResourceVersion("")
	defer ma.SetResourceVersion(ra)
	defer mb.SetResourceVersion(rb)
	return equality.Semantic.DeepEqual(a, b)
}
