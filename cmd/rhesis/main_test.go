package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// TestImagePlan: the table names every image with its reference, pull
// policy and source, and the pull Secrets.
func TestImagePlan(t *testing.T) {
	checkout := t.TempDir()
	for _, f := range []string{config.BackendDockerfile, config.FrontendDockerfile} {
		path := filepath.Join(checkout, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, nil, 0o644))
	}
	images, err := json.Marshal(map[string]any{"build": true, "context": checkout, "registry": "ghcr.io/acme",
		"registryUsername": "ci", "registryPassword": "token"})
	require.NoError(t, err)
	cfg, err := config.Load(config.MapSource{Values: map[string]string{"rhesis:images": string(images)},
		Secrets: map[string]bool{"rhesis:images": true}}, "local")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(imagePlan(cfg)), "\n")
	require.Len(t, lines, 6)
	assert.Regexp(t, `^IMAGE\s+REFERENCE\s+PULL\s+SOURCE$`, lines[0])
	assert.Regexp(t, `^frontend\s+ghcr.io/acme/frontend:0.13.0\s+IfNotPresent\s+build apps/frontend/Dockerfile FRONTEND_ENV=local \(linux/amd64, context `+checkout+`\), no push$`, lines[1])
	assert.Regexp(t, `^worker\s+ghcr.io/acme/worker:0.13.0\s+IfNotPresent\s+build apps/backend/Dockerfile target worker `, lines[3])
	assert.Regexp(t, `^migrate\s+ghcr.io/acme/migrate:0.13.0\s+IfNotPresent\s+build apps/backend/Dockerfile target migrate `, lines[4])
	assert.Equal(t, "pull Secrets: rhesis-registry", lines[5])

	prebuilt, err := config.Load(config.MapSource{Values: map[string]string{"rhesis:worker": `{"enabled": false}`}}, "local")
	require.NoError(t, err)
	plan := imagePlan(prebuilt)
	assert.Regexp(t, `(?m)^backend\s+ghcr.io/rhesis-ai/backend:0.13.0\s+IfNotPresent\s+prebuilt$`, plan)
	// No migrate image is published: the migrations run from the backend image.
	assert.Regexp(t, `(?m)^migrate\s+ghcr.io/rhesis-ai/backend:0.13.0\s+IfNotPresent\s+prebuilt$`, plan)
	assert.NotContains(t, plan, "worker")
}
