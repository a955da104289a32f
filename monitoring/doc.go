// Package monitoring proves the chart's monitoring with Prometheus's own
// tools: promtool checks and tests the rendered rules, and every metric and
// label a rule uses is looked up in a real scrape of the exporters the chart
// pins or in the published metric lists of kube-state-metrics, the kubelet
// and cert-manager. It is a module of its own because Prometheus's libraries
// need newer Kubernetes modules than Helm's in the main module.
package monitoring
