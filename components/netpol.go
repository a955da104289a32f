package components

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PolicyPeer is one side of allowed traffic: pods of a component of this
// stack, every pod of a namespace, the cluster DNS, or an address block.
type PolicyPeer struct {
	App       string
	Namespace string
	DNS       bool
	CIDR      string
	Except    []string
}

// PolicyPort is a port and protocol (TCP when empty).
type PolicyPort struct {
	Port     int
	Protocol string
}

// PolicyRule allows traffic with Peers on Ports.
type PolicyRule struct {
	Peers []PolicyPeer
	Ports []PolicyPort
}

// PolicySpec is one NetworkPolicy: for the pods of App (every pod when
// empty), the traffic of Types it governs and the rules that allow some.
type PolicySpec struct {
	Name    string
	App     string
	Types   []string
	Ingress []PolicyRule
	Egress  []PolicyRule
}

// NetworkPoliciesArgs are the policies of the stack.
type NetworkPoliciesArgs struct {
	Namespace pulumi.StringInput
	Specs     []PolicySpec
}

// NetworkPolicies is the namespace's traffic rules.
type NetworkPolicies struct {
	pulumi.ResourceState
}

// NewNetworkPolicies registers one NetworkPolicy per spec.
func NewNetworkPolicies(ctx *pulumi.Context, name string, args NetworkPoliciesArgs, opts ...pulumi.ResourceOption) (*NetworkPolicies, error) {
	c := &NetworkPolicies{}
	if err := ctx.RegisterComponentResource(TypePrefix+"NetworkPolicies", name, c, opts...); err != nil {
		return nil, err
	}
	for _, p := range args.Specs {
		selector := metav1.LabelSelectorArgs{} // every pod
		if p.App != "" {
			selector.MatchLabels = pulumi.ToStringMap(SelectorLabels(p.App))
		}
		_, err := networkingv1.NewNetworkPolicy(ctx, p.Name, &networkingv1.NetworkPolicyArgs{
			Metadata: metav1.ObjectMetaArgs{
				Name: pulumi.String(p.Name), Namespace: args.Namespace,
				Labels: pulumi.ToStringMap(Labels(PartOf, "network-policy")),
			},
			Spec: networkingv1.NetworkPolicySpecArgs{
				PodSelector: selector,
				PolicyTypes: pulumi.ToStringArray(p.Types),
				Ingress:     ingressRules(p.Ingress),
				Egress:      egressRules(p.Egress),
			},
		}, pulumi.Parent(c))
		if err != nil {
			return nil, err
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{})
}

func ingressRules(rules []PolicyRule) networkingv1.NetworkPolicyIngressRuleArray {
	var out networkingv1.NetworkPolicyIngressRuleArray
	for _, r := range rules {
		out = append(out, networkingv1.NetworkPolicyIngressRuleArgs{From: peers(r.Peers), Ports: ports(r.Ports)})
	}
	return out
}

func egressRules(rules []PolicyRule) networkingv1.NetworkPolicyEgressRuleArray {
	var out networkingv1.NetworkPolicyEgressRuleArray
	for _, r := range rules {
		out = append(out, networkingv1.NetworkPolicyEgressRuleArgs{To: peers(r.Peers), Ports: ports(r.Ports)})
	}
	return out
}

func peers(ps []PolicyPeer) networkingv1.NetworkPolicyPeerArray {
	var out networkingv1.NetworkPolicyPeerArray
	for _, p := range ps {
		switch {
		case p.App != "":
			out = append(out, networkingv1.NetworkPolicyPeerArgs{
				PodSelector: metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(SelectorLabels(p.App))},
			})
		case p.Namespace != "":
			out = append(out, networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(p.Namespace)}},
			})
		case p.DNS:
			out = append(out, networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: metav1.LabelSelectorArgs{}, // every namespace
				PodSelector:       metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"k8s-app": pulumi.String("kube-dns")}},
			})
		default:
			block := networkingv1.IPBlockArgs{Cidr: pulumi.String(p.CIDR)}
			if len(p.Except) > 0 {
				block.Except = pulumi.ToStringArray(p.Except)
			}
			out = append(out, networkingv1.NetworkPolicyPeerArgs{IpBlock: block})
		}
	}
	return out
}

func ports(ps []PolicyPort) networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, p := range ps {
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		out = append(out, networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(p.Port), Protocol: pulumi.String(proto)})
	}
	return out
}
