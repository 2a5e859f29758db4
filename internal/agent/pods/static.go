package pods

import "context"

// staticLoop runs the pods of StaticPodDir.
func (m *Manager) staticLoop(ctx context.Context) {
	<-ctx.Done()
}
