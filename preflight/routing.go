package preflight

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// defaultIngressClassAnnotation marks the IngressClass an Ingress without one gets.
const defaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"

var (
	gatewaysResource      = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	clusterIssuerResource = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "clusterissuers"}
	issuerResource        = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "issuers"}
)

// routing: each Ingress has its IngressClass (or a default one), and each
// HTTPRoute's parent Gateway exists, is accepted by its controller, and
// admits routes from the stack's namespace.
func routing(ctx context.Context, c Cluster, p Plan) ([]Finding, error) {
	var out []Finding
	ingresses := ofKind(p, "Ingress")
	if len(ingresses) > 0 {
		list, err := c.Kube.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing IngressClasses: %w", err)
		}
		var names, defaults []string
		for _, ic := range list.Items {
			names = append(names, ic.Name)
			if ic.Annotations[defaultIngressClassAnnotation] == "true" {
				defaults = append(defaults, ic.Name)
			}
		}
		for _, in := range ingresses {
			check := "Ingress " + in.Name()
			switch class := str(in, "spec", "ingressClassName"); {
			// A warning, not a blocker: the API server takes the Ingress and
			// the apply converges; the class comes with its controller, which
			// is often installed alongside (the same pipeline, an Argo CD app).
			case class == "" && len(defaults) == 0:
				out = append(out, warning(check, "names no IngressClass and the cluster has no default one, so no controller serves it yet",
					"set ingress.className to one of: "+orNone(names)))
			case class == "":
				out = append(out, ok(check, "the default IngressClass "+defaults[0]))
			case !slices.Contains(names, class):
				out = append(out, warning(check, "asks for the IngressClass "+class+", which the cluster does not have yet, so no controller serves it",
					"set ingress.className to one of: "+orNone(names)+", or install the controller of "+class))
			default:
				out = append(out, ok(check, "IngressClass "+class))
			}
		}
	}
	for _, route := range ofKind(p, "HTTPRoute") {
		parents, _ := route.Field("spec", "parentRefs").([]any)
		for _, ref := range parents {
			f, err := gatewayFinding(ctx, c, p, route.Name(), ref)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// gatewayFinding checks one parentRef of an HTTPRoute.
func gatewayFinding(ctx context.Context, c Cluster, p Plan, route string, ref any) (Finding, error) {
	r, _ := ref.(map[string]any)
	name, _ := r["name"].(string)
	ns, _ := r["namespace"].(string)
	if ns == "" {
		ns = p.Namespace
	}
	check := fmt.Sprintf("HTTPRoute %s: Gateway %s/%s", route, ns, name)
	gw, err := c.Dynamic.Resource(gatewaysResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return blocker(check, "does not exist", "create the Gateway, or set gateway.parentRefs to one that exists"), nil
	case err != nil:
		return Finding{}, fmt.Errorf("reading Gateway %s/%s: %w", ns, name, err)
	}
	if !conditionTrue(gw, "Accepted") {
		return blocker(check, "is not Accepted by a Gateway controller", "check its gatewayClassName and `kubectl describe gateway -n "+ns+" "+name+"`"), nil
	}
	if !admitsNamespace(ctx, c, gw, p.Namespace) {
		return blocker(check, "admits no routes from namespace "+p.Namespace+" on any listener",
			"set allowedRoutes.namespaces on one of its listeners to All, or to a selector of "+p.Namespace), nil
	}
	return ok(check, "Accepted, and admits routes from "+p.Namespace), nil
}

// conditionTrue tells whether an object's status has condition kind True.
func conditionTrue(o *unstructured.Unstructured, kind string) bool {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == kind {
			return m["status"] == "True"
		}
	}
	return false
}

// admitsNamespace: a listener of the Gateway admits routes from ns
// (allowedRoutes.namespaces.from: Same, the default, All, or Selector).
func admitsNamespace(ctx context.Context, c Cluster, gw *unstructured.Unstructured, ns string) bool {
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	for _, l := range listeners {
		lm, _ := l.(map[string]any)
		from, _, _ := unstructured.NestedString(lm, "allowedRoutes", "namespaces", "from")
		switch from {
		case "All":
			return true
		case "", "Same":
			if gw.GetNamespace() == ns {
				return true
			}
		case "Selector":
			sel, found, _ := unstructured.NestedMap(lm, "allowedRoutes", "namespaces", "selector")
			if !found {
				continue
			}
			var ls metav1.LabelSelector
			if err := fromUnstructured(sel, &ls); err != nil {
				continue
			}
			selector, err := metav1.LabelSelectorAsSelector(&ls)
			if err != nil {
				continue
			}
			list, err := c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
			if err == nil && slices.ContainsFunc(list.Items, func(n corev1.Namespace) bool { return n.Name == ns }) {
				return true
			}
		}
	}
	return false
}

// issuers: the cert-manager issuer an Ingress asks for exists and is Ready.
func issuers(ctx context.Context, c Cluster, p Plan) ([]Finding, error) {
	var out []Finding
	for _, in := range ofKind(p, "Ingress") {
		for _, a := range []struct {
			annotation string
			resource   schema.GroupVersionResource
			namespace  string
			kind       string
		}{
			{"cert-manager.io/cluster-issuer", clusterIssuerResource, "", "ClusterIssuer"},
			{"cert-manager.io/issuer", issuerResource, p.Namespace, "Issuer"},
		} {
			name := in.Annotation(a.annotation)
			if name == "" {
				continue
			}
			check := fmt.Sprintf("Ingress %s: cert-manager %s %s", in.Name(), a.kind, name)
			issuer, err := c.Dynamic.Resource(a.resource).Namespace(a.namespace).Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				out = append(out, blocker(check, "does not exist (or cert-manager is not installed), so the certificate is never issued",
					"create the "+a.kind+", or set ingress.clusterIssuer to one that exists"))
			case err != nil:
				return nil, fmt.Errorf("reading %s %s: %w", a.kind, name, err)
			case !conditionTrue(issuer, "Ready"):
				out = append(out, warning(check, "exists but is not Ready", "`kubectl describe "+a.kind+" "+name+"`"))
			default:
				out = append(out, ok(check, "Ready"))
			}
		}
	}
	return out, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "(the cluster has none: install an ingress controller)"
	}
	return joinSorted(names)
}
