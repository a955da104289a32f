package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// referenceHeader opens docs/configuration.md, which is generated.
const referenceHeader = `# Configuration reference

Generated from charts/rhesis/values.schema.json, the values files and config.PulumiOnly by
` + "`go test ./tests -run TestConfigurationReference -update`" + `; edit those, not this page.

A stack's ` + "`rhesis:`" + ` config is a values overlay on the chart: ` + "`pulumi config set --path backend.replicas 3`" + ` is
` + "`helm --set backend.replicas=3`" + `. ` + "`rhesis:environment`" + ` picks ` + "`values-<env>.yaml`" + ` as the base over
` + "`values.yaml`" + `; ` + "`rhesis:deploy`" + ` holds what only Pulumi decides. The rules are the schema's and
` + "`templates/_validate.tpl`" + `'s: the program reports every problem as the stack's key with the command
that fixes it.

`

// TestConfigurationReference: docs/configuration.md is what the schema,
// the values files and the Pulumi-only table say.
func TestConfigurationReference(t *testing.T) {
	t.Parallel()
	path := filepath.Join(repoRoot(t), "docs", "configuration.md")
	defaults := map[config.Environment]map[string]any{}
	for _, e := range config.Environments {
		merged, err := chartutil.CoalesceValues(loadChart(t), valuesFile(t, config.EnvValuesFile(e)))
		require.NoError(t, err)
		defaults[e] = merged
	}
	want := referenceHeader + config.Reference(chartSchema(t), defaults)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, string(raw), "docs/configuration.md is stale; run with -update")
}
