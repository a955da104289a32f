package tests

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"
)

func inventory(r *result) []string {
	var out []string
	for _, res := range r.kubernetes() {
		name, ns := res.Meta()
		if res.Kind() == "Job" && migrationJobPattern.MatchString(name) {
			name = migrationJobSpelled
		}
		out = append(out, fmt.Sprintf("%s %s/%s", res.Kind(), ns, name))
	}
	sort.Strings(out)
	return out
}

// TestInventory pins the exact objects each stack creates: the chart's
// (expectedObjects, the release's migration Job among them), plus the Namespace.
func TestInventory(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			r := mustRun(t, s)
			want := []string{"Namespace /rhesis"}
			for _, o := range expectedObjects(s) {
				want = append(want, strings.Replace(o, "/", " rhesis/", 1))
			}
			sort.Strings(want)
			assert.Equal(t, want, inventory(r))
		})
	}
}

// TestComponentsOwnTheirObjects checks one component resource per service and
// that every Kubernetes object is a child of the component it belongs to.
func TestComponentsOwnTheirObjects(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "prod")
	var comps []string
	for _, res := range r.Resources {
		if !res.Custom {
			comps = append(comps, res.Type+" "+res.Name)
		}
	}
	sort.Strings(comps)
	assert.Equal(t, []string{
		"rhesis:components:Backend backend", "rhesis:components:Backup postgres-backup",
		"rhesis:components:Frontend frontend", "rhesis:components:Migration migrate",
		"rhesis:components:NetworkPolicies network-policies",
		"rhesis:components:Platform platform", "rhesis:components:Postgres postgres",
		"rhesis:components:Redis redis", "rhesis:components:Worker worker",
	}, comps)

	owner := func(kind, name string) string {
		switch {
		case kind == "NetworkPolicy" && (name == "default-deny" || name == "allow-dns" || name == "helm-test"):
			// Namespace-wide rules, and the `helm test` pod's.
			return "NetworkPolicies"
		case kind == "Namespace" || kind == "ConfigMap" || kind == "Secret" || kind == "Ingress" || name == "app-storage":
			return "Platform"
		case strings.HasPrefix(name, "migrate"):
			return "Migration"
		case strings.HasPrefix(name, "postgres-backup"):
			return "Backup"
		}
		component := strings.TrimSuffix(name, "-pvc")
		return strings.ToUpper(component[:1]) + component[1:]
	}
	for _, res := range r.kubernetes() {
		name, _ := res.Meta()
		assert.Contains(t, res.Parent, "rhesis:components:"+owner(res.Kind(), name)+"::", "%s %s parent", res.Kind(), name)
	}
}

// sizing is one row of docs/deploying.md's environment table.
type sizing struct {
	replicas                       int
	reqCPU, limCPU, reqMem, limMem string
	storage                        string // "" = no volume
}

// sizingTables are typed in from docs/deploying.md's environment table,
// independently of the program's defaults. Staging: staging's replicas and
// storage with the production per-pod sizes.
var sizingTables = map[string]map[string]sizing{
	"local": {
		"frontend": {1, "1000m", "2000m", "2Gi", "4Gi", ""},
		"backend":  {1, "500m", "1000m", "1Gi", "2Gi", ""},
		"worker":   {1, "500m", "1000m", "1Gi", "2Gi", ""},
		"postgres": {1, "250m", "500m", "512Mi", "1Gi", "1Gi"},
		"redis":    {1, "100m", "200m", "128Mi", "256Mi", ""},
	},
	"staging": {
		"frontend": {2, "500m", "1000m", "1Gi", "2Gi", ""},
		"backend":  {2, "1000m", "2000m", "2Gi", "4Gi", ""},
		"worker":   {3, "500m", "1000m", "1Gi", "2Gi", ""},
		"postgres": {1, "1000m", "2000m", "2Gi", "4Gi", "10Gi"},
		"redis":    {1, "500m", "1000m", "1Gi", "2Gi", "1Gi"},
	},
	"prod": {
		"frontend": {2, "500m", "1000m", "1Gi", "2Gi", ""},
		"backend":  {3, "1000m", "2000m", "2Gi", "4Gi", ""},
		"worker":   {5, "500m", "1000m", "1Gi", "2Gi", ""},
		"postgres": {1, "1000m", "2000m", "2Gi", "4Gi", "100Gi"},
		"redis":    {1, "500m", "1000m", "1Gi", "2Gi", "10Gi"},
	},
}

