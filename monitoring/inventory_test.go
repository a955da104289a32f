package monitoring

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// inventory is what a Prometheus scraping the platform would hold: each
// metric's name with the label names its series carry, and where it was found.
type inventory map[string]metric

type metric struct {
	labels map[string]bool
	source string
}

func (inv inventory) add(name, source string, labels ...string) {
	m, ok := inv[name]
	if !ok {
		m = metric{labels: map[string]bool{}, source: source}
		inv[name] = m
	}
	for _, l := range labels {
		m.labels[l] = true
	}
}

// scrapeLabels are the labels every scraped series gets from Prometheus.
var scrapeLabels = []string{"job", "instance"}

// serviceMonitorLabels are the labels the Prometheus Operator adds to the
// series of a ServiceMonitor's targets: the exporters'.
var serviceMonitorLabels = []string{"job", "instance", "namespace", "pod", "service", "endpoint", "container"}

// kubeStateMetrics reads kube-state-metrics' published metric tables
// (docs/metrics/**/*.md at the pinned version): a row's first cell is the
// metric, its `label`=<...> entries the labels.
func kubeStateMetrics(t *testing.T, inv inventory) {
	t.Helper()
	dir := toolDir(t, "kube-state-metrics-docs")
	row := regexp.MustCompile(`^\|\s*(kube_[a-z0-9_]+)\s*\|`)
	label := regexp.MustCompile("`([a-z_]+)`=")
	found := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".md") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(raw), "\n") {
			m := row.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			var labels []string
			for _, l := range label.FindAllStringSubmatch(line, -1) {
				labels = append(labels, l[1])
			}
			inv.add(m[1], "kube-state-metrics "+filepath.Base(path), append(labels, scrapeLabels...)...)
			found++
		}
		return nil
	}))
	require.Greater(t, found, 100, "kube-state-metrics' tables in %s", dir)
}

// kubeletVolumeStats reads the kubelet's volume statistics from the source of
// the pinned Kubernetes release: the keys in metrics.go, named
// kubelet_<key>, with the labels the collector gives them.
func kubeletVolumeStats(t *testing.T, inv inventory) {
	t.Helper()
	dir := filepath.Join(toolDir(t, "kubelet-source"), "metrics")
	metrics, err := os.ReadFile(filepath.Join(dir, "metrics.go"))
	require.NoError(t, err)
	collector, err := os.ReadFile(filepath.Join(dir, "collectors", "volume_stats.go"))
	require.NoError(t, err)
	require.True(t, regexp.MustCompile(`KubeletSubsystem\s*=\s*"kubelet"`).Match(metrics), "the kubelet's subsystem in %s", dir)
	require.True(t, strings.Contains(string(collector), `[]string{"namespace", "persistentvolumeclaim"}`),
		"the volume statistics' labels in %s", dir)
	keys := regexp.MustCompile(`(VolumeStats[A-Za-z]+Key)\s*=\s*"([a-z_]+)"`).FindAllStringSubmatch(string(metrics), -1)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		if strings.Contains(string(collector), "kubeletmetrics."+k[1]) {
			inv.add("kubelet_"+k[2], "kubelet pkg/kubelet/metrics/collectors/volume_stats.go",
				append([]string{"namespace", "persistentvolumeclaim"}, scrapeLabels...)...)
		}
	}
}

// cAdvisor reads the container metrics the kubelet serves from cAdvisor, at
// the version the pinned Kubernetes release builds it with: their names in
// cAdvisor's metrics/prometheus.go, and the labels the kubelet gives every
// container series (pkg/kubelet/server/server.go: id, name and image are
// cAdvisor's own label names).
func cAdvisor(t *testing.T, inv inventory) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(toolDir(t, "cadvisor-metrics"), "prometheus.go"))
	require.NoError(t, err)
	server, err := os.ReadFile(filepath.Join(toolDir(t, "kubelet-source"), "server", "server.go"))
	require.NoError(t, err)
	labels := []string{"id", "name", "image"}
	for _, l := range []string{"pod", "namespace", "container"} {
		require.True(t, regexp.MustCompile(`"`+l+`":\s+[a-zA-Z]+,`).Match(server), "the kubelet labels container series with %s", l)
		labels = append(labels, l)
	}
	names := regexp.MustCompile(`name:\s*"(container_[a-z_]+)"`).FindAllSubmatch(raw, -1)
	require.NotEmpty(t, names, "cAdvisor's container metrics")
	for _, n := range names {
		inv.add(string(n[1]), "cAdvisor metrics/prometheus.go", append(labels, scrapeLabels...)...)
	}
}

// certManager reads cert-manager's certificate metrics from its metrics
// package's documentation (pkg/metrics/metrics.go at the pinned version):
// lines "// certificate_<name>{label, ...}" under the namespace certmanager.
func certManager(t *testing.T, inv inventory) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(toolDir(t, "cert-manager-metrics"), "metrics.go"))
	require.NoError(t, err)
	require.True(t, regexp.MustCompile(`namespace\s*=\s*"certmanager"`).Match(raw), "cert-manager's metric namespace")
	lines := regexp.MustCompile(`(?m)^// (certificate_[a-z_]+)\{([a-z_, ]+)\}$`).FindAllStringSubmatch(string(raw), -1)
	require.NotEmpty(t, lines, "cert-manager's certificate metrics")
	for _, l := range lines {
		labels := strings.Split(strings.ReplaceAll(l[2], " ", ""), ",")
		inv.add("certmanager_"+l[1], "cert-manager pkg/metrics/metrics.go", append(labels, scrapeLabels...)...)
	}
}
