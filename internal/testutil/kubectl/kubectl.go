// Package kubectl runs the real kubectl from PATH in tests. Test-only.
package kubectl

import (
	"os/exec"
	"strings"
	"testing"
)

// Kubectl runs kubectl against one kubeconfig and namespace.
type Kubectl struct {
	t          testing.TB
	path       string
	kubeconfig string
	namespace  string
}

// New finds kubectl on PATH, skipping the test when it is not there.
func New(t testing.TB, kubeconfig, namespace string) *Kubectl {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH")
	}
	return &Kubectl{t: t, path: path, kubeconfig: kubeconfig, namespace: namespace}
}

// Run runs kubectl with args and stdin, returning its combined output.
func (k *Kubectl) Run(stdin string, args ...string) (string, error) {
	cmd := exec.Command(k.path, append([]string{"--kubeconfig", k.kubeconfig, "-n", k.namespace}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Must runs kubectl with args and fails the test on an error.
func (k *Kubectl) Must(args ...string) string {
	k.t.Helper()
	return k.MustIn("", args...)
}

// MustIn runs kubectl with args reading stdin, failing the test on an
// error.
func (k *Kubectl) MustIn(stdin string, args ...string) string {
	k.t.Helper()
	out, err := k.Run(stdin, args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
