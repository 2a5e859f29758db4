package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a server CA with a serving certificate and a client CA with an
// admin certificate, as the server sets them up.
type testPKI struct {
	serverCA, clientCA  *CA
	certFile, keyFile   string
	adminCert, adminKey []byte
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	serverCA, dir := newTestCA(t, "server-ca")
	clientCA, err := EnsureCA(dir, "client-ca", "skiff-client-ca@test")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := serverCA.EnsureServingCert(dir, "serving", nil)
	if err != nil {
		t.Fatal(err)
	}
	adminCert, adminKey, err := clientCA.EnsureClientCert(dir, "admin", "admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{serverCA, clientCA, certFile, keyFile, adminCert, adminKey}
}

func TestServerTLSConfigHandshake(t *testing.T) {
	p := newTestPKI(t)
	stranger, _ := newTestCA(t, "stranger-ca")
	strangerCert, strangerKey, err := stranger.IssueClientCert("admin", []string{"system:masters"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerTLSConfig(p.certFile, p.keyFile, p.clientCA.Pool())
	if err != nil {
		t.Fatalf("ServerTLSConfig: %v", err)
	}
	url := startTLSServer(t, cfg)

	tests := []struct {
		name       string
		certPEM    []byte
		keyPEM     []byte
		maxVersion uint16
		wantErr    bool
		want       peerInfo
	}{
		{
			name:    "admin client certificate",
			certPEM: p.adminCert, keyPEM: p.adminKey,
			want: peerInfo{HasCert: true, CN: "admin", Orgs: []string{"system:masters"}, Proto: "HTTP/2.0"},
		},
		{
			name: "no client certificate",
			want: peerInfo{Proto: "HTTP/2.0"},
		},
		{
			name:    "TLS 1.2 client",
			certPEM: p.adminCert, keyPEM: p.adminKey,
			maxVersion: tls.VersionTLS12,
			want:       peerInfo{HasCert: true, CN: "admin", Orgs: []string{"system:masters"}, Proto: "HTTP/2.0"},
		},
		{
			name:    "certificate from an unknown CA is rejected",
			certPEM: strangerCert, keyPEM: strangerKey,
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clientTLS := &tls.Config{RootCAs: p.serverCA.Pool(), MaxVersion: tc.maxVersion}
			if tc.certPEM != nil {
				pair, err := tls.X509KeyPair(tc.certPEM, tc.keyPEM)
				if err != nil {
					t.Fatal(err)
				}
				// Send the certificate whatever CAs the server names, as
				// OpenSSL-based clients do; Go would otherwise keep quiet.
				clientTLS.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					return &pair, nil
				}
			}
			got, err := getPeerInfo(url, clientTLS)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("request succeeded with %+v, want handshake error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			if got.HasCert != tc.want.HasCert || got.CN != tc.want.CN || !sameSet(got.Orgs, tc.want.Orgs) || got.Proto != tc.want.Proto {
				t.Errorf("handler saw %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestServerTLSConfigReloadsRenewedCertificate(t *testing.T) {
	p := newTestPKI(t)
	cfg, err := ServerTLSConfig(p.certFile, p.keyFile, p.clientCA.Pool())
	if err != nil {
		t.Fatalf("ServerTLSConfig: %v", err)
	}
	url := startTLSServer(t, cfg)
	first := servedSerial(t, url, p.serverCA.Pool())

	// A new name makes EnsureServingCert write a new pair in place.
	dir := filepath.Dir(p.certFile)
	if _, _, err := p.serverCA.EnsureServingCert(dir, "serving", []string{"renewed.example.com"}); err != nil {
		t.Fatal(err)
	}
	second := servedSerial(t, url, p.serverCA.Pool())
	if first.Cmp(second) == 0 {
		t.Errorf("served serial unchanged after renewal: %v", first)
	}
}

func TestServerTLSConfigRefusesBadPair(t *testing.T) {
	p := newTestPKI(t)
	tests := []struct {
		name              string
		certFile, keyFile string
	}{
		{name: "missing files", certFile: p.certFile + ".nope", keyFile: p.keyFile + ".nope"},
		{name: "certificate as key", certFile: p.certFile, keyFile: p.certFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ServerTLSConfig(tc.certFile, tc.keyFile, nil); err == nil {
				t.Fatal("ServerTLSConfig succeeded, want error")
			}
		})
	}
}

// getPeerInfo asks the test server what it saw of this client.
func getPeerInfo(url string, clientTLS *tls.Config) (peerInfo, error) {
	tr := &http.Transport{TLSClientConfig: clientTLS, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url + "/")
	if err != nil {
		return peerInfo{}, err
	}
	defer resp.Body.Close()
	var info peerInfo
	err = json.NewDecoder(resp.Body).Decode(&info)
	return info, err
}

// servedSerial returns the serial of the certificate the server presents.
func servedSerial(t *testing.T, url string, roots *x509.CertPool) *big.Int {
	t.Helper()
	conn, err := tls.Dial("tcp", url[len("https://"):], &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}
