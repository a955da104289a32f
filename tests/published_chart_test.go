package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// publishChart pushes this repository's chart as name and version to
// ociRegistry, and returns its OCI reference.
func publishChart(t *testing.T, name, version string) string {
	t.Helper()
	ref, err := testutil.PushChart(ociRegistry, chartDir(t), name, version)
	require.NoError(t, err)
	return ref
}

// publishedStack is prod deploying the published chart ref at version.
func publishedStack(t *testing.T, mode, ref, version string) settings {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	s := stackSettings(t, "prod")
	s.set("deploy.mode", mode)
	s.set("deploy.chart", ref)
	s.set("deploy.chartVersion", version)
	return s
}

// TestPublishedChartIsDeployed: with deploy.chart an OCI reference, raw
// mode renders the chart pulled from the registry, and helm mode installs
// it from there at deploy.chartVersion.
func TestPublishedChartIsDeployed(t *testing.T) {
	ref := publishChart(t, "rhesis", "9.9.9")

	r, err := run(t, "prod", publishedStack(t, "raw", ref, "9.9.9"))
	require.NoError(t, err)
	cm := dig(r.object(t, "ConfigMap", "rhesis-config").Plain(), "data").(map[string]any)
	assert.Equal(t, "9.9.9", cm[testutil.PublishedMark], "raw mode renders the published chart")
	assert.True(t, r.hasObject("Deployment", "postgres"))
	pulled, err := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "rhesis-deploy", "charts", "*", "9.9.9", "rhesis", "Chart.yaml"))
	require.NoError(t, err)
	assert.Len(t, pulled, 1, "the chart is pulled into the user's cache")

	r, err = run(t, "prod", publishedStack(t, "helm", ref, "9.9.9"))
	require.NoError(t, err)
	release := r.release(t).Plain()
	assert.Equal(t, ref, release["chart"], "helm mode installs from the registry")
	assert.Equal(t, "9.9.9", release["version"])
	assert.NotEmpty(t, dig(release, "values", "global", "chartDigest"))

	// The repository's own chart is a folder, with no version.
	r, err = run(t, "prod", func() settings { s := stackSettings(t, "prod"); s.set("deploy.mode", "helm"); return s }())
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(repoRoot(t), "charts", "rhesis"), r.release(t).Plain()["chart"])
	assert.Nil(t, r.release(t).Plain()["version"])
}

