package tests

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/contract"
)

// TestOpenShift: with global.openshift every pod, in every environment and
// with every optional workload, leaves its user, group and fsGroup to the
// platform and keeps the rest of the restricted profile; the app contract
// accepts it because each image runs as any user, and refuses it for an
// image not known to.
func TestOpenShift(t *testing.T) {
	t.Parallel()
	c := appContract(t)
	for _, env := range stacks {
		values := layer(layer(valuesFile(t, "values.yaml"), envValues(t, env)), map[string]any{
			"global":     map[string]any{"openshift": true},
			"monitoring": map[string]any{"enabled": true},
			"backup":     map[string]any{"enabled": true},
		})
		containers := 0
		for _, m := range mustRender(t, values) {
			spec := podSpecOf(m.Object)
			if spec == nil {
				continue
			}
			what := fmt.Sprintf("%s %s", m.Kind(), dig(m.Object, "metadata", "name"))
			pod, _ := spec["securityContext"].(map[string]any)
			for _, id := range []string{"runAsUser", "runAsGroup", "fsGroup"} {
				assert.NotContains(t, pod, id, "%s (%s): the platform assigns %s", what, env, id)
			}
			assert.Equal(t, true, pod["runAsNonRoot"], what)
			assert.Equal(t, "RuntimeDefault", dig(pod, "seccompProfile", "type"), what)
			for _, field := range []string{"initContainers", "containers"} {
				for _, ctr := range asList(spec[field]) {
					sc, _ := dig(ctr, "securityContext").(map[string]any)
					name := fmt.Sprintf("%s container %s (%s)", what, dig(ctr, "name"), env)
					assert.NotContains(t, sc, "runAsUser", name)
					assert.NotContains(t, sc, "runAsGroup", name)
					assert.Equal(t, false, sc["allowPrivilegeEscalation"], name)
					assert.Equal(t, []any{"ALL"}, dig(sc, "capabilities", "drop"), name)
					if dig(m.Object, "metadata", "annotations", "helm.sh/hook") != "test" {
						assert.Equal(t, true, sc["readOnlyRootFilesystem"], name)
					}
					containers++
				}
			}
		}
		assert.Greater(t, containers, 8, env)
		render := chartRender(t, values, nil)
		assert.Empty(t, c.Check(render), "%s: %s", env, violations(c.Check(render)))
	}

	// An image the contract does not know to run as any user is refused.
	strict := *c
	strict.Containers = map[string]contract.Container{}
	for name, ctr := range c.Containers {
		ctr.User.AnyUser = nil
		strict.Containers[name] = ctr
	}
	values := layer(layer(valuesFile(t, "values.yaml"), envValues(t, "local")), map[string]any{"global": map[string]any{"openshift": true}})
	got := violations(strict.Check(chartRender(t, values, nil)))
	require.NotEmpty(t, got)
	assert.Contains(t, got, "Deployment/backend container backend: user 1000 (rhesis-user): runs as a user the platform assigns, which the image is not known to support")
}
