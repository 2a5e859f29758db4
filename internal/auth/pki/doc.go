// Package pki owns the server's certificates: two certificate authorities, the
// serving certificate the API server presents, client certificates (the admin's,
// and any signed from a CertificateSigningRequest) and the admin kubeconfig.
//
//	            EnsureCA(dir, "server-ca", …)        EnsureCA(dir, "client-ca", …)
//	                      │                                      │
//	            EnsureServingCert(dir, "serving", hosts)   EnsureClientCert / IssueClientCert / SignCSR
//	                      │                                      │
//	ServerTLSConfig(certFile, keyFile, clientCA.Pool())   WriteKubeconfig(path, url, serverCA.CertPEM, cert, key, "skiff")
//	                      │                                      │
//	               API server listener  ◄──── TLS (h2) ───── kubectl / client-go
//
// Glossary:
//
//   - server CA: signs serving certificates; clients trust it (kubeconfig
//     certificate-authority-data).
//   - client CA: signs client certificates; the API server trusts it to
//     authenticate users. A client certificate's CommonName is the user name and
//     its Organizations are the groups.
//   - Ensure*: load what is on disk, keep it when it is still good, otherwise
//     generate and write it atomically. Leaf certificates are regenerated freely;
//     a CA is never replaced once its certificate exists, because everything it
//     signed would stop verifying.
//
// Keys are ECDSA P-256. Key files are written with mode 0600, certificates 0644,
// always through a temporary file and a rename so a reader never sees half a file.
package pki
