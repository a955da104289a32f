package summary

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorded is a real preview on the sandbox cluster of a local stack whose
// postgres storage class changed (tests/testdata, recorded with
// `rhesis preview --events`).
func recorded(t *testing.T) Summary {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "tests", "testdata", "preview-replace-postgres-pvc.jsonl"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	evts, err := ReadEvents(f)
	require.NoError(t, err)
	require.NotEmpty(t, evts)
	return FromEvents(evts)
}

func TestRecordedReplacementOfTheDatabaseVolume(t *testing.T) {
	s := recorded(t)
	assert.Equal(t, map[string]int{"replace": 1, "read": 1, "same": 12}, s.Counts)
	require.Len(t, s.Changes, 1)
	c := s.Changes[0]
	assert.Equal(t, "replace", c.Op)
	assert.Equal(t, "postgres-pvc", c.Name)
	assert.True(t, c.DataBearing)
	assert.Equal(t, []string{"spec.storageClassName"}, c.Replaces)

	md := s.Markdown("prod")
	assert.Contains(t, md, "| replace | 1 |")
	assert.Contains(t, md, "> - **replace** `postgres-pvc` (kubernetes:core/v1:PersistentVolumeClaim)")
	assert.Contains(t, md, "replaced because of: spec.storageClassName")

	err := Gate(s, "prod", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "would replace postgres-pvc, losing data")
	assert.Contains(t, err.Error(), "--allow-data-loss")
	assert.NoError(t, Gate(s, "prod", true), "the override lets it through")
}

func step(op, typ, name string, diffs ...string) apitype.EngineEvent {
	return apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: apitype.StepEventMetadata{
		Op: apitype.OpType(op), Type: typ, URN: "urn:pulumi:prod::rhesis::" + typ + "::" + name, Diffs: diffs,
	}}}
}

func TestSummaryListsEveryDeletionAndFlagsData(t *testing.T) {
	s := FromEvents([]apitype.EngineEvent{
		step("update", "kubernetes:apps/v1:Deployment", "worker", "spec"),
		step("delete", "kubernetes:apps/v1:Deployment", "postgres"),
		step("delete", "kubernetes:core/v1:Service", "frontend"),
		step("create", "kubernetes:core/v1:ConfigMap", "extra"),
		step("same", "kubernetes:core/v1:Secret", "rhesis-secrets"),
	})
	assert.Equal(t, map[string]int{"update": 1, "delete": 2, "create": 1, "same": 1}, s.Counts)
	md := s.Markdown("prod")
	assert.Contains(t, md, "- delete `postgres` (kubernetes:apps/v1:Deployment) — data-bearing")
	assert.Contains(t, md, "- delete `frontend` (kubernetes:core/v1:Service)\n")
	assert.Contains(t, md, "- update `worker` (kubernetes:apps/v1:Deployment); changes: spec")
	assert.Less(t, strings.Index(md, "Replaced or deleted"), strings.Index(md, "Created or updated"))
	require.Len(t, s.DataLoss(), 1)
	assert.Equal(t, "postgres", s.DataLoss()[0].Name)
	assert.Error(t, Gate(s, "prod", false))
}

// TestPrefixedDatabaseIsDataBearing: a namePrefix's database (a-postgres)
// is flagged as the unprefixed one is; other Deployments are not.
func TestPrefixedDatabaseIsDataBearing(t *testing.T) {
	s := FromEvents([]apitype.EngineEvent{
		step("delete", "kubernetes:apps/v1:Deployment", "team-b-postgres"),
		step("delete", "kubernetes:apps/v1:Deployment", "team-b-backend"),
	})
	require.Len(t, s.DataLoss(), 1)
	assert.Equal(t, "team-b-postgres", s.DataLoss()[0].Name)
}

func TestSummaryOfNothing(t *testing.T) {
	s := FromEvents([]apitype.EngineEvent{step("same", "kubernetes:core/v1:Secret", "rhesis-secrets")})
	assert.Contains(t, s.Markdown("prod"), "No changes.")
	assert.Empty(t, s.DataLoss())
	assert.NoError(t, Gate(s, "prod", false))
	// Deleting an ordinary object is not data loss.
	s = FromEvents([]apitype.EngineEvent{step("delete", "kubernetes:core/v1:Service", "frontend")})
	assert.NoError(t, Gate(s, "prod", false))
}

// TestCloudNativePGClusterIsDataBearing: replacing or deleting the Cluster
// deletes its instances' claims; its backup objects are not data.
func TestCloudNativePGClusterIsDataBearing(t *testing.T) {
	s := FromEvents([]apitype.EngineEvent{
		step("replace", "kubernetes:postgresql.cnpg.io/v1:Cluster", "postgres"),
		step("delete", "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup", "postgres-base-backup"),
	})
	require.Len(t, s.DataLoss(), 1)
	assert.Equal(t, "postgres", s.DataLoss()[0].Name)
	assert.Error(t, Gate(s, "prod", false))
}
