package bootstrap

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/skiffhq/skiff/internal/auth"
)

// caCertsPath is where the server serves its CA without authentication.
const caCertsPath = "/cacerts"

// fetchCA downloads the server CA over a TLS connection that is not yet
// verified and accepts it only if its hash is wantHash. Nothing else is
// read from the server before that check.
func fetchCA(ctx context.Context, server, wantHash string) ([]byte, error) {
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			// The CA is not known yet; the hash check below is what makes
			// the answer trustworthy.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // verified by hash
			Proxy:           http.ProxyFromEnvironment,
		},
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+caCertsPath, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch server CA: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch server CA from %s: %w", server, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch server CA from %s: %w", server, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch server CA from %s%s: HTTP %d (is this a skiff server?)", server, caCertsPath, resp.StatusCode)
	}
	ca, err := firstCert(body)
	if err != nil {
		return nil, fmt.Errorf("server CA from %s: %w", server, err)
	}
	if got := auth.CAHash(ca.Raw); got != wantHash {
		return nil, fmt.Errorf("%w: refusing to trust %s: the token expects CA hash sha256:%s but the server presents sha256:%s",
			ErrCAHashMismatch, server, wantHash, got)
	}
	// Only the verified certificate is kept: anything else in the answer
	// was not covered by the hash.
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), nil
}
