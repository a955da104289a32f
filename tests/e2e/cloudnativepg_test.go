//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMoveToCloudNativePG: the documented move of a prod stack from the
// single pod to a CloudNativePG Cluster, against the operator's own CRDs
// (no operator runs: the sandbox has no images). Turning the setting on is
// refused by the data-loss gate, which names the pod's Deployment and
// claim, and changes nothing; past the gate the API server takes the
// Cluster, the apps' address moves to its primary, and keep protects the
// Cluster as it protected the claim.
func TestMoveToCloudNativePG(t *testing.T) {
	cnpgCRDs, barmanCRDs := os.Getenv("CNPG_CRDS"), os.Getenv("BARMAN_CLOUD_CRDS")
	require.NotEmpty(t, cnpgCRDs, "CNPG_CRDS is unset: run through hack/e2e.sh")
	require.NotEmpty(t, barmanCRDs, "BARMAN_CLOUD_CRDS is unset: run through hack/e2e.sh")
	for _, kind := range []string{"clusters", "scheduledbackups"} {
		applyCRDs(t, filepath.Join(cnpgCRDs, "postgresql.cnpg.io_"+kind+".yaml"))
	}
	applyCRDs(t, filepath.Join(barmanCRDs, "barmancloud.cnpg.io_objectstores.yaml"))

	ns := "e2e-cloudnativepg"
	p := prodSettings(ns, "raw")
	e := newStack(t, ns, p.config, p.secrets)
	e.up()
	claim := dig(kubectl(t, "get", "pvc", "postgres-pvc", "-n", ns), "metadata", "uid")

	// Turned on by accident, the move is refused by the gate and changes nothing.
	e.set("database.postgresql.cloudnativepg.enabled", "true")
	// The sandbox has no object store: the WAL archive stays off here.
	e.set("database.postgresql.cloudnativepg.backups.enabled", "false")
	code, out := e.cli("up")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "postgres-pvc")
	assert.Contains(t, out, "--allow-data-loss")
	assert.Contains(t, out, "nothing was changed")
	assert.Equal(t, claim, dig(kubectl(t, "get", "pvc", "postgres-pvc", "-n", ns), "metadata", "uid"), "the refused move changed the claim")
	kubectl(t, "get", "deployment", "postgres", "-n", ns)
	assert.Empty(t, items(kubectl(t, "get", "clusters.postgresql.cnpg.io", "-n", ns)))

	// The move as docs/cloudnativepg.md makes it: lift the claim's
	// protection, then turn the setting on, then keep again.
	require.NoError(t, e.s.RemoveConfigWithOptions(e.ctx, "rhesis:database.postgresql.cloudnativepg.enabled", pathOption))
	e.set("database.postgresql.persistence.keep", "false")
	e.up()
	kubectl(t, "get", "deployment", "postgres", "-n", ns)
	e.set("database.postgresql.cloudnativepg.enabled", "true")
	code, out = e.cli("up")
	require.Equal(t, 0, code, out)
	cluster := kubectl(t, "get", "clusters.postgresql.cnpg.io", "postgres", "-n", ns)
	assert.EqualValues(t, 3, dig(cluster, "spec", "instances"))
	assert.Equal(t, "rhesis-user", dig(cluster, "spec", "bootstrap", "initdb", "owner"))
	assert.Equal(t, "postgres-owner", dig(cluster, "spec", "bootstrap", "initdb", "secret", "name"))
	owner := kubectl(t, "get", "secret", "postgres-owner", "-n", ns)
	assert.Equal(t, "kubernetes.io/basic-auth", owner["type"])
	config := kubectl(t, "get", "configmap", "rhesis-config", "-n", ns)
	assert.Equal(t, "postgres-rw", dig(config, "data", "DB_HOST"))
	assert.Empty(t, items(kubectl(t, "get", "deployment", "-l", "app=postgres", "-n", ns)), "the single pod is gone")
	assert.Empty(t, items(kubectl(t, "get", "pvc", "-l", "app=postgres", "-n", ns)), "its claim is gone")

	// keep back on protects the Cluster, whose deletion takes its claims.
	e.set("database.postgresql.persistence.keep", "true")
	e.up()
	cluster = kubectl(t, "get", "clusters.postgresql.cnpg.io", "postgres", "-n", ns)
	assert.Equal(t, "keep", dig(cluster, "metadata", "annotations", "helm.sh/resource-policy"))
	e.expectNoChanges()
	e.destroyKept()
	assertGone(t, ns)
}
