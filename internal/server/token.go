package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/skiffhq/skiff/internal/auth"
)

// CACertsPath serves the server CA certificate (PEM) without
// authentication, so a joining agent can fetch it and check it against the
// hash in its join token before trusting the server.
const CACertsPath = "/cacerts"

// ReadJoinToken reads the join token of the server whose data dir is
// dataDir (DIR/server/token).
func ReadJoinToken(dataDir string) (auth.JoinToken, error) {
	data, err := os.ReadFile(joinTokenPath(dataDir))
	if err != nil {
		return auth.JoinToken{}, fmt.Errorf("read join token: %w", err)
	}
	return auth.ParseJoinToken(string(data))
}

func joinTokenPath(dataDir string) string { return filepath.Join(dataDir, "server", "token") }

// ensureJoinToken returns the join token of DIR/server/token, generating
// it (mode 0600) on first start. A stored token whose CA hash no longer
// matches the server CA (the CA was replaced) keeps its credential and
// gets the new hash.
func ensureJoinToken(dataDir string, certs *serverCerts) (auth.JoinToken, error) {
	path := joinTokenPath(dataDir)
	hash := auth.CAHash(certs.serverCA.Cert.Raw)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		tok, err := auth.ParseJoinToken(string(data))
		if err != nil {
			return auth.JoinToken{}, fmt.Errorf("read join token %s (remove it to generate a new one): %w", path, err)
		}
		if tok.CAHash == hash {
			return tok, nil
		}
		tok.CAHash = hash
		return tok, writeJoinToken(path, tok)
	case errors.Is(err, os.ErrNotExist):
		tok, err := auth.NewJoinToken(certs.serverCA.Cert.Raw)
		if err != nil {
			return auth.JoinToken{}, err
		}
		return tok, writeJoinToken(path, tok)
	default:
		return auth.JoinToken{}, fmt.Errorf("read join token: %w", err)
	}
}

// writeJoinToken stores tok at path, readable by the owner only.
func writeJoinToken(path string, tok auth.JoinToken) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write join token: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write join token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write join token: %w", err)
	}
	slog.Info("generated join token", "path", path)
	return nil
}

// withCACerts answers GET /cacerts with the server CA and hands every other
// request to next.
func withCACerts(next http.Handler, caPEM []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != CACertsPath {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(caPEM)
	})
}
