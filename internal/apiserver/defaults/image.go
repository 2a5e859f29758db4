package defaults

import (
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// imageRefRegexp matches an image reference: [domain[:port]/]path[:tag][@digest].
// Path components are lowercase; the domain may not be.
var imageRefRegexp = regexp.MustCompile(`^` +
	`(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?` +
	`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*` +
	`(?::([\w][\w.-]{0,127}))?` +
	`(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`)

// pullPolicyFor returns the default pull policy for an image: Always when
// the tag is "latest" or there is neither tag nor digest, IfNotPresent
// otherwise (including references that do not parse).
func pullPolicyFor(image string) corev1.PullPolicy {
	if imageTag(image) == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// imageTag returns the effective tag of an image reference: its tag,
// "latest" when it has neither tag nor digest, and "" when it has only a
// digest or does not parse.
func imageTag(image string) string {
	m := imageRefRegexp.FindStringSubmatch(image)
	if m == nil || len(strings.SplitN(image, "@", 2)[0]) > 255+129 {
		return ""
	}
	tag, digest := m[1], m[2]
	if tag == "" && digest == "" {
		return "latest"
	}
	return tag
}
