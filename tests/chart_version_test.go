package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/blang/semver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"sigs.k8s.io/yaml"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// TestChartVersionFollowsItsContent: the chart's newest changelog entry is
// its version and the digest of its files; a change to the chart without a
// new version and entry fails here. Versions are SemVer, each newer than
// the one before; appVersion is the Rhesis release the contract pins.
func TestChartVersionFollowsItsContent(t *testing.T) {
	t.Parallel()
	dir := chartDir(t)
	c, err := loader.LoadDir(dir)
	require.NoError(t, err)
	releases, err := charts.Changelog(dir)
	require.NoError(t, err)
	require.NotEmpty(t, releases, "charts/rhesis/%s has no entry", charts.ChangelogFile)
	digest, err := charts.Digest(dir)
	require.NoError(t, err)

	newest := releases[0]
	assert.Equal(t, c.Metadata.Version, newest.Version, "Chart.yaml's version is not the changelog's newest")
	assert.Equal(t, newest.Digest, digest, fmt.Sprintf("charts/rhesis changed since %s was recorded: bump version in Chart.yaml "+
		"(SemVer: patch for a fix, minor for a new value or object, major for a removed or renamed one) and add "+
		"`## <version> (digest %s)` with what changed on top of charts/rhesis/%s", newest.Version, digest, charts.ChangelogFile))

	seen := map[string]bool{}
	for i, r := range releases {
		v, err := semver.Parse(r.Version)
		require.NoError(t, err, "changelog entry %q is no SemVer version", r.Version)
		assert.False(t, seen[r.Digest], "%s records the digest of an earlier version", r.Version)
		seen[r.Digest] = true
		if i+1 < len(releases) {
			older, err := semver.Parse(releases[i+1].Version)
			require.NoError(t, err)
			assert.True(t, v.GT(older), "%s is listed above %s but not newer", r.Version, releases[i+1].Version)
		}
	}
	assert.Equal(t, charts.RhesisRelease, c.Metadata.AppVersion)
	assert.Equal(t, charts.RhesisRelease, appContract(t).Release, "appVersion is the release the app contract was read from")
}

// TestArtifactHubImages: the images Chart.yaml announces to Artifact Hub are
// exactly those a render runs, monitoring and the helm test included.
func TestArtifactHubImages(t *testing.T) {
	t.Parallel()
	c, err := loader.LoadDir(chartDir(t))
	require.NoError(t, err)
	var announced []struct{ Name, Image string }
	require.NoError(t, yaml.Unmarshal([]byte(c.Metadata.Annotations["artifacthub.io/images"]), &announced))
	var want []string
	for _, a := range announced {
		want = append(want, a.Image)
	}
	values := envValues(t, "local")
	values["monitoring"] = map[string]any{"enabled": true}
	values["global"].(map[string]any)["imageTag"] = charts.RhesisRelease
	ran := map[string]bool{}
	for _, m := range mustRender(t, values) {
		for _, c := range podContainers(podSpec(m.Object)) {
			ran[fmt.Sprint(dig(c, "image"))] = true
		}
	}
	var got []string
	for image := range ran {
		got = append(got, image)
	}
	assert.ElementsMatch(t, want, got)
}

// TestChartAsASubchart: an umbrella chart that depends on this one and sets
// its own global values installs it: the schema leaves global open to keys
// this chart does not know, and the global keys it knows still apply.
func TestChartAsASubchart(t *testing.T) {
	t.Parallel()
	c, err := loader.LoadDir(chartDir(t))
	require.NoError(t, err)
	parent := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(parent, "Chart.yaml"), []byte(fmt.Sprintf(
		"apiVersion: v2\nname: platform\nversion: 1.0.0\ndependencies:\n  - name: rhesis\n    version: %s\n", c.Metadata.Version)), 0o644))
	require.NoError(t, os.CopyFS(filepath.Join(parent, "charts", "rhesis"), os.DirFS(chartDir(t))))
	values := map[string]any{"global": map[string]any{
		"imageRegistry": "mirror.example.com", "storageClass": "fast", // the parent's own
		"logLevel": "DEBUG", // one this chart knows
	}}
	r, err := charts.Render(parent, values, charts.RenderOptions{Namespace: "platform"})
	require.NoError(t, err, "the chart refuses to be a subchart with its parent's global keys")
	var logLevel any
	deployments := 0
	for _, o := range r.Objects {
		if o.Kind() == "ConfigMap" && o.Name() == "rhesis-config" {
			logLevel = o.Field("data", "LOG_LEVEL")
		}
		if o.Kind() == "Deployment" {
			deployments++
		}
	}
	assert.Equal(t, "DEBUG", logLevel, "the parent's global.logLevel reaches the chart")
	assert.Equal(t, 5, deployments)

	// A typo in one of this chart's own keys is still refused.
	_, err = charts.Render(chartDir(t), map[string]any{"backend": map[string]any{"replica": 2}}, charts.RenderOptions{Namespace: "rhesis"})
	assert.ErrorContains(t, err, "replica")
}
