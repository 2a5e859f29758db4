package controller

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// PodControl creates and deletes the pods of one controller object with
// expectations and upstream's events ("Created pod: x", "Deleted pod: x",
// "Error creating: …", "Error deleting: …").
type PodControl struct {
	Client       kubernetes.Interface
	Recorder     record.EventRecorder
	Expectations *Expectations
}

// Create creates pods in slow-start batches on behalf of owner (the
// object events are about), expecting them under key.
func (pc PodControl) Create(ctx context.Context, key string, owner runtime.Object, pods []*corev1.Pod) error {
	pc.Expectations.ExpectCreations(key, len(pods))
	var next atomic.Int64
	called, err := SlowStart(len(pods), func() error {
		pod := pods[next.Add(1)-1]
		created, err := pc.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			// This create will never be observed.
			pc.Expectations.CreationObserved(key)
			if NamespaceGoing(err) || ctx.Err() != nil {
				return nil
			}
			pc.Recorder.Eventf(owner, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			return err
		}
		pc.Recorder.Eventf(owner, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.Name)
		return nil
	})
	for range len(pods) - called {
		pc.Expectations.CreationObserved(key)
	}
	if err != nil {
		return fmt.Errorf("create pods for %s: %w", key, err)
	}
	return nil
}

// Delete deletes pods concurrently, each guarded by its UID, expecting the
// deletes under key; it returns how many deletes succeeded.
func (pc PodControl) Delete(ctx context.Context, key string, owner runtime.Object, pods []*corev1.Pod) (int, error) {
	uids := make([]string, len(pods))
	for i, p := range pods {
		uids[i] = string(p.UID)
	}
	pc.Expectations.ExpectDeletions(key, uids)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		deleted  atomic.Int64
		firstErr error // guarded by mu
	)
	for _, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uid := p.UID
			err := pc.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &uid},
			})
			if err == nil {
				deleted.Add(1)
				pc.Recorder.Eventf(owner, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
				return
			}
			// Gone already (or replaced), or failed: either way its delete
			// event may never come.
			pc.Expectations.DeletionObserved(key, string(uid))
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return
			}
			pc.Recorder.Eventf(owner, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return int(deleted.Load()), fmt.Errorf("delete pods of %s: %w", key, firstErr)
	}
	return int(deleted.Load()), nil
}
