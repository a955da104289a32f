package stack

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// ChartDirEnv overrides where the chart is looked up.
const ChartDirEnv = "RHESIS_CHART_DIR"

// ChartDir finds charts/rhesis: $RHESIS_CHART_DIR, else next to Pulumi.yaml,
// else below the working directory.
func ChartDir(ctx *pulumi.Context) (string, error) {
	candidates := []string{os.Getenv(ChartDirEnv)}
	if root := ctx.RootDirectory(); root != "" {
		candidates = append(candidates, filepath.Join(root, "charts", "rhesis"))
	}
	if wd, err := os.Getwd(); err == nil {
		candidates = append(candidates, filepath.Join(wd, "charts", "rhesis"))
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

// ChartOf is the folder of the chart the stack deploys: local, the
// repository's own, or the published one deploy.chart names, pulled into
// the user's cache (rhesis-deploy/charts) so that both modes render exactly
// what helm mode installs.
func ChartOf(cfg *config.Stack, local string) (string, error) {
	if cfg.Chart == "" {
		return local, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder to pull the chart %s into: %w", cfg.Chart, err)
	}
	dir, err := charts.Pull(cfg.Chart, cfg.ChartVersion, filepath.Join(cache, "rhesis-deploy", "charts"))
	if err != nil {
		return "", fmt.Errorf("rhesis:deploy.chart: %w (log in with `helm registry login`, or unset deploy.chart to deploy charts/rhesis)", err)
	}
	return dir, nil
}

// deployHelm installs the chart with values computed from the typed config.
func deployHelm(ctx *pulumi.Context, cfg *config.Stack, dir string, values charts.Values, r *charts.Rendered, digests imageDigests,
	opts ...pulumi.ResourceOption) (*outputs, error) {
	// A Helm release only notices changed values or chart version: the
	// digest as a value makes a changed template upgrade it.
	digest, err := charts.Digest(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the chart: %w", err)
	}
	values.Global.ChartDigest = digest
	all := values.Map()
	secrets := all["secrets"]
	delete(all, "secrets")
	// A built image's digest placeholder becomes the build's output.
	inputs := newSubstitutions(digests).value(all).(pulumi.Map)
	inputs["secrets"] = pulumi.ToSecret(pulumi.ToMap(secrets.(map[string]any)))
	// A published chart is installed from its registry, as `helm install
	// oci://... --version` does; the diff then names it and its version.
	if cfg.Chart != "" {
		dir = cfg.Chart
	}
	rel, err := components.NewChartRelease(ctx, "chart", components.ChartReleaseArgs{
		Namespace: cfg.Namespace, CreateNamespace: cfg.CreateNamespace, Release: cfg.ReleaseName(),
		Chart: dir, Version: cfg.ChartVersion, Values: inputs, Keep: cfg.Keep,
	}, opts...)
	if err != nil {
		return nil, err
	}
	out := &outputs{cfg: cfg, namespace: rel.Namespace, services: serviceAddresses(r)}
	out.release = pulumi.Map{
		"name":      rel.Release.Name.Elem(),
		"namespace": rel.Namespace,
		"status":    rel.Release.Status.Status(),
		"revision":  rel.Release.Status.Revision().Elem(),
		"chart":     pulumi.String(dir),
		"digest":    pulumi.String(digest),
	}
	return out, nil
}
