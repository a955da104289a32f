package preflight

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rhesis-ai/rhesis-deploy/components"
)

// namespace: a namespace the stack does not create exists and enforces
// Pod Security restricted, as the program requires; one it creates may
// exist already (an earlier run of the stack).
func namespace(ctx context.Context, c Cluster, p Plan) ([]Finding, error) {
	check := "namespace " + p.Namespace
	ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, p.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && p.CreateNamespace:
		return []Finding{ok(check, "does not exist yet; the stack creates it with Pod Security "+components.PodSecurityLevel)}, nil
	case apierrors.IsNotFound(err):
		return []Finding{blocker(check, "does not exist, and deploy.createNamespace is false",
			fmt.Sprintf("create it (`kubectl create namespace %s`, labelled %s=%s), or let the stack create it (deploy.createNamespace true)",
				p.Namespace, components.EnforceLabel, components.PodSecurityLevel))}, nil
	case err != nil:
		return nil, fmt.Errorf("reading namespace %s: %w", p.Namespace, err)
	}
	level := ns.Labels[components.EnforceLabel]
	if !p.CreateNamespace && level != components.PodSecurityLevel {
		return []Finding{blocker(check, fmt.Sprintf("enforces Pod Security %q, not %q, and the stack does not own it", level, components.PodSecurityLevel),
			fmt.Sprintf("`kubectl label namespace %s %s=%s`", p.Namespace, components.EnforceLabel, components.PodSecurityLevel))}, nil
	}
	if level == "" {
		level = "none"
	}
	return []Finding{ok(check, "exists, Pod Security enforce level "+level)}, nil
}
