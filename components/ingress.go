package components

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// IngressName is the name of the stack's Ingress.
const IngressName = "rhesis"

// ClusterIssuerAnnotation asks cert-manager for the certificate.
const ClusterIssuerAnnotation = "cert-manager.io/cluster-issuer"

// IngressAnnotations are the Ingress's annotations: the configured ones, the
// cert-manager issuer, and no Pulumi await (a load balancer address is
// published by some controllers only; the Deployments prove readiness).
func IngressAnnotations(in config.Ingress) map[string]string {
	a := map[string]string{}
	if in.ClassName == "nginx" {
		// ingress-nginx allows 1m bodies and 60 s reads by default; the app
		// takes 10 MiB uploads and the frontend waits 300 s for long operations
		// (see the app contract). Configured annotations win.
		a["nginx.ingress.kubernetes.io/proxy-body-size"] = "10m"
		a["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "300"
		a["nginx.ingress.kubernetes.io/proxy-send-timeout"] = "300"
	}
	for k, v := range in.Annotations {
		a[k] = v
	}
	a[ServiceSkipAwait] = "true"
	if in.ClusterIssuer != "" {
		a[ClusterIssuerAnnotation] = in.ClusterIssuer
	}
	return a
}

// NewIngress publishes the frontend at / of the host and the backend API on
// its own host or under a path of the frontend's host.
func NewIngress(ctx *pulumi.Context, parent pulumi.Resource, namespace pulumi.StringInput, in config.Ingress) (*networkingv1.Ingress, error) {
	path := func(p, service string, port int) networkingv1.HTTPIngressPathArgs {
		return networkingv1.HTTPIngressPathArgs{
			Path: pulumi.String(p), PathType: pulumi.String("Prefix"),
			Backend: networkingv1.IngressBackendArgs{Service: networkingv1.IngressServiceBackendArgs{
				Name: pulumi.String(service), Port: networkingv1.ServiceBackendPortArgs{Number: pulumi.Int(port)},
			}},
		}
	}
	frontendPaths := networkingv1.HTTPIngressPathArray{}
	if in.APIPath != "" {
		frontendPaths = append(frontendPaths, path(in.APIPath, config.BackendName, BackendPort))
	}
	frontendPaths = append(frontendPaths, path("/", config.FrontendName, FrontendPort))
	rules := networkingv1.IngressRuleArray{networkingv1.IngressRuleArgs{
		Host: pulumi.String(in.Host), Http: networkingv1.HTTPIngressRuleValueArgs{Paths: frontendPaths},
	}}
	hosts := []string{in.Host}
	if in.APIHost != "" {
		rules = append(rules, networkingv1.IngressRuleArgs{
			Host: pulumi.String(in.APIHost),
			Http: networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{path("/", config.BackendName, BackendPort)}},
		})
		hosts = append(hosts, in.APIHost)
	}
	spec := networkingv1.IngressSpecArgs{IngressClassName: pulumi.String(in.ClassName), Rules: rules}
	if in.TLS() {
		spec.Tls = networkingv1.IngressTLSArray{networkingv1.IngressTLSArgs{
			Hosts: pulumi.ToStringArray(hosts), SecretName: pulumi.String(in.TLSSecretName()),
		}}
	}
	return networkingv1.NewIngress(ctx, IngressName, &networkingv1.IngressArgs{
		Metadata: metav1.ObjectMetaArgs{
			Name: pulumi.String(IngressName), Namespace: namespace,
			Labels:      pulumi.ToStringMap(Labels(PartOf, "ingress")),
			Annotations: pulumi.ToStringMap(IngressAnnotations(in)),
		},
		Spec: spec,
	}, pulumi.Parent(parent))
}
