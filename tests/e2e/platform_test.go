//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"
)

// applyCRDs applies a file of CustomResourceDefinitions and waits until the
// API server serves them. kubectl wait fails at once, instead of waiting,
// while a CRD it has just created has no status conditions yet ("accessor
// error: <nil>"), so the wait is retried until a minute has passed.
func applyCRDs(t *testing.T, crds string) {
	t.Helper()
	out, err := exec.Command("kubectl", "apply", "--server-side", "-f", crds).CombinedOutput()
	require.NoError(t, err, string(out))
	err = wait.PollUntilContextTimeout(t.Context(), time.Second, time.Minute, true, func(context.Context) (bool, error) {
		out, err = exec.Command("kubectl", "wait", "--for=condition=Established", "-f", crds, "--timeout=10s").CombinedOutput()
		return err == nil, nil
	})
	require.NoError(t, err, "CRDs in %s not established: %s", crds, out)
}

// TestPlatformExtensionPoints: what a platform team adds lands in a real
// cluster. Every pod runs on the one node the pool selector and the taint's
// toleration allow, with the PriorityClass's priority resolved by admission;
// the backend's sidecar passes the namespace's restricted Pod Security; the
// Gateway API routes and the worker's KEDA scaler are accepted by their
// projects' own CRDs; the
// secrets come from the External Secrets Operator: the API server accepts
// the chart's ExternalSecret against the operator's own CRD, and once the
// Secret it fills exists every reference resolves.
func TestPlatformExtensionPoints(t *testing.T) {
	applyCRDs(t, filepath.Join(repoRoot(t), "tests", "e2e", "testdata", "external-secrets-crds.yaml"))
	// The Gateway API's standard CRDs of the release the chart is checked
	// against (hack/e2e.sh finds them in the Go module cache).
	gatewayCRDs := os.Getenv("GATEWAY_API_CRDS")
	require.NotEmpty(t, gatewayCRDs, "GATEWAY_API_CRDS is unset: run through hack/e2e.sh")
	applyCRDs(t, filepath.Join(gatewayCRDs, "gateway.networking.k8s.io_httproutes.yaml"))
	kedaCRDs := os.Getenv("KEDA_CRDS")
	require.NotEmpty(t, kedaCRDs, "KEDA_CRDS is unset: run through hack/e2e.sh")
	for _, kind := range []string{"scaledobjects", "triggerauthentications"} {
		applyCRDs(t, filepath.Join(kedaCRDs, "keda.sh_"+kind+".yaml"))
	}
	const pool = "e2e-pool-node"
	addNode(t, pool)
	kubectlRun(t, "label", "node", pool, "pool=rhesis")
	kubectlRun(t, "taint", "node", pool, "dedicated=rhesis:NoSchedule")
	kubectlRun(t, "create", "priorityclass", "e2e-rhesis-high", "--value=100000")
	t.Cleanup(func() { _ = exec.Command("kubectl", "delete", "priorityclass", "e2e-rhesis-high").Run() })

	ns := "e2e-platform"
	secretKeys := []string{"sessionSecretKey", "jwtSecretKey", "nextauthSecret", "dbEncryptionKey", "dbPassword", "dbAppPassword", "redisPassword", "auditHashKey"}
	var data []string
	for _, k := range secretKeys {
		data = append(data, fmt.Sprintf(`%q:{"key":"rhesis/e2e","property":%q}`, k, k))
	}
	e := newStack(t, "e2e-platform", map[string]string{
		"environment": "local", "deploy.namespace": ns,
		"global.nodeSelector":      `{"pool":"rhesis"}`,
		"global.tolerations":       `[{"key":"dedicated","operator":"Equal","value":"rhesis","effect":"NoSchedule"}]`,
		"global.priorityClassName": "e2e-rhesis-high",
		"global.podLabels":         `{"team":"platform"}`,
		"backend.extraContainers": `[{"name":"sidecar","image":"busybox:1.37","command":["sleep","infinity"],` +
			`"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true}}]`,
		"gateway.enabled":                            "true",
		"gateway.host":                               "rhesis.e2e.test",
		"gateway.https":                              "false",
		"gateway.parentRefs":                         `[{"name":"public","namespace":"gateway-system","sectionName":"http"}]`,
		"worker.autoscaling.enabled":                 "true",
		"worker.keda.enabled":                        "true",
		"secrets.externalSecret.enabled":             "true",
		"secrets.externalSecret.secretStoreRef.name": "vault",
		"secrets.externalSecret.data":                "{" + strings.Join(data, ",") + "}",
	}, nil)
	e.up()
	assertConverged(t, ns, localReplicas)

	pods := items(kubectl(t, "get", "pods", "-n", ns, "-l", "team=platform"))
	require.NotEmpty(t, pods)
	for _, p := range pods {
		if dig(p, "status", "phase") == "Succeeded" {
			continue // the migration Job's pod
		}
		assert.Equal(t, pool, dig(p, "spec", "nodeName"), "%s runs off the pool", name(p))
		assert.EqualValues(t, 100000, dig(p, "spec", "priority"), "%s: the PriorityClass's priority", name(p))
	}
	backend := items(kubectl(t, "get", "pods", "-n", ns, "-l", "app=backend"))
	require.NotEmpty(t, backend)
	var containers []string
	for _, c := range dig(backend[0], "spec", "containers").([]any) {
		containers = append(containers, dig(c, "name").(string))
	}
	assert.Equal(t, []string{"backend", "sidecar"}, containers)

	// The routes, accepted by the Gateway API's own schema, on their hosts.
	for route, host := range map[string]string{"frontend": "rhesis.e2e.test", "backend": "api.rhesis.e2e.test"} {
		r := kubectl(t, "get", "httproute", route, "-n", ns)
		assert.Equal(t, []any{host}, dig(r, "spec", "hostnames"), route)
		assert.Equal(t, "public", dig(r, "spec", "parentRefs", 0, "name"), route)
	}
	assert.Equal(t, "http://rhesis.e2e.test", dig(kubectl(t, "get", "configmap", "rhesis-config", "-n", ns), "data", "FRONTEND_URL"))

	// The worker scales on its queues: KEDA's schema accepts the ScaledObject,
	// and no HorizontalPodAutoscaler competes with it.
	so := kubectl(t, "get", "scaledobject", "worker", "-n", ns)
	assert.Len(t, dig(so, "spec", "triggers"), 4)
	assert.Equal(t, "worker-redis", dig(so, "spec", "triggers", 0, "authenticationRef", "name"))
	assert.False(t, exists("hpa", "worker", "-n", ns))
	assert.True(t, exists("triggerauthentication", "worker-redis", "-n", ns))

	es := kubectl(t, "get", "externalsecret", "rhesis-secrets", "-n", ns)
	assert.Equal(t, "vault", dig(es, "spec", "secretStoreRef", "name"))
	assert.Len(t, dig(es, "spec", "data"), len(secretKeys))
	assert.False(t, exists("secret", "rhesis-secrets", "-n", ns), "the chart's Secret is the operator's to make")
	// What the operator makes from the store: the keys the ExternalSecret names.
	args := []string{"create", "secret", "generic", "rhesis-secrets", "-n", ns}
	for _, d := range dig(es, "spec", "data").([]any) {
		args = append(args, fmt.Sprintf("--from-literal=%s=e2e-%s", dig(d, "secretKey"), dig(d, "remoteRef", "property")))
	}
	kubectlRun(t, args...)
	assertReferencesResolve(t, ns)
	e.expectNoChanges()
	e.destroy()
	assertGone(t, ns)
}
