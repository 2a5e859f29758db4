package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/internal/server"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event within 30s")
	}
	return watch.Event{}
}

func TestWatchResumeFromResourceVersion(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	cms := s.Client.CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w0"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.Delete(ctx, "w1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	want := []struct {
		typ  watch.EventType
		name string
	}{{watch.Added, "w1"}, {watch.Added, "w2"}, {watch.Added, "w3"}, {watch.Deleted, "w1"}}
	for _, wnt := range want {
		ev := nextEvent(t, w)
		cm, ok := ev.Object.(*corev1.ConfigMap)
		if !ok || ev.Type != wnt.typ || cm.Name != wnt.name {
			t.Fatalf("got %s %v, want %s %s", ev.Type, ev.Object, wnt.typ, wnt.name)
		}
	}
}

func TestWatchLabelSelectorTransitions(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	cms := s.Client.CoreV1().ConfigMaps("default")
	w, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "team=a"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "l", Labels: map[string]string{"team": "b"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Labels["team"] = "a"
	if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, w); ev.Type != watch.Added {
		t.Fatalf("object entering the selection: want ADDED, got %s", ev.Type)
	}
	cm.Labels["team"] = "c"
	if _, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, w); ev.Type != watch.Deleted {
		t.Fatalf("object leaving the selection: want DELETED, got %s", ev.Type)
	}
}

func TestWatchGoneAfterCompaction(t *testing.T) {
	s := testserver.Start(t, func(o *server.Options) { o.EtcdCompactionInterval = 200 * time.Millisecond })
	ctx := ctxFor(t)
	cms := s.Client.CoreV1().ConfigMaps("default")
	old, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c0"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c00"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	page1, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || page1.Continue == "" {
		t.Fatalf("first page: %v %v", page1, err)
	}
	// Keep writing until the first page's revision (the newer of the two) is
	// compacted away: its continue token then expires, and a watch from the
	// older one ends with 410 Gone ("too old resource version").
	deadline := time.Now().Add(30 * time.Second)
	for i := 1; time.Now().Before(deadline); i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: page1.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err = cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: page1.Continue})
	if !apierrors.IsResourceExpired(err) {
		t.Errorf("continue token from before compaction: want 410 Expired, got %v", err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: old.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := nextEvent(t, w)
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || st.Code != http.StatusGone {
		t.Fatalf("want ERROR event with 410, got %s %v", ev.Type, ev.Object)
	}
}

func TestPagination(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	cms := s.Client.CoreV1().ConfigMaps("default")
	for i := 0; i < 25; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pg-%02d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 10}
	pages := 0
	for {
		list, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range list.Items {
			names = append(names, it.Name)
		}
		if pages == 1 {
			if list.RemainingItemCount == nil || *list.RemainingItemCount != 15 {
				t.Errorf("first page remainingItemCount = %v, want 15", list.RemainingItemCount)
			}
			// Created after the first page: not part of this consistent list.
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pg-late"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	if pages != 3 || len(names) != 25 {
		t.Fatalf("got %d pages with %d items, want 3 pages with 25", pages, len(names))
	}
	for i, n := range names {
		if n != fmt.Sprintf("pg-%02d", i) {
			t.Fatalf("item %d is %s: not sorted or duplicated", i, n)
		}
	}
	_, err := cms.List(ctx, metav1.ListOptions{Limit: 10, Continue: "garbage"})
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("garbage continue token: want BadRequest, got %v", err)
	}
}

func TestInformerSurvivesServerRestart(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	client := kubernetes.NewForConfigOrDie(s.Config)
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Core().V1().ConfigMaps().Informer()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	cms := s.Client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, ok, _ := inf.GetStore().GetByKey("default/before"); return ok })

	s.Restart()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, hasAfter, _ := inf.GetStore().GetByKey("default/after")
		_, hasBefore, _ := inf.GetStore().GetByKey("default/before")
		return hasAfter && !hasBefore
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 45s")
}

func TestWatchSendInitialEventsEndsWithBookmark(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	cms := s.Client.CoreV1().ConfigMaps("default")
	for _, n := range []string{"a", "b"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	yes := true
	w, err := cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: &yes, AllowWatchBookmarks: true,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var names []string
	for {
		ev := nextEvent(t, w)
		if ev.Type == watch.Bookmark {
			m := ev.Object.(*corev1.ConfigMap)
			if m.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
				continue
			}
			break
		}
		if ev.Type != watch.Added {
			t.Fatalf("initial event %s", ev.Type)
		}
		names = append(names, ev.Object.(*corev1.ConfigMap).Name)
	}
	if len(names) != 2 || names[0] != "a" || names[1] != "b" {
		t.Fatalf("initial events %v, want [a b]", names)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		ev := nextEvent(t, w)
		if ev.Type == watch.Bookmark {
			continue
		}
		if ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "c" {
			t.Fatalf("after initial events: %s %v", ev.Type, ev.Object)
		}
		return
	}
}

func TestDeleteCollectionBySelector(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	cms := s.Client.CoreV1().ConfigMaps("default")
	for i, team := range []string{"a", "a", "b"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("dc%d", i), Labels: map[string]string{"team": team}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "team=a"}); err != nil {
		t.Fatal(err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "dc2" {
		t.Fatalf("left after deletecollection: %v", list.Items)
	}
}

// TestWatchersOfOneResourceInEveryFormat watches one resource in JSON,
// protobuf, as partial metadata and through a selector at once: the server
// shares decoded and encoded events among watchers, and each must still
// get its own format and event types.
func TestWatchersOfOneResourceInEveryFormat(t *testing.T) {
	s := testserver.Start(t, nil)
	ctx := ctxFor(t)
	clientFor := func(contentType string) kubernetes.Interface {
		cfg := rest.CopyConfig(s.Config)
		cfg.ContentType, cfg.AcceptContentTypes = contentType, contentType
		return kubernetes.NewForConfigOrDie(cfg)
	}
	type watcher struct {
		name string
		w    watch.Interface
		// want are the event types this watcher sees, in order.
		want []watch.EventType
	}
	all := []watch.EventType{watch.Added, watch.Modified, watch.Deleted}
	var watchers []watcher
	for _, ct := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		for _, sel := range []string{"", "team=a"} {
			w, err := clientFor(ct).CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				t.Fatal(err)
			}
			want := all
			if sel != "" {
				// Created outside the selection, then moved into it.
				want = []watch.EventType{watch.Added, watch.Deleted}
			}
			watchers = append(watchers, watcher{name: ct + " " + sel, w: w, want: want})
		}
	}
	gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
	mw, err := metadata.NewForConfigOrDie(s.Config).Resource(gvr).Namespace("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	watchers = append(watchers, watcher{name: "metadata", w: mw, want: all})
	cms := s.Client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "f", Labels: map[string]string{"team": "b"}},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Labels["team"] = "a"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "f", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, wt := range watchers {
		for i, typ := range wt.want {
			ev := nextEvent(t, wt.w)
			ok := ev.Type == typ
			switch o := ev.Object.(type) {
			case *corev1.ConfigMap:
				ok = ok && wt.name != "metadata" && o.Name == "f" && o.Data["k"] == "v"
			case *metav1.PartialObjectMetadata:
				ok = ok && wt.name == "metadata" && o.Name == "f" && o.Labels["team"] != ""
			default:
				ok = false
			}
			if !ok {
				t.Errorf("watcher %s event %d: %s %#v, want %s", wt.name, i, ev.Type, ev.Object, typ)
			}
		}
		wt.w.Stop()
	}
}
