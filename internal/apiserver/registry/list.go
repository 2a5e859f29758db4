package registry

import (
	"context"
	"errors"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/internal/storage"
)

// expiredContinue is upstream's message for a continue token whose revision
// was compacted.
const expiredContinue = "The provided continue parameter is too old to display a consistent list result. " +
	"You can start a new list without the continue parameter."

// ListOptions select objects for List, Watch and DeleteCollection.
type ListOptions struct {
	Labels labels.Selector
	Fields fields.Selector
	Limit  int64
	// Continue is the token of a previous page.
	Continue string
	// ResourceVersion and ResourceVersionMatch follow the upstream semantics.
	ResourceVersion      string
	ResourceVersionMatch metav1.ResourceVersionMatch
}

// storageListOptions translates API list semantics to storage ones.
func storageListOptions(o ListOptions) (storage.ListOptions, error) {
	out := storage.ListOptions{Limit: o.Limit, Continue: o.Continue}
	if o.Continue != "" {
		if o.ResourceVersion != "" && o.ResourceVersion != "0" {
			return out, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
		}
		return out, nil
	}
	if o.ResourceVersion == "" {
		if o.ResourceVersionMatch != "" {
			return out, apierrors.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
		}
		out.Match = storage.MatchLatest
		return out, nil
	}
	rev, err := parseRV(o.ResourceVersion)
	if err != nil {
		return out, err
	}
	out.Revision = rev
	switch o.ResourceVersionMatch {
	case "", metav1.ResourceVersionMatchNotOlderThan:
		out.Match = storage.MatchNotOlderThan
		if rev == 0 {
			// "Any" version: served from the watch cache, whole.
			out.Limit = 0
		}
	case metav1.ResourceVersionMatchExact:
		if rev == 0 {
			return out, apierrors.NewBadRequest("resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"")
		}
		out.Match = storage.MatchExact
	default:
		return out, apierrors.NewBadRequest("unsupported resourceVersionMatch value: " + string(o.ResourceVersionMatch))
	}
	return out, nil
}

func parseRV(rv string) (int64, error) {
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest("invalid resource version: " + rv)
	}
	return n, nil
}

// List returns the resource's list object with the matching items.
func (s *Store) List(ctx context.Context, ns string, opts ListOptions) (runtime.Object, error) {
	items, page, err := s.listItems(ctx, ns, opts)
	if err != nil {
		return nil, err
	}
	list := s.Resource.NewList()
	if err := meta.SetList(list, items); err != nil {
		return nil, err
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return nil, err
	}
	lm.SetResourceVersion(strconv.FormatInt(page.Revision, 10))
	lm.SetContinue(page.Continue)
	if page.RemainingCount != nil && isEverything(opts) {
		lm.SetRemainingItemCount(page.RemainingCount)
	}
	return list, nil
}

// ListRevision is the resourceVersion a List of ns with opts would report
// now, read without decoding the items (from the watch cache a snapshot of
// keys). Equal revisions of the watch cache mean equal contents.
func (s *Store) ListRevision(ctx context.Context, ns string, opts ListOptions) (string, error) {
	so, err := storageListOptions(opts)
	if err != nil {
		return "", err
	}
	page, err := s.storage.List(ctx, s.prefix(ns), so)
	if err != nil {
		return "", s.storageError(err, "")
	}
	return strconv.FormatInt(page.Revision, 10), nil
}

func isEverything(o ListOptions) bool {
	return (o.Labels == nil || o.Labels.Empty()) && (o.Fields == nil || o.Fields.Empty())
}

// listItems reads one page and keeps the items matching the selectors.
func (s *Store) listItems(ctx context.Context, ns string, opts ListOptions) ([]runtime.Object, storage.ListResult, error) {
	so, err := storageListOptions(opts)
	if err != nil {
		return nil, storage.ListResult{}, err
	}
	page, err := s.storage.List(ctx, s.prefix(ns), so)
	if errors.Is(err, storage.ErrCompacted) && opts.Continue != "" {
		return nil, page, apierrors.NewResourceExpired(expiredContinue)
	}
	if err != nil {
		return nil, page, s.storageError(err, "")
	}
	items := make([]runtime.Object, 0, len(page.Items))
	for _, kv := range page.Items {
		obj, err := s.decodeKV(kv.Value, kv.Revision)
		if err != nil {
			return nil, page, err
		}
		ok, err := s.Matches(obj, opts)
		if err != nil {
			return nil, page, err
		}
		if ok {
			items = append(items, obj)
		}
	}
	return items, page, nil
}

// Matches reports whether obj passes the label and field selectors.
func (s *Store) Matches(obj runtime.Object, opts ListOptions) (bool, error) {
	return s.Resource.Matches(obj, opts.Labels, opts.Fields)
}
