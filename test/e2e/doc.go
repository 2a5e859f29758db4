// Package e2e holds end-to-end tests: they build the real skiff binary once,
// start `skiff server` clusters from it and drive them with the real kubectl,
// asserting what a user at the terminal sees (stdout, stderr, exit codes).
//
//	TestMain ── go build ./cmd/skiff ──► skiffBin
//	TestXxx  ── startCluster(t) ──► skiff server --data-dir <tmp> --https-listen-port 0
//	         └─ c.kubectl(t, ...) ──► /usr/bin/kubectl --kubeconfig <tmp>/admin.kubeconfig
//
// Every top-level test owns one cluster and runs in parallel with the others;
// its subtests share that cluster and run in order.
package e2e