// TestPublishedChartIsChecked: a reference or version that cannot name one
// published chart is refused before anything is created, naming the key;
// a version the registry lacks, or a chart of another name, fails the pull.
func TestPublishedChartIsChecked(t *testing.T) {
	for _, c := range []struct{ chart, version, key, reason string }{
		{"", "0.11.0", "deploy.chartVersion", "is set without deploy.chart"},
		{"https://ghcr.io/rhesis-ai/charts/rhesis", "0.11.0", "deploy.chart", "must be the OCI reference of the published chart"},
		{"oci://ghcr.io/rhesis-ai/charts/rhesis:0.11.0", "0.11.0", "deploy.chart", "must be the OCI reference of the published chart"},
		{"oci://ghcr.io/rhesis-ai/charts/other", "0.11.0", "deploy.chart", "must be the OCI reference of the published chart"},
		{"oci://ghcr.io/rhesis-ai/charts/rhesis", "", "deploy.chartVersion", "is required with deploy.chart"},
		{"oci://ghcr.io/rhesis-ai/charts/rhesis", "^0.11", "deploy.chartVersion", "must be an exact SemVer version"},
	} {
		s := stackSettings(t, "local")
		s.set("deploy.chart", c.chart)
		s.set("deploy.chartVersion", c.version)
		assertRefused(t, "local", s, c.key, c.reason)
	}

	ref := publishChart(t, "rhesis", "9.9.8")
	_, err := run(t, "prod", publishedStack(t, "helm", ref, "9.9.7"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rhesis:deploy.chart = \""+ref+"\": pulling the chart "+ref+" version 9.9.7")
	assert.Contains(t, err.Error(), "helm registry login")

	other := publishChart(t, "rhesis-fork", "1.0.0")
	moved := strings.TrimSuffix(other, "rhesis-fork") + "fork/rhesis"
	c, err := registry.NewClient()
	require.NoError(t, err)
	pulled, err := c.Pull(strings.TrimPrefix(other, "oci://")+":1.0.0", registry.PullOptWithChart(true))
	require.NoError(t, err)
	_, err = c.Push(pulled.Chart.Data, strings.TrimPrefix(moved, "oci://")+":1.0.0", registry.PushOptStrictMode(false))
	require.NoError(t, err)
	_, err = run(t, "prod", publishedStack(t, "raw", moved, "1.0.0"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "holds the chart rhesis-fork 1.0.0, not rhesis 1.0.0")
}

// TestPublishedChartIsVerified: with deploy.chartKeyring, the chart pulled
// must carry a provenance signed by a key of that keyring and match it;
// raw mode renders it and names the signer, helm mode has the provider
// verify it too. An unsigned chart, one signed by another key, and one
// changed after signing are refused before anything is created, as is a
// keyring without a published chart or a file that holds no keys.
func TestPublishedChartIsVerified(t *testing.T) {
	dir := t.TempDir()
	publisher, keyring, err := testutil.NewSigningKey(dir, "publisher")
	require.NoError(t, err)
	stranger, _, err := testutil.NewSigningKey(dir, "stranger")
	require.NoError(t, err)
	push := func(name, version string, signing testutil.Signing) string {
		ref, err := testutil.PushSigned(ociRegistry, chartDir(t), name, version, signing)
		require.NoError(t, err)
		return ref
	}
	verified := func(mode, ref, version string) settings {
		s := publishedStack(t, mode, ref, version)
		s.set("deploy.chartKeyring", keyring)
		return s
	}

	ref := push("rhesis", "9.8.0", testutil.Signing{Key: publisher})
	r, err := run(t, "prod", verified("raw", ref, "9.8.0"))
	require.NoError(t, err)
	assert.Contains(t, r.Outputs["chartSignedBy"], "publisher <publisher@example.com> key ")
	cm := dig(r.object(t, "ConfigMap", "rhesis-config").Plain(), "data").(map[string]any)
	assert.Equal(t, "9.8.0", cm[testutil.PublishedMark], "raw mode renders the verified chart")

	r, err = run(t, "prod", verified("helm", ref, "9.8.0"))
	require.NoError(t, err)
	release := r.release(t).Plain()
	assert.Equal(t, true, release["verify"], "the provider verifies what it installs")
	assert.Equal(t, keyring, release["keyring"])

	// Unverified stacks stay as they were: no signer, no verification asked.
	r, err = run(t, "prod", publishedStack(t, "helm", ref, "9.8.0"))
	require.NoError(t, err)
	assert.NotContains(t, r.Outputs, "chartSignedBy")
	assert.NotContains(t, r.release(t).Plain(), "verify")

	for _, c := range []struct {
		version string
		signing testutil.Signing
		reason  string
	}{
		{"9.8.1", testutil.Signing{}, "is not signed (the registry holds no provenance beside it)"},
		{"9.8.2", testutil.Signing{Key: stranger}, "failed verification against the keyring " + keyring},
		{"9.8.3", testutil.Signing{Key: publisher, Tamper: true}, "failed verification against the keyring " + keyring},
	} {
		ref := push("rhesis", c.version, c.signing)
		assertRefused(t, "prod", verified("raw", ref, c.version), "deploy.chart", c.reason)
	}

	s := stackSettings(t, "local")
	s.set("deploy.chartKeyring", keyring)
	assertRefused(t, "local", s, "deploy.chartKeyring", "is set without deploy.chart")

	garbage := filepath.Join(dir, "armored.asc")
	require.NoError(t, os.WriteFile(garbage, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n"), 0o600))
	s = verified("raw", ref, "9.8.0")
	s.set("deploy.chartKeyring", garbage)
	assertRefused(t, "prod", s, "deploy.chartKeyring", "is not a keyring of public keys that Helm reads")
}
