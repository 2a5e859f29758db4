// Package scheduler places pending pods on nodes the way kube-scheduler
// does: a queue, a framework of small plugins, a cache of the cluster and
// binding through the pods/binding subresource. Run starts it (with leader
// election on a coordination.k8s.io Lease); everything it knows comes from
// client-go informers and everything it does goes through the API.
//
//	informers ──► eventhandlers ──► queue (active · backoff · unschedulable)
//	    │                             │ Pop (priority, then age)
//	    ▼                             ▼
//	  cache ── UpdateSnapshot ──► scheduling cycle (one pod at a time)
//	    ▲                          PreFilter → Filter (parallel over nodes)
//	    │ assume                   → PreScore → Score → pick the best node
//	    └──────────────────────── Reserve → Permit
//	                                  │ go
//	                                  ▼
//	                           binding cycle: WaitOnPermit → Bind (POST
//	                           pods/binding) → "Scheduled" event; on error
//	                           forget the pod and requeue it with backoff
//
// When no node fits, PostFilter (preemption) may nominate a node after
// evicting lower-priority pods; the pod gets the PodScheduled=False
// condition and a FailedScheduling event that list, per reason, how many
// nodes rejected it, and waits in the queue for a cluster event that one
// of the rejecting plugins says may help.
//
// Glossary:
//
//   - profile: a scheduler name and its plugins (DefaultProfile).
//   - snapshot: the immutable copy of the cache a cycle decides on; the
//     cache refreshes only the nodes that changed, and keeps indexes (pods
//     by label, anti-affinity terms, topology domains) for the affinity
//     and spread plugins.
//   - assume: count a pod on its chosen node in the cache before the
//     binding is confirmed by the informer, so the next cycle sees it.
//   - nominated node: where preemption made room; lower-priority pods
//     filter as if the nominated pod were already there.
package scheduler
