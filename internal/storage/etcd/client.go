package etcd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewClient connects to an external etcd cluster. certFile and keyFile
// (both or neither) give a client certificate; caFile, when set, is the CA
// that verifies the servers. Without any of them the connection is plain.
func NewClient(endpoints []string, certFile, keyFile, caFile string) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("connect to etcd: no endpoints")
	}
	cfg := clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 10 * time.Second,
		// Detect dead connections so requests fail over to other members.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		Logger:               quietLogger(),
	}
	if certFile != "" || keyFile != "" || caFile != "" {
		tlsCfg, err := clientTLS(certFile, keyFile, caFile)
		if err != nil {
			return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
		}
		cfg.TLS = tlsCfg
	}
	client, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	return client, nil
}

// clientTLS loads the client certificate and server CA.
func clientTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("client certificate and key must be given together")
	}
	info := transport.TLSInfo{CertFile: certFile, KeyFile: keyFile, TrustedCAFile: caFile}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load etcd client TLS: %w", err)
	}
	return cfg, nil
}

// quietLogger logs only the etcd client's errors.
func quietLogger() *zap.Logger {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	lg, err := cfg.Build()
	if err != nil {
		return zap.NewNop()
	}
	return lg
}