func assertQuantity(t *testing.T, want string, got any, msg string) {
	t.Helper()
	s, ok := got.(string)
	if !assert.True(t, ok, "%s: not a string: %v", msg, got) {
		return
	}
	g, err := resource.ParseQuantity(s)
	require.NoError(t, err, msg)
	w := resource.MustParse(want)
	assert.Zero(t, w.Cmp(g), "%s: want %s, got %s", msg, want, s)
}

// TestResourcesMatchTheSizingTables compares every Deployment's replicas,
// requests and limits, and every claim's size, with docs/deploying.md's table.
func TestResourcesMatchTheSizingTables(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			r := mustRun(t, s)
			for name, row := range sizingTables[s] {
				d := r.object(t, "Deployment", name).Plain()
				replicas := dig(d, "spec", "replicas")
				if replicas == nil {
					// Autoscaled: the table's count is the autoscaler's minimum.
					replicas = dig(r.object(t, "HorizontalPodAutoscaler", name).Plain(), "spec", "minReplicas")
				}
				assert.EqualValues(t, row.replicas, replicas, name+" replicas")
				res := dig(d, "spec", "template", "spec", "containers", 0, "resources")
				assertQuantity(t, row.reqCPU, dig(res, "requests", "cpu"), name+" cpu request")
				assertQuantity(t, row.limCPU, dig(res, "limits", "cpu"), name+" cpu limit")
				assertQuantity(t, row.reqMem, dig(res, "requests", "memory"), name+" memory request")
				assertQuantity(t, row.limMem, dig(res, "limits", "memory"), name+" memory limit")
				if row.storage != "" {
					pvc := r.object(t, "PersistentVolumeClaim", name+"-pvc").Plain()
					assertQuantity(t, row.storage, dig(pvc, "spec", "resources", "requests", "storage"), name+" storage")
				} else {
					assert.False(t, r.hasObject("PersistentVolumeClaim", name+"-pvc"), name+" has no claim")
				}
			}
		})
	}
}

// TestTotals checks the outputs against the "total" row of docs/deploying.md's
// environment table: the sums of replicas x per-pod sizes (local: 2.35/4.7
// cores, 4.6/9.25 Gi).
func TestTotals(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		replicas                       int
		reqCPU, limCPU, reqMem, limMem string
		storage                        string
	}{
		"local":   {5, "2350m", "4700m", "4736Mi", "9472Mi", "1Gi"},
		"staging": {9, "6", "12", "12Gi", "24Gi", "11Gi"},
		"prod":    {12, "8", "16", "16Gi", "32Gi", "110Gi"},
	}
	for s, want := range cases {
		t.Run(s, func(t *testing.T) {
			out := mustRun(t, s).Outputs
			assert.EqualValues(t, want.replicas, dig(out, "replicas", "total"))
			assertQuantity(t, want.reqCPU, dig(out, "resources", "requests", "cpu"), "cpu requests")
			assertQuantity(t, want.limCPU, dig(out, "resources", "limits", "cpu"), "cpu limits")
			assertQuantity(t, want.reqMem, dig(out, "resources", "requests", "memory"), "memory requests")
			assertQuantity(t, want.limMem, dig(out, "resources", "limits", "memory"), "memory limits")
			assertQuantity(t, want.storage, dig(out, "resources", "storage"), "storage")
		})
	}
	local := mustRun(t, "local").Outputs
	assert.InDelta(t, 2.35, dig(local, "resources", "requests", "cpuCores"), 1e-9)
	assert.InDelta(t, 4.7, dig(local, "resources", "limits", "cpuCores"), 1e-9)
	assert.InDelta(t, 4.6, dig(local, "resources", "requests", "memoryGiB"), 0.05)
	assert.InDelta(t, 9.2, dig(local, "resources", "limits", "memoryGiB"), 0.06)
}
