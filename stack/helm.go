package stack

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// ChartDirEnv overrides where the chart is looked up.
const ChartDirEnv = "RHESIS_CHART_DIR"

// ChartIn is the chart's folder in a project.
func ChartIn(projectDir string) string { return filepath.Join(projectDir, "charts", "rhesis") }

// LocalChartDir finds charts/rhesis: $RHESIS_CHART_DIR, else next to Pulumi.yaml,
// else below the working directory.
func LocalChartDir(ctx *pulumi.Context) (string, error) {
	candidates := []string{os.Getenv(ChartDirEnv)}
	if root := ctx.RootDirectory(); root != "" {
		candidates = append(candidates, ChartIn(root))
	}
	if wd, err := os.Getwd(); err == nil {
		candidates = append(candidates, ChartIn(wd))
	}
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err == nil {
			return filepath.Abs(dir)
		}
	}
	return "", fmt.Errorf("the chart charts/rhesis, which defines every object of both deploy modes, was not found next to Pulumi.yaml; "+
		"run from the repository or set %s", ChartDirEnv)
}

// ChartResolver finds the chart a stack deploys: local, the repository's
// chart, or the published chart deploy.chart names, pulled into the cache.
func ChartResolver(local string) config.ChartResolver {
	return func(d config.Deploy) (config.Chart, error) {
		if d.Chart == "" {
			return config.Chart{Dir: local}, nil
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			return config.Chart{}, fmt.Errorf("no cache folder to pull the chart %s into: %w", d.Chart, err)
		}
		pulled, err := charts.Pull(d.Chart, d.ChartVersion, filepath.Join(cache, "rhesis-deploy", "charts"), d.ChartKeyringPath)
		if err != nil {
			return config.Chart{}, err
		}
		return config.Chart{Dir: pulled.Dir, SignedBy: pulled.SignedBy}, nil
	}
}

// deployHelm installs the chart with the stack's values: the values
// under secrets, and every top-level key the stack set encrypted, are
// secret inputs of the release.
func deployHelm(ctx *pulumi.Context, r *Resolved, digests imageDigests, opts ...pulumi.ResourceOption) (*outputs, error) {
	cfg := r.Config
	dir := cfg.ChartDir
	digest, err := charts.Digest(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the chart: %w", err)
	}
	values := maps.Clone(r.Values)
	global, _ := values["global"].(map[string]any)
	global = maps.Clone(global)
	if global == nil {
		global = map[string]any{}
	}
	global["chartDigest"] = digest
	values["global"] = global
	subst := newSubstitutions(digests)
	inputs := pulumi.Map{}
	for k, v := range values {
		in := subst.value(v)
		if k == "secrets" || cfg.SecretTops[k] {
			in = pulumi.ToSecret(in)
		}
		inputs[k] = in
	}
	chart := dir
	if cfg.Deploy.Chart != "" {
		chart = cfg.Deploy.Chart
	}
	rel, err := components.NewChartRelease(ctx, "chart", components.ChartReleaseArgs{
		Namespace: cfg.Deploy.Namespace, CreateNamespace: cfg.Deploy.CreateNamespace, Release: r.ReleaseName(),
		Chart: chart, Version: cfg.Deploy.ChartVersion, Keyring: cfg.Deploy.ChartKeyringPath, Values: inputs, Keep: r.Keep(),
	}, opts...)
	if err != nil {
		return nil, err
	}
	out := &outputs{r: r, namespace: rel.Namespace, services: serviceAddresses(r.Rendered)}
	out.release = pulumi.Map{
		"name":      rel.Release.Name.Elem(),
		"namespace": rel.Namespace,
		"status":    rel.Release.Status.MapIndex(pulumi.String("status")),
		"revision":  rel.Release.Status.MapIndex(pulumi.String("revision")),
		"chart":     pulumi.String(chart),
		"digest":    pulumi.String(digest),
	}
	return out, nil
}
