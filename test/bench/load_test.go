package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// benchConfigMap is the object the load benchmarks write: a small ConfigMap
// (two data keys, about 100 bytes of data).
func benchConfigMap(i int) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i), Labels: map[string]string{"app": "bench"}},
		Data: map[string]string{
			"index":   fmt.Sprint(i),
			"payload": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		},
	}
}

// createConfigMaps creates ConfigMaps cm-00000 … cm-<n-1> in ns, spreading
// them over the clients (one goroutine each), and returns every create's
// latency. It stops at the first error.
func createConfigMaps(ctx context.Context, clients []kubernetes.Interface, ns string, n int) ([]time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	perClient := make([][]time.Duration, len(clients))
	var wg sync.WaitGroup
	for w, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, n/len(clients)+1)
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					break
				}
				start := time.Now()
				_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, benchConfigMap(i), metav1.CreateOptions{})
				if err != nil {
					cancel(fmt.Errorf("create configmap %d: %w", i, err))
					break
				}
				lat = append(lat, time.Since(start))
			}
			perClient[w] = lat
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return slices.Concat(perClient...), nil
}

// warmUp makes one cheap request per client so connections and TLS
// handshakes are not counted in the measured requests.
func warmUp(ctx context.Context, clients []kubernetes.Interface) error {
	for _, c := range clients {
		if _, err := c.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	return nil
}

// createNamespace creates a namespace for a benchmark.
func createNamespace(ctx context.Context, c kubernetes.Interface, name string) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	return err
}

// percentileMs is the q-quantile (0 < q ≤ 1, nearest rank) of sorted, in ms.
func percentileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	return ms(sorted[max(rank, 0)])
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
