package testutil

import (
	"bytes"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	// The OpenPGP library Helm 3 signs and verifies charts with.
	"golang.org/x/crypto/openpgp"       //nolint:staticcheck
	"golang.org/x/crypto/openpgp/armor" //nolint:staticcheck
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/provenance"
	helmregistry "helm.sh/helm/v3/pkg/registry"
)

// StartRegistry serves an OCI registry (go-containerregistry's, in memory)
// over TLS and makes this process and its children (the Pulumi engine, the
// provider) trust its certificate through SSL_CERT_FILE, as they trust a
// real registry's. Call it before anything reads the system's roots (in
// TestMain). It returns the registry's host:port and how to stop it.
func StartRegistry() (host string, stop func(), err error) {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	dir, err := os.MkdirTemp("", "oci-registry-")
	if err != nil {
		srv.Close()
		return "", nil, err
	}
	stop = func() { srv.Close(); _ = os.RemoveAll(dir) }
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		stop()
		return "", nil, err
	}
	if err := os.Setenv("SSL_CERT_FILE", ca); err != nil {
		stop()
		return "", nil, err
	}
	return strings.TrimPrefix(srv.URL, "https://"), stop, nil
}

// PublishedMark is the ConfigMap key a chart pushed by PushChart adds, with
// its version as value: a render or a cluster shows which chart it came from.
const PublishedMark = "PUBLISHED_CHART"

// PushChart packages the chart in dir as name and version, marked with
// PublishedMark, and pushes it to host/charts/<name> with Helm's registry
// client, as `helm push` does. It returns the chart's OCI reference.
func PushChart(host, dir, name, version string) (string, error) {
	return PushSigned(host, dir, name, version, Signing{})
}

// Signing says how PushSigned signs the chart it pushes.
type Signing struct {
	// Key signs the chart as `helm package --sign` does, its provenance
	// pushed beside it; nil pushes it unsigned.
	Key *openpgp.Entity
	// Tamper changes the chart after it was signed, keeping the signature.
	Tamper bool
}

// PushSigned is PushChart, signed as signing says.
func PushSigned(host, dir, name, version string, signing Signing) (string, error) {
	c, err := loader.Load(dir)
	if err != nil {
		return "", err
	}
	c.Metadata.Name, c.Metadata.Version = name, version
	mark(c, PublishedMark+": "+version)
	out, err := os.MkdirTemp("", "chart-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(out) }()
	archive, err := chartutil.Save(c, out)
	if err != nil {
		return "", err
	}
	var opts []helmregistry.PushOption
	if signing.Key != nil {
		prov, err := (&provenance.Signatory{Entity: signing.Key}).ClearSign(archive)
		if err != nil {
			return "", err
		}
		opts = append(opts, helmregistry.PushOptProvData([]byte(prov)))
	}
	if signing.Tamper {
		mark(c, "TAMPERED: \"true\"")
		if archive, err = chartutil.Save(c, out); err != nil {
			return "", err
		}
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		return "", err
	}
	client, err := helmregistry.NewClient()
	if err != nil {
		return "", err
	}
	if _, err := client.Push(data, host+"/charts/"+name+":"+version, opts...); err != nil {
		return "", err
	}
	return "oci://" + host + "/charts/" + name, nil
}

// mark adds entry to the data of the chart's platform ConfigMap.
func mark(c *chart.Chart, entry string) {
	for _, f := range c.Templates {
		if f.Name == "templates/platform.yaml" {
			f.Data = []byte(strings.Replace(string(f.Data), "\ndata:\n", "\ndata:\n  "+entry+"\n", 1))
		}
	}
}

// NewSigningKey makes an OpenPGP key pair named name (RSA, which Helm's
// OpenPGP library reads) and writes its public half to dir/<name>.gpg as
// `gpg --export` does. It returns the key and the keyring's path.
func NewSigningKey(dir, name string) (*openpgp.Entity, string, error) {
	key, err := openpgp.NewEntity(name, "", name+"@example.com", nil)
	if err != nil {
		return nil, "", err
	}
	var ring bytes.Buffer
	if err := key.Serialize(&ring); err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, name+".gpg")
	return key, path, os.WriteFile(path, ring.Bytes(), 0o600)
}

// ArmoredSecretKey is key's secret half as `gpg --export-secret-keys
// --armor` writes it.
func ArmoredSecretKey(key *openpgp.Entity) (string, error) {
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PrivateKeyType, nil)
	if err != nil {
		return "", err
	}
	if err := key.SerializePrivate(w, nil); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return out.String(), nil
}

// RunWithRegistry runs a test binary's tests with StartRegistry's registry,
// its host:port in *host; TestMain exits with what it returns.
func RunWithRegistry(m interface{ Run() int }, host *string) int {
	h, stop, err := StartRegistry()
	if err != nil {
		_, _ = os.Stderr.WriteString("starting the test registry: " + err.Error() + "\n")
		return 1
	}
	defer stop()
	*host = h
	return m.Run()
}
