// Package components holds one Pulumi component resource per Rhesis service,
// the platform objects they share, and the one building block (Deployment +
// Service + probes + security context + resources) all five workloads use.
package components

// PartOf is the app.kubernetes.io/part-of value, and the instance name
// (the seed's Helm release name) of every object.
const PartOf = "rhesis"

// ManagedBy is the app.kubernetes.io/managed-by value of raw mode.
const ManagedBy = "pulumi"

// Names of the shared objects the applications read.
const (
	ConfigMapName = "rhesis-config"
	SecretName    = "rhesis-secrets"
)

// SelectorLabels select one component's pods; they never change after creation
// (a Deployment's selector is immutable), so they carry no version.
func SelectorLabels(component string) map[string]string {
	return map[string]string{
		"app":                        component,
		"app.kubernetes.io/name":     component,
		"app.kubernetes.io/instance": PartOf,
	}
}

// Labels are the labels of every object of one component: the seed's app=<name>
// plus the standard app.kubernetes.io set. role is app.kubernetes.io/component.
func Labels(component, role string) map[string]string {
	l := SelectorLabels(component)
	l["app.kubernetes.io/component"] = role
	l["app.kubernetes.io/part-of"] = PartOf
	l["app.kubernetes.io/managed-by"] = ManagedBy
	return l
}
