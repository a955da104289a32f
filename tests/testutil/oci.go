package testutil

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
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
	c, err := loader.Load(dir)
	if err != nil {
		return "", err
	}
	c.Metadata.Name, c.Metadata.Version = name, version
	for _, f := range c.Templates {
		if f.Name == "templates/platform.yaml" {
			f.Data = []byte(strings.Replace(string(f.Data), "\ndata:\n", "\ndata:\n  "+PublishedMark+": "+version+"\n", 1))
		}
	}
	out, err := os.MkdirTemp("", "chart-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(out) }()
	archive, err := chartutil.Save(c, out)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		return "", err
	}
	client, err := helmregistry.NewClient()
	if err != nil {
		return "", err
	}
	if _, err := client.Push(data, host+"/charts/"+name+":"+version); err != nil {
		return "", err
	}
	return "oci://" + host + "/charts/" + name, nil
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
