// Package cri is the node agent's door to the container runtime: a CRI v1
// client (Runtime, implemented by Client over gRPC) and Containerd, which runs
// Debian's containerd as a supervised child process with a configuration
// skiff renders.
//
//	agent ──Runtime (CRI v1 gRPC)──► DIR/containerd.sock ──► containerd ──► shim ──► runc | crun
//	  │                                                          ▲
//	  └── Containerd.Start: render config.toml, run, probe,      │
//	      restart with back-off, stop on exit ────────────────────┘
//
// With --container-runtime-endpoint the agent skips Containerd and Dials the
// given socket; everything else is the same, so CRI-O works too.
//
// Glossary:
//   - sandbox: the pod's shared namespaces, held open by the pause container
//     (images.PauseImageRef); the runtime creates it with RunPodSandbox.
//   - runtime handler: a named OCI runtime (RuntimeClass.handler): "runc",
//     the default, and "crun" when installed.
//   - restrict_oom_score_adj: containerd never gives a container a lower
//     oom_score_adj than its own, so sandboxes start without CAP_SYS_RESOURCE.
//
// See docs/runtime.md for the files, the configuration and troubleshooting.
package cri
