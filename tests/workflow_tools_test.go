package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/driver"
)

// TestWorkflowsInstallThePinnedTools: the CLI the workflows install with
// Pulumi's setup action is the one go.mod pins (the driver's), and the helm
// setup-helm installs is hack/toolchain.sh's, so that the toolchain uses
// them instead of building its own.
func TestWorkflowsInstallThePinnedTools(t *testing.T) {
	root := repoRoot(t)
	toolchain, err := os.ReadFile(filepath.Join(root, "hack", "toolchain.sh"))
	require.NoError(t, err)
	helm := regexp.MustCompile(`(?m)^HELM_VERSION=(\S+)`).FindSubmatch(toolchain)
	require.NotNil(t, helm, "hack/toolchain.sh pins HELM_VERSION")

	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	require.NoError(t, err)
	pulumiSetups, helmSetups := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`pulumi/actions@\S+\s+with:\s+pulumi-version: (\S+)`).FindAllSubmatch(raw, -1) {
			assert.Equal(t, driver.PulumiVersion, string(m[1]), filepath.Base(f))
			pulumiSetups++
		}
		for _, m := range regexp.MustCompile(`azure/setup-helm@\S+\s+with:\s+version: v(\S+)`).FindAllSubmatch(raw, -1) {
			assert.Equal(t, string(helm[1]), string(m[1]), filepath.Base(f))
			helmSetups++
		}
		assert.Equal(t, len(regexp.MustCompile(`uses: pulumi/actions@`).FindAll(raw, -1)),
			len(regexp.MustCompile(`pulumi/actions@\S+\s+with:\s+pulumi-version:`).FindAll(raw, -1)),
			"%s: every Pulumi setup names the pinned version", filepath.Base(f))
	}
	assert.Equal(t, 3, pulumiSetups, "deploy, drift and the pull request's preview install the released CLI")
	assert.Equal(t, 1, helmSetups, "the chart workflow installs the released helm")
}
