// Package version reports skiff's version in the shape /version answers.
package version

import (
	"fmt"
	"runtime"

	apiversion "k8s.io/apimachinery/pkg/version"
)

// Set at build time with -ldflags "-X github.com/skiffhq/skiff/internal/version.gitCommit=...".
var (
	gitCommit = "unknown"
	buildDate = "1970-01-01T00:00:00Z"
)

// KubernetesVersion is the Kubernetes API version skiff implements.
const KubernetesVersion = "v1.32.3"

// Get returns the version info served at /version.
func Get() apiversion.Info {
	return apiversion.Info{
		Major:        "1",
		Minor:        "32",
		GitVersion:   KubernetesVersion + "+skiff",
		GitCommit:    gitCommit,
		GitTreeState: "clean",
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}
