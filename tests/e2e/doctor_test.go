//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/preflight"
)

// chartSecretKeys are the keys secrets.existingSecret holds (the chart's
// README: the secrets value).
var chartSecretKeys = []string{"SESSION_SECRET_KEY", "JWT_SECRET_KEY", "NEXTAUTH_SECRET", "DB_ENCRYPTION_KEY",
	"APP_DB_PASS", "ADMIN_DB_PASS", "REDIS_PASSWORD", "AUDIT_HASH_KEY", "BROKER_URL", "CELERY_RESULT_BACKEND"}

// doctor runs the preflight for the stack's current config against the sandbox.
func (e *e2eStack) doctor() []preflight.Finding {
	e.t.Helper()
	r, err := driver.LoadConfig(e.ctx, e.s, e.dir)
	require.NoError(e.t, err)
	cluster, err := preflight.Connect("")
	require.NoError(e.t, err)
	found, err := preflight.Run(e.ctx, cluster, preflight.PlanOf(r))
	require.NoError(e.t, err)
	return found
}

// finding is the finding of one check; the test fails when there is none.
func finding(t *testing.T, found []preflight.Finding, check string) preflight.Finding {
	t.Helper()
	var checks []string
	for _, f := range found {
		if f.Check == check {
			return f
		}
		checks = append(checks, f.Check)
	}
	require.Failf(t, "no finding", "%q is not among %q", check, checks)
	return preflight.Finding{}
}

// assertFinding: check's finding has severity, and its detail and fix
// contain each of the texts given.
func assertFinding(t *testing.T, found []preflight.Finding, check string, severity preflight.Severity, texts ...string) {
	t.Helper()
	f := finding(t, found, check)
	assert.Equal(t, severity, f.Severity, "%s: %s (fix: %s)", check, f.Detail, f.Fix)
	for _, text := range texts {
		assert.Contains(t, f.Detail+" | "+f.Fix, text, check)
	}
}

// kubectlApply applies a manifest given as text.
func kubectlApply(t *testing.T, manifest string) {
	t.Helper()
	cmd := exec.Command("kubectl", "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s\n%s", manifest, out)
}

