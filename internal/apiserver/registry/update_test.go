package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
	"github.com/skiffhq/skiff/internal/apiserver/registry/core"
	"github.com/skiffhq/skiff/internal/storage"
	"github.com/skiffhq/skiff/internal/storage/etcd"
	"github.com/skiffhq/skiff/internal/storage/etcd/etcdtest"
)

// staleCache is a watch cache that answers reads of one key with whatever
// the test pinned (possibly old), in front of real etcd.
type staleCache struct {
	storage.Interface
	mu     sync.Mutex
	pinned map[string]storage.KeyValue
}

func (c *staleCache) GetCached(key string) (storage.KeyValue, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kv, ok := c.pinned[key]
	return kv, ok
}

// pin makes the cache answer key's current value from now on.
func (c *staleCache) pin(t *testing.T, key string) {
	t.Helper()
	kv, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pinned[key] = kv
}

// setData returns an update that sets data[k]=v, failing with a conflict
// when needB is set and data.b is not needB.
func setData(k, v, needB string) registry.UpdateFunc {
	return func(cur runtime.Object) (runtime.Object, error) {
		cm := cur.(*corev1.ConfigMap)
		if needB != "" && cm.Data["b"] != needB {
			return nil, apierrors.NewConflict(corev1.Resource("configmaps"), cm.Name, errors.New("unexpected value"))
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[k] = v
		return cm, nil
	}
}

// setDataAt returns an update that sets data[k]=v on the object at
// resourceVersion rv.
func setDataAt(rv, k, v string) registry.UpdateFunc {
	return func(cur runtime.Object) (runtime.Object, error) {
		cm := cur.(*corev1.ConfigMap)
		cm.ResourceVersion = rv
		cm.Data[k] = v
		return cm, nil
	}
}

// TestUpdateFromStaleCache checks that an update whose first read comes
// from a watch cache behind etcd decides as if it had read etcd: it keeps
// concurrent writes, re-decides refusals and no-ops, and honours
// resourceVersion preconditions against the current object.
func TestUpdateFromStaleCache(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// update runs after the cache pinned the object as {a: 1} and a
		// concurrent writer set b=2 (data {a: 1, b: 2}); pinnedRV and
		// currentRV are the two resourceVersions.
		update    func(pinnedRV, currentRV string) registry.UpdateFunc
		dryRun    bool
		wantData  map[string]string
		wantCode  int32
		wantWrite bool
	}{
		{name: "a dry run answers with the current object",
			update: func(_, _ string) registry.UpdateFunc { return setData("c", "3", "") }, dryRun: true,
			wantData: map[string]string{"a": "1", "b": "2"}},
		{name: "unconditional update keeps the concurrent write",
			update:   func(_, _ string) registry.UpdateFunc { return setData("c", "3", "") },
			wantData: map[string]string{"a": "1", "b": "2", "c": "3"}, wantWrite: true},
		{name: "refused on the current object though the cached one allows it",
			update:   func(_, _ string) registry.UpdateFunc { return setData("b", "9", "x") },
			wantData: map[string]string{"a": "1", "b": "2"}, wantCode: 409},
		{name: "allowed on the current object though the cached one refuses it",
			update:   func(_, _ string) registry.UpdateFunc { return setData("c", "3", "2") },
			wantData: map[string]string{"a": "1", "b": "2", "c": "3"}, wantWrite: true},
		{name: "a no-op on the cached object is a write on the current one",
			update: func(_, _ string) registry.UpdateFunc {
				return func(cur runtime.Object) (runtime.Object, error) {
					cm := cur.(*corev1.ConfigMap)
					cm.Data = map[string]string{"a": "1"}
					return cm, nil
				}
			},
			wantData: map[string]string{"a": "1"}, wantWrite: true},
		{name: "a no-op on the current object writes nothing",
			update:   func(_, _ string) registry.UpdateFunc { return setData("b", "2", "") },
			wantData: map[string]string{"a": "1", "b": "2"}},
		{name: "the current resourceVersion is not a conflict",
			update:   func(_, currentRV string) registry.UpdateFunc { return setDataAt(currentRV, "c", "3") },
			wantData: map[string]string{"a": "1", "b": "2", "c": "3"}, wantWrite: true},
		{name: "the cached resourceVersion is a conflict",
			update:   func(pinnedRV, _ string) registry.UpdateFunc { return setDataAt(pinnedRV, "c", "3") },
			wantData: map[string]string{"a": "1", "b": "2"}, wantCode: 409},
	}
	e := etcdtest.Start(t)
	t.Run("deleted since the cache saw it, created again where updates may create", func(t *testing.T) {
		ctx := t.Context()
		cache := &staleCache{Interface: etcd.New(e.Client()), pinned: map[string]storage.KeyValue{}}
		s := registry.NewStore(core.ConfigMaps(), cache, registry.NewProtobufCodec(scheme.Scheme))
		if _, err := s.Create(ctx, "stale-gone", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, registry.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cache.pin(t, s.Key("stale-gone", "cm"))
		if _, _, err := s.Delete(ctx, "stale-gone", "cm", &metav1.DeleteOptions{}, false); err != nil {
			t.Fatal(err)
		}
		_, created, err := s.Update(ctx, "stale-gone", "cm", func(cur runtime.Object) (runtime.Object, error) {
			if cur == nil {
				return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"new": "yes"}}, nil
			}
			return setData("c", "3", "")(cur)
		}, registry.UpdateOptions{CreateIfMissing: true})
		if err != nil || !created {
			t.Fatalf("update = created %v, %v; want the object created again", created, err)
		}
	})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := &staleCache{Interface: etcd.New(e.Client()), pinned: map[string]storage.KeyValue{}}
			s := registry.NewStore(core.ConfigMaps(), cache, registry.NewProtobufCodec(scheme.Scheme))
			ns := fmt.Sprint("stale-", i)
			name := "cm"
			created, err := s.Create(ctx, ns, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name},
				Data: map[string]string{"a": "1"}}, registry.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cache.pin(t, s.Key(ns, name))
			written, _, err := registry.NewStore(core.ConfigMaps(), etcd.New(e.Client()), registry.NewProtobufCodec(scheme.Scheme)).
				Update(ctx, ns, name, setData("b", "2", ""), registry.UpdateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pinnedRV, currentRV := created.(*corev1.ConfigMap).ResourceVersion, written.(*corev1.ConfigMap).ResourceVersion

			out, _, err := s.Update(ctx, ns, name, tc.update(pinnedRV, currentRV), registry.UpdateOptions{DryRun: tc.dryRun})
			var status apierrors.APIStatus
			switch {
			case tc.wantCode == 0 && err != nil:
				t.Fatalf("update: %v", err)
			case tc.wantCode != 0 && (!errors.As(err, &status) || status.Status().Code != tc.wantCode):
				t.Fatalf("update error = %v, want code %d", err, tc.wantCode)
			}
			if tc.dryRun {
				if d := out.(*corev1.ConfigMap).Data; d["a"] != "1" || d["b"] != "2" || d["c"] != "3" {
					t.Errorf("dry run answered %v, want the current data with c=3", d)
				}
			}
			got, err := s.Get(ctx, ns, name)
			if err != nil {
				t.Fatal(err)
			}
			cm := got.(*corev1.ConfigMap)
			if len(cm.Data) != len(tc.wantData) {
				t.Fatalf("data = %v, want %v", cm.Data, tc.wantData)
			}
			for k, v := range tc.wantData {
				if cm.Data[k] != v {
					t.Fatalf("data = %v, want %v", cm.Data, tc.wantData)
				}
			}
			if wrote := cm.ResourceVersion != currentRV; wrote != tc.wantWrite {
				t.Errorf("wrote = %v (resourceVersion %s, was %s), want %v", wrote, cm.ResourceVersion, currentRV, tc.wantWrite)
			}
		})
	}
}
