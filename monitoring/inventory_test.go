package monitoring

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
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

// cloudNativePG reads what a CloudNativePG Cluster's instances export on their
// metrics port, from the sources of the pinned operator and Barman Cloud
// plugin: the instance manager's collector (cnpg_collector_<name>, in
// pg_collector.go), its default queries (cnpg_<query>_<column>, in
// config/manager/default-monitoring.yaml, LABEL columns as labels) and the
// plugin's metrics (its name with . and - as _, then _<name>). The chart's
// ServiceMonitor scrapes them, so each series carries its labels too.
func cloudNativePG(t *testing.T, inv inventory) {
	t.Helper()
	operator, plugin := toolDir(t, "cnpg-source"), toolDir(t, "barman-cloud-source")

	collector, err := os.ReadFile(filepath.Join(operator, "pkg/management/postgres/webserver/metricserver/pg_collector.go"))
	require.NoError(t, err)
	require.Contains(t, string(collector), `PrometheusNamespace = "cnpg"`)
	require.Contains(t, string(collector), `subsystem := "collector"`)
	name := regexp.MustCompile(`Subsystem:\s*subsystem,\s*Name:\s*"([a-z_]+)"`)
	labelList := regexp.MustCompile(`\}, \[\]string\{([^}]*)\}\)`)
	found := 0
	for _, chunk := range strings.Split(string(collector), "prometheus.New")[1:] {
		n := name.FindStringSubmatch(chunk)
		if n == nil {
			continue
		}
		labels := append([]string{}, serviceMonitorLabels...)
		if l := labelList.FindStringSubmatch(chunk); l != nil {
			for _, q := range strings.Split(l[1], ",") {
				labels = append(labels, strings.Trim(strings.TrimSpace(q), `"`))
			}
		}
		inv.add("cnpg_collector_"+n[1], "CloudNativePG pg_collector.go", labels...)
		found++
	}
	require.Greater(t, found, 10, "the collector's metrics in %s", operator)

	raw, err := os.ReadFile(filepath.Join(operator, "config/manager/default-monitoring.yaml"))
	require.NoError(t, err)
	var configMap struct {
		Data struct {
			Queries string `json:"queries"`
		} `json:"data"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &configMap))
	var queries map[string]struct {
		Name    string                              `json:"name"`
		Metrics []map[string]struct{ Usage string } `json:"metrics"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(configMap.Data.Queries), &queries))
	require.NotEmpty(t, queries, "the default queries in %s", operator)
	for query, q := range queries {
		if q.Name != "" {
			query = q.Name
		}
		labels := append([]string{}, serviceMonitorLabels...)
		for _, column := range q.Metrics {
			for c, m := range column {
				if m.Usage == "LABEL" {
					labels = append(labels, c)
				}
			}
		}
		for _, column := range q.Metrics {
			for c, m := range column {
				if m.Usage == "GAUGE" || m.Usage == "COUNTER" {
					inv.add("cnpg_"+query+"_"+c, "CloudNativePG default-monitoring.yaml", labels...)
				}
			}
		}
	}

	constants, err := os.ReadFile(filepath.Join(plugin, "internal/cnpgi/metadata/constants.go"))
	require.NoError(t, err)
	pluginName := regexp.MustCompile(`PluginName\s*=\s*"([a-z.-]+)"`).FindSubmatch(constants)
	require.NotNil(t, pluginName, "the plugin's name in %s", plugin)
	domain := strings.NewReplacer(".", "_", "-", "_").Replace(string(pluginName[1]))
	metrics, err := os.ReadFile(filepath.Join(plugin, "internal/cnpgi/instance/metrics.go"))
	require.NoError(t, err)
	names := regexp.MustCompile(`buildFqName\("([a-z_]+)"\)`).FindAllSubmatch(metrics, -1)
	require.NotEmpty(t, names, "the plugin's metrics in %s", plugin)
	for _, n := range names {
		inv.add(domain+"_"+string(n[1]), "Barman Cloud plugin internal/cnpgi/instance/metrics.go", serviceMonitorLabels...)
	}
}
