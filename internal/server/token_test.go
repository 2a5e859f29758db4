package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffhq/skiff/internal/auth"
)

func TestJoinTokenGeneratedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	certs, err := ensureCerts(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ensureJoinToken(dir, certs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "server", "token")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", st.Mode().Perm())
	}
	if first.CAHash != auth.CAHash(certs.serverCA.Cert.Raw) {
		t.Fatalf("token hash %s does not name the server CA", first.CAHash)
	}
	data, _ := os.ReadFile(path)
	parsed, err := auth.ParseJoinToken(string(data))
	if err != nil || parsed != first {
		t.Fatalf("stored token %q parses to %+v (%v), want %+v", data, parsed, err, first)
	}
	second, err := ensureJoinToken(dir, certs)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatalf("second start made token %s, want the stored %s", second, first)
	}
}

func TestJoinTokenFollowsReplacedCA(t *testing.T) {
	dir := t.TempDir()
	stale := auth.JoinToken{CAHash: auth.CAHash([]byte("old ca")), ID: "abcdef", Secret: "0123456789abcdef"}
	if err := writeJoinToken(filepath.Join(dir, "server", "token"), stale); err != nil {
		t.Fatal(err)
	}
	certs, err := ensureCerts(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ensureJoinToken(dir, certs)
	if err != nil {
		t.Fatal(err)
	}
	if got.Credential() != stale.Credential() || got.CAHash != auth.CAHash(certs.serverCA.Cert.Raw) {
		t.Fatalf("got %s, want credential %s with the current CA's hash", got, stale.Credential())
	}
}

func TestJoinTokenMalformedFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server", "token")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	certs, err := ensureCerts(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ensureJoinToken(dir, certs); err == nil {
		t.Fatal("malformed token file accepted")
	}
}

func TestCACertsServedWithoutAuthentication(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\n...\n")
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	h := withCACerts(next, ca)
	tests := []struct {
		method, path string
		wantCode     int
		wantBody     []byte
	}{
		{http.MethodGet, "/cacerts", http.StatusOK, ca},
		{http.MethodPost, "/cacerts", http.StatusMethodNotAllowed, nil},
		{http.MethodGet, "/api", http.StatusUnauthorized, nil},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != tc.wantCode || (tc.wantBody != nil && !bytes.Equal(body, tc.wantBody)) {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, rec.Code, body, tc.wantCode, tc.wantBody)
		}
	}
}
