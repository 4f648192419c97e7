package main

// The gateway reaches an xctld that serves TLS, trusting its certificate
// (--grpc-ca); without the CA it cannot, and says so through /healthz.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "xctld test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDer, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDer}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestGatewayReachesATLSXctld(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	addr := startXctld(t, "tls: {cert_file: "+cert+", key_file: "+key+"}")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	gw, err := New(Options{Upstream: addr, UpstreamCA: cert, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	web := httptest.NewServer(gw)
	defer web.Close()
	s := &server{gw: gw, http: web}
	if status, body := s.do(t, "GET", "/v1/prices", ""); status != 200 || !strings.Contains(body, "BTC-USDT") {
		t.Fatalf("over TLS: %d %s", status, body)
	}

	plain, err := New(Options{Upstream: addr, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plainWeb := httptest.NewServer(plain)
	defer plainWeb.Close()
	p := &server{gw: plain, http: plainWeb}
	if status, body := p.do(t, "GET", "/healthz", ""); status != 503 {
		t.Fatalf("plaintext to a TLS xctld: /healthz = %d %s, want 503", status, body)
	}
}
