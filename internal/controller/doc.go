// Package controller is the framework every skiff controller is built on:
// a work-queue runner in the shape controller-runtime made familiar, event
// handlers that turn informer events into keys, expectations that keep a
// controller from acting twice on a stale cache, slow-start batches for
// creates, and the adopt/release logic of controllerRefs.
//
//	informers (shared, one per resource)
//	    │ add / update / delete
//	    ▼
//	event handlers ── key "ns/name" of the object, or of its owner ──┐
//	                                                                  ▼
//	                                      rate-limited work queue (client-go)
//	                                                                  │ one key at a time,
//	                                                                  ▼ N workers
//	                     Reconciler.Reconcile(ctx, key) (Result, error)
//	                       reads listers, writes through the API
//	                       error        → requeue with backoff
//	                       RequeueAfter → requeue later
//	                       panic        → recovered, logged, requeued
//
// Each controller lives in its own package under internal/controller/<name>
// and is started by internal/controller/manager.
//
// Glossary:
//
//   - key: "namespace/name" (or "name" for cluster-scoped objects) of the
//     object a reconciler converges.
//   - controllerRef: the ownerReference with controller=true; an object has
//     at most one and only that controller manages it.
//   - adopt / release: add or remove our controllerRef on an object whose
//     labels match (or stop matching) our selector.
//   - expectations: creates and deletes a controller has issued but not yet
//     seen in its informer cache; while any are outstanding it does not
//     decide on counts again.
//   - slow start: creates in batches of 1, 2, 4, ... that stop at the first
//     failing batch, so a quota or admission error costs one request, not
//     thousands.
package controller
