package registry

import "k8s.io/apimachinery/pkg/runtime"

// SharedDecode returns the decoded object watchers of s share for key at
// rev, if any (for tests of the registry_test package).
func SharedDecode(s *Store, key string, rev int64) (runtime.Object, bool) {
	if s.decoded == nil {
		return nil, false
	}
	return s.decoded.Get(eventKey{key: key, rev: rev})
}