// TestDoctor: each blocker the preflight knows is put in the sandbox's way
// and taken away again, and the finding follows it: the namespace a stack
// does not own (missing, then without Pod Security restricted), the Secret
// it names (missing, then lacking keys), the StorageClasses of its claims
// (missing, then one that cannot share a volume for ReadWriteMany), the
// IngressClass and cert-manager ClusterIssuer of its Ingress, the Gateway
// of its routes (missing, not Accepted, admitting no routes from the
// namespace), the APIs monitoring needs, a ResourceQuota and a LimitRange
// too small for it. The rhesis command's doctor and up stop on a blocker
// before anything is created, and up goes on once none is left.
func TestDoctor(t *testing.T) {
	const ns, secret = "e2e-doctor", "e2e-doctor-secrets"
	// cleanup removes what the test makes; before it starts, it waits until
	// a namespace an earlier run left is gone, since the first check is that
	// the namespace does not exist.
	cleanup := func(wait bool) {
		for _, args := range [][]string{
			{"namespace", ns, "gateway-system"},
			{"storageclass", "e2e-disk", "e2e-shared"},
			{"ingressclass", "e2e-nginx"},
			{"clusterissuer", "e2e-issuer"},
		} {
			_ = exec.Command("kubectl", append([]string{"delete", "--ignore-not-found", fmt.Sprintf("--wait=%t", wait), "--timeout=2m"}, args...)...).Run()
		}
	}
	cleanup(true)
	t.Cleanup(func() { cleanup(false) })
	e := newStack(t, "e2e-doctor", map[string]string{
		"environment": "local", "deploy.namespace": ns, "deploy.createNamespace": "false",
		"secrets.existingSecret":                       secret,
		"database.postgresql.persistence.storageClass": "e2e-disk",
	}, nil)

	// A namespace the stack does not own: missing, then not restricted.
	found := e.doctor()
	assertFinding(t, found, "namespace "+ns, preflight.Blocker, "does not exist", "deploy.createNamespace")
	code, out := e.cli("doctor")
	t.Logf("doctor on a cluster without the namespace:\n%s", out)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "blocker namespace "+ns+": does not exist")
	assert.Contains(t, out, "fix: create it")
	code, out = e.cli("up")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "nothing was changed")
	assert.False(t, exists("namespace", ns), "up created the namespace")
	outputs, err := e.s.Outputs(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, outputs, "up deployed nothing")

	kubectlRun(t, "create", "namespace", ns)
	assertFinding(t, e.doctor(), "namespace "+ns, preflight.Blocker, "enforces Pod Security", "kubectl label namespace "+ns)
	kubectlRun(t, "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
	found = e.doctor()
	assertFinding(t, found, "namespace "+ns, preflight.OK, "restricted")

	// The Secret it names: missing, then lacking keys, then complete.
	assertFinding(t, found, "Secret "+secret, preflight.Blocker, "does not exist in namespace "+ns, "--from-literal=JWT_SECRET_KEY=")
	kubectlRun(t, "create", "secret", "generic", secret, "-n", ns, "--from-literal=JWT_SECRET_KEY=x")
	assertFinding(t, e.doctor(), "Secret "+secret, preflight.Blocker, "lacks the keys", "SESSION_SECRET_KEY")
	kubectlRun(t, "delete", "secret", secret, "-n", ns)
	literals := []string{"create", "secret", "generic", secret, "-n", ns}
	for _, k := range chartSecretKeys {
		literals = append(literals, "--from-literal="+k+"=e2e-"+strings.ToLower(k)+"-0123456789abcdef0123456789abcdef")
	}
	kubectlRun(t, literals...)
	assertFinding(t, e.doctor(), "Secret "+secret, preflight.OK, "exists with every key")

	// The claims' classes: missing, then a disk; ReadWriteMany on a disk, then on a shared file system.
	assertFinding(t, e.doctor(), "claim postgres-pvc", preflight.Blocker, "StorageClass e2e-disk", "standard")
	kubectlApply(t, storageClass("e2e-disk", "ebs.csi.aws.com")+"---\n"+storageClass("e2e-shared", "efs.csi.aws.com"))
	found = e.doctor()
	assertFinding(t, found, "claim postgres-pvc", preflight.OK, "e2e-disk (ebs.csi.aws.com)")
	assertFinding(t, found, "claim app-storage", preflight.OK, "standard")
	e.set("storage.accessMode", "ReadWriteMany")
	e.set("storage.storageClass", "e2e-disk")
	assertFinding(t, e.doctor(), "claim app-storage", preflight.Blocker, "needs ReadWriteMany", "storageClass value of app-storage")
	e.set("storage.storageClass", "e2e-shared")
	assertFinding(t, e.doctor(), "claim app-storage", preflight.OK, "ReadWriteMany on StorageClass e2e-shared")

	// The Ingress's class and cert-manager issuer: absent (cert-manager too), then present and Ready.
	e.set("ingress.enabled", "true")
	e.set("ingress.className", "e2e-nginx")
	e.set("ingress.host", "doctor.e2e.test")
	e.set("ingress.clusterIssuer", "e2e-issuer")
	found = e.doctor()
	assertFinding(t, found, "Ingress rhesis", preflight.Warning, "IngressClass e2e-nginx", "does not have yet")
	assertFinding(t, found, "Ingress rhesis: cert-manager ClusterIssuer e2e-issuer", preflight.Blocker, "does not exist")
	kubectlApply(t, "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: e2e-nginx}\nspec: {controller: k8s.io/ingress-nginx}\n")
	certManager := os.Getenv("CERT_MANAGER_CRDS")
	require.NotEmpty(t, certManager, "CERT_MANAGER_CRDS is unset: run through hack/e2e.sh")
	applyCRDs(t, filepath.Join(certManager, "cert-manager.io_clusterissuers.yaml"))
	t.Cleanup(func() {
		_ = exec.Command("kubectl", "delete", "clusterissuer", "e2e-issuer", "--ignore-not-found").Run()
	})
	kubectlApply(t, "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: e2e-issuer}\nspec: {selfSigned: {}}\n")
	assertFinding(t, e.doctor(), "Ingress rhesis: cert-manager ClusterIssuer e2e-issuer", preflight.Warning, "not Ready")
	kubectlRun(t, "patch", "clusterissuer", "e2e-issuer", "--subresource=status", "--type=merge", "-p",
		`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"IsReady","message":"e2e","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`)
	found = e.doctor()
	assertFinding(t, found, "Ingress rhesis", preflight.OK, "IngressClass e2e-nginx")
	assertFinding(t, found, "Ingress rhesis: cert-manager ClusterIssuer e2e-issuer", preflight.OK, "Ready")
	e.set("ingress.enabled", "false")

	// The routes' Gateway: missing, not Accepted, admitting only its own namespace, then all.
	gatewayCRDs := os.Getenv("GATEWAY_API_CRDS")
	require.NotEmpty(t, gatewayCRDs, "GATEWAY_API_CRDS is unset: run through hack/e2e.sh")
	for _, kind := range []string{"gatewayclasses", "gateways", "httproutes"} {
		applyCRDs(t, filepath.Join(gatewayCRDs, "gateway.networking.k8s.io_"+kind+".yaml"))
	}
	e.set("gateway.enabled", "true")
	e.set("gateway.host", "doctor.e2e.test")
	e.set("gateway.https", "false")
	e.set("gateway.parentRefs", `[{"name":"e2e-gw","namespace":"gateway-system"}]`)
	const gw = "HTTPRoute frontend: Gateway gateway-system/e2e-gw"
	assertFinding(t, e.doctor(), gw, preflight.Blocker, "does not exist")
	kubectlRun(t, "create", "namespace", "gateway-system")
	kubectlApply(t, gateway("Same"))
	assertFinding(t, e.doctor(), gw, preflight.Blocker, "not Accepted")
	kubectlRun(t, "patch", "gateway", "e2e-gw", "-n", "gateway-system", "--subresource=status", "--type=merge", "-p",
		`{"status":{"conditions":[{"type":"Accepted","status":"True","reason":"Accepted","message":"e2e","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`)
	assertFinding(t, e.doctor(), gw, preflight.Blocker, "admits no routes from namespace "+ns, "allowedRoutes")
	kubectlApply(t, gateway("All"))
	found = e.doctor()
	assertFinding(t, found, gw, preflight.OK, "admits routes from "+ns)
	assertFinding(t, found, "HTTPRoute backend: Gateway gateway-system/e2e-gw", preflight.OK)

	// Monitoring's APIs: not served, then served.
	e.set("monitoring.enabled", "true")
	crds := filepath.Join(repoRoot(t), "tests", "e2e", "testdata", "prometheus-operator-crds.yaml")
	kubectlRun(t, "delete", "--ignore-not-found", "-f", crds)
	found = e.doctor()
	assertFinding(t, found, "API monitoring.coreos.com/v1 ServiceMonitor", preflight.Blocker, "serves no ServiceMonitor", "Prometheus Operator")
	assertFinding(t, found, "API monitoring.coreos.com/v1 PrometheusRule", preflight.Blocker)
	applyCRDs(t, crds)
	assertFinding(t, e.doctor(), "APIs", preflight.OK, "serves every API")

	// A quota smaller than the profile's requests, then one with room.
	kubectlApply(t, quota(ns, "100m"))
	assertFinding(t, e.doctor(), "ResourceQuota e2e-doctor", preflight.Blocker, "allows requests.cpu 100m; the stack needs")
	kubectlApply(t, quota(ns, "100"))
	assertFinding(t, e.doctor(), "ResourceQuota e2e-doctor", preflight.OK)

	// A LimitRange whose max memory is below a container's limit.
	kubectlApply(t, fmt.Sprintf("apiVersion: v1\nkind: LimitRange\nmetadata: {name: e2e-doctor, namespace: %s}\n"+
		"spec: {limits: [{type: Container, max: {memory: 32Mi}}]}\n", ns))
	assertFinding(t, e.doctor(), "LimitRange e2e-doctor", preflight.Blocker, "allows at most memory 32Mi per Container")
	kubectlRun(t, "delete", "limitrange", "e2e-doctor", "-n", ns)

	// The claims back on the class the sandbox provisions (e2e-disk and
	// e2e-shared have no provisioner here, so their claims would stay Pending).
	e.set("database.postgresql.persistence.storageClass", "standard")
	e.set("storage.storageClass", "standard")
	e.set("storage.accessMode", "ReadWriteOnce")

	// Nothing left in the way: doctor passes, and up deploys.
	found = e.doctor()
	assert.Empty(t, preflight.Blockers(found))
	code, out = e.cli("doctor")
	t.Logf("doctor once nothing is in the way:\n%s", out)
	assert.Zero(t, code, out)
	assert.Contains(t, out, "no blockers")
	code, out = e.cli("up")
	require.Zero(t, code, out)
	assertConverged(t, ns, localReplicas)
	assertReferencesResolve(t, ns)
	e.destroy()
}

// sandboxProvisioner is the provisioner of the sandbox's StorageClass standard.
const sandboxProvisioner = "rhesis.dev/sandbox-hostpath"

func storageClass(name, provisioner string) string {
	return fmt.Sprintf("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: %s}\nprovisioner: %s\n", name, provisioner)
}

// gateway is the Gateway e2e-gw, its listener admitting routes from namespaces from.
func gateway(from string) string {
	return "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: e2e-gw, namespace: gateway-system}\n" +
		"spec:\n  gatewayClassName: e2e\n  listeners:\n  - name: http\n    protocol: HTTP\n    port: 80\n" +
		"    allowedRoutes: {namespaces: {from: " + from + "}}\n"
}

func quota(ns, cpu string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: e2e-doctor, namespace: %s}\nspec: {hard: {requests.cpu: %q}}\n", ns, cpu)
}
