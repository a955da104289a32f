package preflight

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// installHints say what provides an API group the chart may use.
var installHints = map[string]string{
	"monitoring.coreos.com":     "install the Prometheus Operator's CRDs (kube-prometheus-stack), or turn off the monitoring values that render them",
	"grafana.integreatly.org":   "install the Grafana Operator, or turn off the dashboards (monitoring.dashboards)",
	"keda.sh":                   "install KEDA (https://keda.sh), or set worker.keda.enabled=false",
	"external-secrets.io":       "install External Secrets Operator, or take the Secrets from secrets.existingSecret",
	"cert-manager.io":           "install cert-manager (https://cert-manager.io)",
	"gateway.networking.k8s.io": "install the Gateway API's standard CRDs and a Gateway controller, or use ingress instead of gateway",
	"postgresql.cnpg.io":        "install the CloudNativePG operator (docs/cloudnativepg.md), or set database.postgresql.cloudnativepg.enabled=false",
	"barmancloud.cnpg.io":       "install CloudNativePG's Barman Cloud plugin, or set database.postgresql.cloudnativepg.backups.enabled=false (no WAL archive, no point-in-time recovery)",
}

// servedAPIs: the cluster serves each apiVersion and kind the render uses.
// This is the Kubernetes version check: an API a release does not serve
// (or no longer serves) is named, with what to upgrade or install.
func servedAPIs(_ context.Context, c Cluster, p Plan) ([]Finding, error) {
	kinds := map[schema.GroupVersion][]string{}
	for _, o := range p.Objects {
		gv, err := schema.ParseGroupVersion(o.APIVersion())
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.Kind(), o.Name(), err)
		}
		if !slices.Contains(kinds[gv], o.Kind()) {
			kinds[gv] = append(kinds[gv], o.Kind())
		}
	}
	version := "unknown"
	if v, err := c.Kube.Discovery().ServerVersion(); err == nil {
		version = v.GitVersion
	}
	var out []Finding
	missing := 0
	for _, gv := range sortedGroupVersions(kinds) {
		served := map[string]bool{}
		list, err := c.Kube.Discovery().ServerResourcesForGroupVersion(gv.String())
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("asking the cluster for %s: %w", gv, err)
		default:
			for _, r := range list.APIResources {
				served[r.Kind] = true
			}
		}
		for _, kind := range kinds[gv] {
			if served[kind] {
				continue
			}
			missing++
			fix := installHints[gv.Group]
			if fix == "" {
				fix = fmt.Sprintf("Kubernetes %s does not serve it: upgrade the cluster to a release that serves %s", version, gv)
			}
			out = append(out, blocker("API "+gv.String()+" "+kind, "the cluster serves no "+kind+" in "+gv.String()+", which the render uses", fix))
		}
	}
	if missing == 0 {
		out = append(out, ok("APIs", fmt.Sprintf("Kubernetes %s serves every API the render uses (%d)", version, countKinds(kinds))))
	}
	return out, nil
}

func sortedGroupVersions(m map[schema.GroupVersion][]string) []schema.GroupVersion {
	var out []schema.GroupVersion
	for gv := range m {
		out = append(out, gv)
	}
	slices.SortFunc(out, func(a, b schema.GroupVersion) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func countKinds(m map[schema.GroupVersion][]string) int {
	n := 0
	for _, k := range m {
		n += len(k)
	}
	return n
}
