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
	"sigs.k8s.io/yaml"
)

// helmCLI runs a Helm CLI and returns its output, failing the test on an error.
func helmCLI(t *testing.T, binary string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	name := binary
	if strings.Contains(binary, "/") {
		name = filepath.Base(filepath.Dir(binary)) // the tool's cached folder: helm-<version>
	}
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// helm4 is the Helm 4 CLI hack/e2e.sh builds; helm on PATH is Helm 3.
func helm4(t *testing.T) string {
	t.Helper()
	binary := os.Getenv("HELM4")
	require.NotEmpty(t, binary, "HELM4 is unset: run through hack/e2e.sh")
	return binary
}

// documents are the objects of a multi-document YAML stream, in order.
func documents(t *testing.T, stream string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, doc := range strings.Split(stream, "\n---\n") {
		var o map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o))
		if o != nil {
			out = append(out, o)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// appliedBy is the field managers of an object, with their operations.
func appliedBy(t *testing.T, kind, name, ns string) []string {
	t.Helper()
	var managers []string
	for _, f := range dig(kubectl(t, "get", kind, name, "-n", ns, "--show-managed-fields"), "metadata", "managedFields").([]any) {
		managers = append(managers, dig(f, "manager").(string)+"/"+dig(f, "operation").(string))
	}
	return managers
}

// TestHelm4: the Helm 4 CLI (server-side apply, kstatus --wait) renders what
// Helm 3 renders, installs the chart with everything converged, upgrades and
// uninstalls it; and it upgrades a release that Helm 3 installed.
func TestHelm4(t *testing.T) {
	h4 := helm4(t)
	chart := filepath.Join(repoRoot(t), "charts", "rhesis")
	local := filepath.Join(chart, "values-local.yaml")
	t.Logf("%s", strings.TrimSpace(helmCLI(t, h4, "version", "--short")))

	t.Run("renders and lints as Helm 3 does", func(t *testing.T) {
		for _, args := range [][]string{
			{"-f", local},
			{"-f", local, "--set", "monitoring.enabled=true,backup.enabled=true"},
		} {
			base := append([]string{"template", "rhesis", chart, "-n", "e2e"}, args...)
			// Helm 4 writes a blank line before each document separator of
			// a file with several: the documents themselves must be equal.
			assert.Equal(t, documents(t, helmCLI(t, "helm", base...)), documents(t, helmCLI(t, h4, base...)), "helm template %v", args)
		}
		helmCLI(t, h4, "lint", chart, "-f", local)
		// The schema refuses the same bad value under both.
		for _, binary := range []string{"helm", h4} {
			out, err := exec.Command(binary, "template", "rhesis", chart, "-f", local, "--set", "backend.replicas=-1").CombinedOutput()
			require.Error(t, err, binary)
			assert.Regexp(t, `backend.replicas.*minimum|minimum.*backend.replicas`, string(out), binary)
		}
	})

	t.Run("installs, upgrades and uninstalls", func(t *testing.T) {
		ns := "e2e-h4-install"
		t.Cleanup(func() { _ = exec.Command("kubectl", "delete", "namespace", ns, "--wait=false").Run() })
		helmCLI(t, h4, "install", "rhesis", chart, "-n", ns, "--create-namespace", "-f", local, "--wait", "--timeout", "5m")
		assertConverged(t, ns, localReplicas)
		assertMigrated(t, ns)
		assertReferencesResolve(t, ns)
		managers := appliedBy(t, "deployment", "backend", ns)
		t.Logf("backend's field managers after a Helm 4 install: %v", managers)
		assert.Contains(t, managers, "helm/Apply", "Helm 4 installs by server-side apply")

		claims := claimUIDs(t, ns)
		helmCLI(t, h4, "upgrade", "rhesis", chart, "-n", ns, "-f", local, "--set", "worker.replicas=2", "--wait", "--timeout", "5m")
		waitForReplicas(t, ns, map[string]float64{"worker": 2})
		assert.Contains(t, helmCLI(t, h4, "status", "rhesis", "-n", ns), "REVISION: 2")
		assert.Equal(t, claims, claimUIDs(t, ns), "every claim survives the upgrade, by UID")

		helmCLI(t, h4, "uninstall", "rhesis", "-n", ns, "--wait", "--timeout", "5m")
		assert.Empty(t, items(kubectl(t, "get", "deployments,statefulsets,jobs,services", "-n", ns)), "uninstall leaves workloads")
		kubectlRun(t, "delete", "namespace", ns, "--wait=true", "--timeout=120s")
		assertGone(t, ns)
	})

	t.Run("upgrades a release Helm 3 installed", func(t *testing.T) {
		ns := "e2e-h4-from-h3"
		t.Cleanup(func() { _ = exec.Command("kubectl", "delete", "namespace", ns, "--wait=false").Run() })
		helmCLI(t, "helm", "install", "rhesis", chart, "-n", ns, "--create-namespace", "-f", local, "--wait", "--timeout", "5m")
		assertConverged(t, ns, localReplicas)
		claims := claimUIDs(t, ns)
		t.Logf("backend's field managers after the Helm 3 install: %v", appliedBy(t, "deployment", "backend", ns))

		helmCLI(t, h4, "upgrade", "rhesis", chart, "-n", ns, "-f", local, "--set", "worker.replicas=2", "--wait", "--timeout", "5m")
		waitForReplicas(t, ns, map[string]float64{"worker": 2})
		assertConverged(t, ns, map[string]float64{"frontend": 1, "backend": 1, "worker": 2, "postgres": 1, "redis": 1})
		status := helmCLI(t, h4, "status", "rhesis", "-n", ns)
		assert.Contains(t, status, "REVISION: 2")
		assert.Contains(t, status, "STATUS: deployed")
		assert.Equal(t, claims, claimUIDs(t, ns), "every claim survives the upgrade, by UID")
		managers := appliedBy(t, "deployment", "backend", ns)
		t.Logf("backend's field managers after the Helm 4 upgrade: %v", managers)
		// Helm 4's --server-side=auto keeps the apply method the release was installed with.
		assert.Contains(t, managers, "helm/Update", "a Helm 3 release stays client-side")
		assert.NotContains(t, managers, "helm/Apply", "a Helm 3 release stays client-side")

		helmCLI(t, h4, "uninstall", "rhesis", "-n", ns, "--wait", "--timeout", "5m")
		kubectlRun(t, "delete", "namespace", ns, "--wait=true", "--timeout=120s")
		assertGone(t, ns)
	})
}
