// Package images builds container images in Go and imports them into a
// node's containerd, so a node needs no registry for the images skiff itself
// ships (the pause image the runtime uses for pod sandboxes, and the busybox
// image tests and examples run).
//
//	files + ImageConfig ──Build──► OCI image layout tarball ──Import (ctr)──► containerd "k8s.io" namespace
//	                                 oci-layout                                   │
//	                                 index.json  (names the image)                ▼
//	                                 blobs/sha256/{manifest,config,layer.tar.gz}  CRI sees the image
//
// Glossary:
//   - ref: a full image reference, "skiff.local/pause:3.10". Short names are
//     normalised the way Docker does ("busybox" → "docker.io/library/busybox:latest")
//     because that is the name CRI looks up.
//   - layer: one gzip-compressed tar holding every file of the image; its
//     diff ID is the digest of the uncompressed tar.
//   - pause image: the sandbox image; its entrypoint is busybox-static's sh
//     running a loop that waits for children (reaping zombies as PID 1) and
//     exits on SIGTERM/SIGINT. See docs/runtime.md for why.
//
// Builds are deterministic: the same inputs give the same digests, so the pause
// and busybox images share their one layer in containerd's content store.
package images
