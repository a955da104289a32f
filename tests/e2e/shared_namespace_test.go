//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// TestTwoStacksShareANamespace: stack a, in helm mode, installs the chart
// published to an OCI registry by hack/chart-publish.sh (signed with a key
// made here, over TLS), verified with deploy.chartKeyring by the program and
// by the real provider that pulls it, with namePrefix a-; stack b, in raw
// mode from this checkout's chart, deploys
// into a's namespace with namePrefix b- without owning it. Both converge
// side by side, each wired to its own stores; destroying b leaves a whole,
// and the namespace goes with a.
func TestTwoStacksShareANamespace(t *testing.T) {
	ref, version, keyring := publishSigned(t)
	ns := "e2e-shared"
	a := newStack(t, "e2e-shared-a", map[string]string{
		"environment": "local", "deploy.namespace": ns, "namePrefix": "a-",
		"deploy.mode": "helm", "deploy.chart": ref, "deploy.chartVersion": version, "deploy.chartKeyring": keyring,
	}, nil)
	res := a.up()
	assert.Equal(t, "publisher <publisher@example.com> key ", strings.SplitAfter(res.Outputs["chartSignedBy"].Value.(string), " key ")[0])
	assert.Equal(t, ref, dig(res.Outputs["release"].Value.(map[string]any), "chart"), "a installs the published chart")
	b := newStack(t, "e2e-shared-b", map[string]string{
		"environment": "local", "deploy.namespace": ns, "namePrefix": "b-", "deploy.createNamespace": "false",
	}, nil)
	b.up()

	want := map[string]float64{}
	for name, n := range localReplicas {
		want["a-"+name], want["b-"+name] = n, n
	}
	assertConverged(t, ns, want)
	assertReferencesResolve(t, ns)
	release := items(kubectl(t, "get", "secrets", "-n", ns, "-l", "owner=helm,name=a-rhesis,status=deployed"))
	require.Len(t, release, 1, "helm mode's release is a-rhesis")
	cmA := kubectl(t, "get", "configmap", "a-rhesis-config", "-n", ns)
	assert.Equal(t, "a-postgres", dig(cmA, "data", "DB_HOST"))
	cmB := kubectl(t, "get", "configmap", "b-rhesis-config", "-n", ns)
	assert.Equal(t, "b-postgres", dig(cmB, "data", "DB_HOST"))
	assert.Equal(t, "b-redis", dig(cmB, "data", "REDIS_HOST"))
	a.expectNoChanges()
	b.expectNoChanges()

	b.destroy()
	out, err := exec.Command("kubectl", "get", "all,configmaps,secrets,pvc,networkpolicies", "-n", ns, "-o", "name").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.NotContains(t, string(out), "/b-", "b left objects behind")
	assert.Contains(t, string(out), "deployment.apps/a-backend", "destroying b took a's objects")
	assert.True(t, strings.Contains(string(out), "configmap/a-rhesis-config"))
	a.destroy()
	assertGone(t, ns)
}

// publishSigned publishes this checkout's chart with hack/chart-publish.sh,
// as the chart workflow does, signed with a key made here, to the test
// registry under signed/. It returns the chart's reference, its version and
// the public keyring the script wrote.
func publishSigned(t *testing.T) (ref, version, keyring string) {
	t.Helper()
	dir := t.TempDir()
	key, _, err := testutil.NewSigningKey(dir, "publisher")
	require.NoError(t, err)
	armored, err := testutil.ArmoredSecretKey(key)
	require.NoError(t, err)
	out := filepath.Join(dir, "dist")
	cmd := exec.Command(filepath.Join(repoRoot(t), "hack", "chart-publish.sh"),
		filepath.Join(repoRoot(t), "charts", "rhesis"), "oci://"+ociRegistry+"/signed", out)
	cmd.Env = append(os.Environ(), "CHART_SIGNING_KEY="+armored, "CHART_SIGNING_KEY_NAME=publisher@example.com")
	log, err := cmd.CombinedOutput()
	require.NoError(t, err, string(log))
	t.Logf("hack/chart-publish.sh:\n%s", log)
	archives, err := filepath.Glob(filepath.Join(out, "rhesis-*.tgz.prov"))
	require.NoError(t, err)
	require.Len(t, archives, 1, "the script signs the chart")
	version = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(archives[0]), "rhesis-"), ".tgz.prov")
	return "oci://" + ociRegistry + "/signed/rhesis", version, filepath.Join(out, "rhesis-keyring.gpg")
}
