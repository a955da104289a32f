package stack

import (
	"github.com/rhesis-ai/rhesis-deploy/kubeconn"

	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// kedaAPI is the API group version of KEDA's ScaledObject.
const kedaAPI = "keda.sh/v1alpha1"

// ServesAPI tells whether the cluster of a kubeconfig context (empty: the
// current one) serves an API group version.
type ServesAPI func(kubeContext, groupVersion string) (bool, error)

// ClusterServesAPI asks the cluster's discovery endpoint, with the
// kubeconfig the provider uses.
func ClusterServesAPI(kubeContext, groupVersion string) (bool, error) {
	rest, err := kubeconn.Config(kubeContext)
	if err != nil {
		return false, err
	}
	client, err := discovery.NewDiscoveryClientForConfig(rest)
	if err != nil {
		return false, err
	}
	if _, err := client.ServerResourcesForGroupVersion(groupVersion); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// extraAPIs are the API versions beyond Kubernetes' own the render may use:
// KEDA's, when the worker scales on its queues. A stack that asks for it on
// a cluster without KEDA is refused before anything is created, in both
// modes alike (the chart alone falls back to the HorizontalPodAutoscaler).
func extraAPIs(cfg *config.Stack, merged map[string]any, serves ServesAPI) ([]string, error) {
	if !config.Bool(merged, "worker.keda.enabled") {
		return nil, nil
	}
	ok, err := serves(cfg.Deploy.KubeContext, kedaAPI)
	if err != nil {
		return nil, fmt.Errorf("asking the cluster whether it serves %s (worker.keda.enabled): %w", kedaAPI, err)
	}
	if !ok {
		return nil, config.Problems{{Key: config.Namespace + ":worker.keda.enabled", Value: "true", Reason: fmt.Sprintf(
			"the cluster serves no %s: install KEDA (https://keda.sh) first, or `%s` to scale on CPU and memory",
			kedaAPI, config.SetCommand(cfg.StackName, "worker.keda.enabled", "false", false))}}
	}
	return []string{kedaAPI}, nil
}
