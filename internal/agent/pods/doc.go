// Package pods runs the pods bound to this node: one worker per pod UID turns
// the pod's spec into a CRI sandbox and containers and reports the pod's
// status back to the API server.
//
//	API server ──informer (spec.nodeName=<node>)──► Manager ──kick──► podWorker (one per UID)
//	                                                  ▲   │             │ observe: ListPodSandbox/ListContainers
//	containerd ──relist every second (state changes)──┘   │             │          by io.kubernetes.pod.uid
//	                                                      │             │ act:     sandbox, images, init →
//	                                                      │             │          sidecars → app containers
//	                                                      │             ▼
//	                                             statusManager ◄── desired status (coalesced, one writer)
//	                                                      │
//	                                                      └──► PUT pods/<name>/status
//
// Workers are level-triggered: every sync recomputes what should run from the
// pod spec and what the runtime reports, so an agent restart finds running
// containers and carries on. The only memory a worker keeps is what the
// runtime cannot tell: back-off timers and the reason a container could not
// be started (ErrImagePull, CreateContainerConfigError, …).
//
// Glossary:
//   - record: one CRI container of the pod, with its restart count (a
//     container annotation) and status.
//   - current record: a container name's newest record.
//   - sidecar: an init container with restartPolicy Always.
package pods
