package stack

import (
	"encoding/base64"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/components"
)

// digestPlaceholder stands for a built image's digest while the chart
// renders: the digest is known only after the build (never in a preview),
// so the rendered string becomes an output of it.
func digestPlaceholder(image string) string { return "sha256:rhesis-digest-of-" + image }

// minSecretInText is the length from which a secret value is looked for
// inside longer strings.
const minSecretInText = 6

// substitutions turn rendered objects into resource inputs.
type substitutions struct {
	// digests by placeholder.
	digests map[string]pulumi.StringOutput
	// secrets are every value of the rendered Secrets, longest first.
	secrets []string
}

func newSubstitutions(digests imageDigests) substitutions {
	s := substitutions{digests: map[string]pulumi.StringOutput{}}
	for name, d := range digests {
		s.digests[digestPlaceholder(name)] = d
	}
	return s
}

// withSecretsOf adds every value of the rendered Secrets to what is held
// secret wherever else it appears.
func (s substitutions) withSecretsOf(r *charts.Rendered) substitutions {
	for _, o := range r.Objects {
		if o.Kind() != "Secret" {
			continue
		}
		for _, field := range []string{"stringData", "data"} {
			data, _ := o.Object[field].(map[string]any)
			for _, v := range data {
				value, _ := v.(string)
				if field == "data" {
					b, _ := base64.StdEncoding.DecodeString(value)
					value = string(b)
				}
				if value != "" {
					s.secrets = append(s.secrets, value)
				}
			}
		}
	}
	sort.Slice(s.secrets, func(i, j int) bool { return len(s.secrets[i]) > len(s.secrets[j]) })
	return s
}

// object is the inputs of one rendered object, in the stack's namespace
// (an output, so every object waits for it).
func (s substitutions) object(o charts.Object, namespace pulumi.StringOutput) pulumi.Map {
	in := s.value(o.Object).(pulumi.Map)
	meta := in["metadata"].(pulumi.Map)
	if _, ok := meta["namespace"]; ok {
		meta["namespace"] = namespace
	}
	annotations, _ := meta["annotations"].(pulumi.Map)
	if annotations == nil {
		annotations = pulumi.Map{}
	}
	// The program owns every field it sets.
	annotations[components.PatchForce] = pulumi.String("true")
	if skipAwait(o) {
		annotations["pulumi.com/skipAwait"] = pulumi.String("true")
	}
	meta["annotations"] = annotations
	for _, field := range secretFields[o.Kind()] {
		if v, ok := in[field]; ok {
			in[field] = pulumi.ToSecret(v)
		}
	}
	return in
}

func (s substitutions) value(v any) pulumi.Input {
	switch x := v.(type) {
	case map[string]any:
		m := pulumi.Map{}
		for k, e := range x {
			if e != nil {
				m[k] = s.value(e)
			}
		}
		return m
	case []any:
		a := pulumi.Array{}
		for _, e := range x {
			a = append(a, s.value(e))
		}
		return a
	case string:
		return s.text(x)
	case bool:
		return pulumi.Bool(x)
	case float64:
		return pulumi.Float64(x)
	case int64:
		return pulumi.Int(int(x))
	case int:
		return pulumi.Int(x)
	}
	return pulumi.Any(v)
}

// text is a rendered string: an output when it carries a digest, a secret
// when it carries a secret value (a password inside a URL, say).
func (s substitutions) text(v string) pulumi.Input {
	for placeholder, digest := range s.digests {
		if strings.Contains(v, placeholder) {
			return digest.ApplyT(func(d string) string { return strings.ReplaceAll(v, placeholder, d) }).(pulumi.StringOutput)
		}
	}
	for _, secret := range s.secrets {
		// A short value is matched whole: "1" inside every number is no leak.
		if v == secret || len(secret) >= minSecretInText && strings.Contains(v, secret) {
			return pulumi.ToSecret(pulumi.String(v))
		}
	}
	return pulumi.String(v)
}
