package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	agentserver "github.com/skiffhq/skiff/internal/agent/server"
)

// listenAPI opens the agent API's listener with a TLS config that trusts
// the cluster's client CA, read from the ConfigMap the server publishes
// (kube-system/extension-apiserver-authentication), waiting for it if the
// server is still starting.
func listenAPI(ctx context.Context, client kubernetes.Interface, o *Options) (net.Listener, *tls.Config, error) {
	var clientCA []byte
	for {
		cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
		if err == nil && cm.Data["client-ca-file"] != "" {
			clientCA = []byte(cm.Data["client-ca-file"])
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("read the cluster client CA: %w (last error: %v)", context.Cause(ctx), err)
		case <-time.After(time.Second):
		}
	}
	cfg, err := agentserver.TLSConfig(o.DataDir, clientCA, []string{o.NodeIP, o.NodeName})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(o.Port)))
	if err != nil {
		return nil, nil, fmt.Errorf("agent API: %w", err)
	}
	return ln, cfg, nil
}

// serveAPI serves h over TLS on ln until ctx ends.
func serveAPI(ctx context.Context, ln net.Listener, cfg *tls.Config, h http.Handler) error {
	srv := &http.Server{Handler: h, TLSConfig: cfg, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		// Hijacked streams (exec, port-forward) are not waited for.
		_ = srv.Close()
	}()
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// eventRecorder records events as the kubelet does (source component
// "kubelet", host the node), and a func that flushes and stops it.
func eventRecorder(client kubernetes.Interface, nodeName string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: nodeName}), b.Shutdown
}
