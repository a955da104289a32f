package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

const (
	refStart = "<!-- config-reference:start (generated: go test ./tests -run TestREADME -update) -->\n"
	refEnd   = "<!-- config-reference:end -->"
)

// TestREADMEConfigurationReference keeps the README's configuration table
// equal to the keys the program reads.
func TestREADMEConfigurationReference(t *testing.T) {
	path := filepath.Join(repoRoot(t), "README.md")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(raw)
	start, end := strings.Index(text, refStart), strings.Index(text, refEnd)
	require.True(t, start >= 0 && end > start, "README.md lacks the config-reference markers")
	want := config.ReferenceTable()
	if *update {
		text = text[:start+len(refStart)] + want + text[end:]
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
	assert.Equal(t, want, text[start+len(refStart):end], "README's configuration reference is stale; run with -update")
}
