// Package gc is the node agent's garbage collector: it removes exited
// containers nobody needs any more and, when the image filesystem is
// fuller than the high threshold, unused images until usage is below the
// low threshold — the kubelet's container and image garbage collection.
//
//	every minute ──► containers: ListContainers ─► per (pod UID, container name),
//	                 newest first: keep the newest, keep N exited besides it,
//	                 remove older exited ones (and their log files); then the
//	                 node-wide cap, oldest first; then log files no container
//	                 points at.
//
//	every 5 minutes ─► images: ListImages + ListContainers ─► records
//	                 (first detected, last used); usage of the image
//	                 filesystem ≥ high? remove unused images (not skiff's
//	                 pause and busybox images, not pinned, first detected
//	                 ≥ MinImageAge ago),
//	                 least recently used first, until below low; short of
//	                 that: event FreeDiskSpaceFailed on the Node.
//
// Who removes what on a node:
//   - the pod workers (internal/agent/pods) keep each container name's
//     newest record and the one before it (the status' lastState and `kubectl
//     logs --previous`) and remove older ones as they sync; they also remove
//     the old sandboxes of a live pod;
//   - the pod manager removes everything (sandboxes, containers, volumes,
//     logs) of pods no longer on the node;
//   - this package enforces the node's policy on top: minimum container age,
//     dead containers per container, the node-wide cap of dead containers,
//     the log files of removed containers, and images.
//
// Glossary:
//   - group: the containers of one (pod UID, container name), newest first
//     (highest restart-count annotation, then creation time).
//   - dead container: an exited one.
//   - unused image: one no container of the runtime (in any state) uses.
package gc
