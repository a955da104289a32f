package components

import (
	"sort"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Env is one container environment variable: a literal, or a key of the
// shared Secret or ConfigMap. Secret values never appear as literals.
type Env struct {
	Name         string
	Value        string
	SecretKey    string
	ConfigMapKey string
}

// Literal is a plain, non-secret value.
func Literal(name, value string) Env { return Env{Name: name, Value: value} }

// FromSecret reads key of the shared Secret.
func FromSecret(name, key string) Env { return Env{Name: name, SecretKey: key} }

// FromConfigMap reads key of the shared ConfigMap.
func FromConfigMap(name, key string) Env { return Env{Name: name, ConfigMapKey: key} }

// LiteralsSorted turns a map into literals in a stable order, so previews do not
// show spurious reorderings.
func LiteralsSorted(m map[string]string) []Env {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]Env, 0, len(names))
	for _, k := range names {
		out = append(out, Literal(k, m[k]))
	}
	return out
}

func (e Env) args() corev1.EnvVarInput {
	switch {
	case e.SecretKey != "":
		return corev1.EnvVarArgs{Name: pulumi.String(e.Name), ValueFrom: corev1.EnvVarSourceArgs{
			SecretKeyRef: corev1.SecretKeySelectorArgs{Name: pulumi.String(SecretName), Key: pulumi.String(e.SecretKey)},
		}}
	case e.ConfigMapKey != "":
		return corev1.EnvVarArgs{Name: pulumi.String(e.Name), ValueFrom: corev1.EnvVarSourceArgs{
			ConfigMapKeyRef: corev1.ConfigMapKeySelectorArgs{Name: pulumi.String(ConfigMapName), Key: pulumi.String(e.ConfigMapKey)},
		}}
	default:
		return corev1.EnvVarArgs{Name: pulumi.String(e.Name), Value: pulumi.String(e.Value)}
	}
}
