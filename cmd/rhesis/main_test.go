package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/stack"
)

// resolved reads and renders a stack of the repository's chart as the
// program does.
func resolved(t *testing.T, values map[string]string, secrets map[string]bool) *stack.Resolved {
	t.Helper()
	cfg, err := config.Load(config.MapSource{Values: values, Secrets: secrets}, "local",
		stack.ChartResolver(stack.ChartIn("../..")))
	require.NoError(t, err)
	r, err := stack.Resolve(cfg, nil)
	require.NoError(t, err)
	return r
}

// release is the pinned Rhesis release as a pattern.
var release = regexp.QuoteMeta(charts.RhesisRelease)

// TestImagePlan: the table names every image as its workload runs it, with
// its pull policy and source, and the pull Secrets.
func TestImagePlan(t *testing.T) {
	checkout := t.TempDir()
	for _, f := range []string{config.BackendDockerfile, config.FrontendDockerfile} {
		path := filepath.Join(checkout, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, nil, 0o644))
	}
	deploy, err := json.Marshal(map[string]any{"images": map[string]any{"build": true, "context": checkout,
		"registry": "ghcr.io/acme", "push": "false"}})
	require.NoError(t, err)
	r := resolved(t, map[string]string{
		"rhesis:deploy":  string(deploy),
		"rhesis:global":  `{"imageCredentials":{"registry":"ghcr.io","username":"ci"}}`,
		"rhesis:secrets": `{"registryPassword":"token"}`,
	}, map[string]bool{"rhesis:secrets": true})
	lines := strings.Split(strings.TrimSpace(imagePlan(r)), "\n")
	require.Len(t, lines, 6)
	assert.Regexp(t, `^IMAGE\s+REFERENCE\s+PULL\s+SOURCE$`, lines[0])
	assert.Regexp(t, `^backend\s+ghcr.io/acme/backend:`+release+`\s+IfNotPresent\s+build apps/backend/Dockerfile target backend \(linux/amd64, context `+checkout+`\), no push$`, lines[1])
	assert.Regexp(t, `^worker\s+ghcr.io/acme/worker:`+release+`\s+IfNotPresent\s+build apps/backend/Dockerfile target worker `, lines[2])
	assert.Regexp(t, `^migrate\s+ghcr.io/acme/migrate:`+release+`\s+IfNotPresent\s+build apps/backend/Dockerfile target migrate `, lines[3])
	assert.Regexp(t, `^frontend\s+ghcr.io/acme/frontend:`+release+`\s+IfNotPresent\s+build apps/frontend/Dockerfile FRONTEND_ENV=local `, lines[4])
	assert.Equal(t, "pull Secrets: rhesis-registry", lines[5])

	prebuilt := resolved(t, map[string]string{"rhesis:worker": `{"enabled": false}`}, nil)
	plan := imagePlan(prebuilt)
	assert.Regexp(t, `(?m)^backend\s+ghcr.io/rhesis-ai/backend:`+release+`\s+IfNotPresent\s+prebuilt$`, plan)
	// No migrate image is published: the migrations run from the backend image.
	assert.Regexp(t, `(?m)^migrate\s+ghcr.io/rhesis-ai/backend:`+release+`\s+IfNotPresent\s+prebuilt$`, plan)
	assert.NotContains(t, plan, "worker")
}
