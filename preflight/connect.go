package preflight

import (
	"github.com/rhesis-ai/rhesis-deploy/kubeconn"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/rhesis-ai/rhesis-deploy/stack"
)

// Connect makes the clients of the cluster of a kubeconfig context (empty:
// the current one), with the kubeconfig the provider uses.
func Connect(kubeContext string) (Cluster, error) {
	rest, err := kubeconn.Config(kubeContext)
	if err != nil {
		return Cluster{}, err
	}
	kube, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return Cluster{}, err
	}
	dyn, err := dynamic.NewForConfig(rest)
	if err != nil {
		return Cluster{}, err
	}
	return Cluster{Kube: kube, Dynamic: dyn}, nil
}

// PlanOf is what a resolved stack would deploy.
func PlanOf(r *stack.Resolved) Plan {
	return Plan{Namespace: r.Config.Deploy.Namespace, CreateNamespace: r.Config.Deploy.CreateNamespace, Objects: r.Rendered.Objects}
}
