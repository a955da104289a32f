package config

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// The keys that take secrets from where they live instead of the stack's
// encrypted config: Secrets of the cluster, or an External Secrets Operator
// store. Both are keyed by the RequiredSecrets' keys (dbPassword, ...).
const (
	SecretKeyRefsKey  = "secretKeyRefs"
	ExternalSecretKey = "externalSecret"
)

// Store kinds an ExternalSecret can read from.
var secretStoreKinds = []string{"SecretStore", "ClusterSecretStore"}

func secretSourceKeys() []Key {
	return []Key{
		{Name: SecretKeyRefsKey, Kind: KindObject, Default: map[string]any{}, Description: "Secrets read from Secrets of the cluster " +
			"instead of this stack's config, as a map of secret key to {name, key}, e.g. {dbPassword: {name: rhesis-db, key: password}}; " +
			"the keys are those of the required secrets (sessionSecretKey, ..., auditHashKey). With redisPassword here the pods compose " +
			"the broker URLs from it, so it must be URL-safe (openssl rand -hex 32 is)."},
		{Name: ExternalSecretKey + ".enabled", Kind: KindBoolean, Default: false, Description: "Fill the Secret rhesis-secrets " +
			"with an ExternalSecret (External Secrets Operator, external-secrets.io/v1) from externalSecret.secretStoreRef, " +
			"instead of this stack's config."},
		{Name: ExternalSecretKey + ".secretStoreRef.name", Kind: KindString, Default: "",
			Description: "The SecretStore or ClusterSecretStore the ExternalSecret reads."},
		{Name: ExternalSecretKey + ".secretStoreRef.kind", Kind: KindString, Default: "ClusterSecretStore",
			Description: "SecretStore (in the namespace) or ClusterSecretStore."},
		{Name: ExternalSecretKey + ".refreshInterval", Kind: KindString, Default: "1h",
			Description: "How often the operator reads the store again (a Go duration)."},
		{Name: ExternalSecretKey + ".data", Kind: KindObject, Default: map[string]any{}, Description: "Where the store holds each " +
			"required secret, as a map of secret key to {key, property, version}, e.g. {dbPassword: {key: rhesis/prod, property: db-password}}."},
	}
}

// secretSources reads secretKeyRefs and externalSecret.
func (b *binder) secretSources() (map[string]charts.SecretKeyRef, charts.ExternalSecret) {
	refs := map[string]charts.SecretKeyRef{}
	decodeKube(b, SecretKeyRefsKey, &refs)
	for _, k := range sortedKeys(refs) {
		b.secretSourceKey(SecretKeyRefsKey, k)
		r := refs[k]
		for _, msg := range validation.IsDNS1123Subdomain(r.Name) {
			b.problem(SecretKeyRefsKey+"."+k+".name", r.Name, "is not a Secret name: "+msg)
		}
		for _, msg := range validation.IsConfigMapKey(r.Key) {
			b.problem(SecretKeyRefsKey+"."+k+".key", r.Key, "is not a key of a Secret: "+msg)
		}
	}
	x := charts.ExternalSecret{
		Enabled:         b.boolean(ExternalSecretKey + ".enabled"),
		SecretStoreRef:  charts.SecretStoreRef{Name: b.str(ExternalSecretKey + ".secretStoreRef.name"), Kind: b.str(ExternalSecretKey + ".secretStoreRef.kind")},
		RefreshInterval: b.str(ExternalSecretKey + ".refreshInterval"),
		Data:            map[string]charts.RemoteRef{},
	}
	decodeKube(b, ExternalSecretKey+".data", &x.Data)
	for _, k := range sortedKeys(x.Data) {
		b.secretSourceKey(ExternalSecretKey+".data", k)
		if x.Data[k].Key == "" {
			b.problem(ExternalSecretKey+".data."+k+".key", "", "is required: the key in the store that holds "+k)
		}
	}
	if !slices.Contains(secretStoreKinds, x.SecretStoreRef.Kind) {
		b.problem(ExternalSecretKey+".secretStoreRef.kind", x.SecretStoreRef.Kind, "must be "+strings.Join(secretStoreKinds, " or "))
	}
	if x.Enabled && x.SecretStoreRef.Name == "" {
		b.problem(ExternalSecretKey+".secretStoreRef.name", "", fmt.Sprintf("is required while externalSecret.enabled is true: the store to read; run: %s",
			SetCommand(b.stack, ExternalSecretKey+".secretStoreRef.name", "<store>", false)))
	}
	return refs, x
}

// secretSourceKey refuses a key that names no required secret.
func (b *binder) secretSourceKey(where, k string) {
	names := make([]string, 0, len(RequiredSecrets))
	for _, s := range RequiredSecrets {
		names = append(names, s.Key)
	}
	if !slices.Contains(names, k) {
		b.problem(where+"."+k, "", "is not a required secret; the keys are "+strings.Join(names, ", "))
	}
}

// elsewhere tells whether a required secret is read from a Secret of the
// cluster or a store rather than from this stack's config.
func (s Secrets) elsewhere(key string) bool {
	if _, ok := s.Refs[key]; ok {
		return true
	}
	_, ok := s.External.Data[key]
	return s.External.Enabled && ok
}

// Held is the value of a required secret (by variable: SESSION_SECRET_KEY)
// for the chart's own Secret: empty when it is read from elsewhere, which
// with the ExternalSecret is every one.
func (s Secrets) Held(envVar string) string {
	for _, spec := range RequiredSecrets {
		if spec.EnvVar == envVar && (s.External.Enabled || s.elsewhere(spec.Key)) {
			return ""
		}
	}
	return s.Required[envVar]
}
