// Package kubeconn reaches the cluster of a kubeconfig context as the
// Kubernetes provider does: one place for how every client is configured.
package kubeconn

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config is the client configuration of a kubeconfig context (empty: the
// current one), from $KUBECONFIG or ~/.kube/config.
func Config(kubeContext string) (*rest.Config, error) {
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
}
