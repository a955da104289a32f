package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MovedKeys are the top-level keys of earlier versions that now live
// elsewhere: the chart's own path, or rhesis:deploy for what only Pulumi
// has. Keys not listed kept their path (rhesis:backend, rhesis:ingress).
var MovedKeys = map[string]string{
	"namespace":       "deploy.namespace",
	"createNamespace": "deploy.createNamespace",
	"kubeContext":     "deploy.kubeContext",
	"logLevel":        "global.logLevel",
	"frontendUrl":     "global.frontendUrl",
	"apiBaseUrl":      "global.apiBaseUrl",
	"scheduling":      "global.spreadAcrossNodes",
	"images":          "deploy.images and global.image*",
	"migrate":         "migrations.image",
	"postgres":        "database.postgresql, database.enabled and database.external",
	"extraSecrets":    "secrets.extra",
	"secretKeyRefs":   "secrets.secretKeyRefs",
	"externalSecret":  "secrets.externalSecret",
}

// movedSecrets are the secrets earlier versions kept at the top level.
var movedSecrets = []string{"sessionSecretKey", "jwtSecretKey", "nextauthSecret", "dbEncryptionKey",
	"dbPassword", "dbAppPassword", "redisPassword", "auditHashKey"}

func init() {
	for _, s := range movedSecrets {
		MovedKeys[s] = "secrets." + s
	}
}

// movedPrefixes map an old path (or its start) to the new one, longest
// first where they overlap.
var movedPrefixes = [][2]string{
	{"scheduling.spreadAcrossNodes", "global.spreadAcrossNodes"},
	{"images.build", "deploy.images.build"},
	{"images.context", "deploy.images.context"},
	{"images.registry", "deploy.images.registry"},
	{"images.push", "deploy.images.push"},
	{"images.platform", "deploy.images.platform"},
	{"images.tag", "global.imageTag"},
	{"images.registryUsername", "global.imageCredentials.username"},
	{"images.registryPassword", "secrets.registryPassword"},
	{"images.pullSecrets", "global.imagePullSecrets"},
	{"migrate.image", "migrations.image"},
	{"postgres.enabled", "database.enabled"},
	{"postgres.external", "database.external"},
	{"postgres", "database.postgresql"},
	{"extraSecrets", "secrets.extra"},
	{"secretKeyRefs", "secrets.secretKeyRefs"},
	{"externalSecret", "secrets.externalSecret"},
	{"namespace", "deploy.namespace"},
	{"createNamespace", "deploy.createNamespace"},
	{"kubeContext", "deploy.kubeContext"},
	{"logLevel", "global.logLevel"},
	{"frontendUrl", "global.frontendUrl"},
	{"apiBaseUrl", "global.apiBaseUrl"},
}

func isMovedPrefix(top string) bool {
	return slices.ContainsFunc(movedPrefixes, func(p [2]string) bool { return strings.HasPrefix(p[0], top+".") })
}

// NewPath is where a key of an earlier version lives now (itself when it did not move).
func NewPath(old string) string {
	for _, s := range movedSecrets {
		if old == s {
			return "secrets." + s
		}
	}
	for _, p := range movedPrefixes {
		if old == p[0] || strings.HasPrefix(old, p[0]+".") || strings.HasPrefix(old, p[0]+"[") {
			return p[1] + strings.TrimPrefix(old, p[0])
		}
	}
	return old
}

// ConfigValue is one config value as the CLI hands it: text, and whether
// it is stored encrypted.
type ConfigValue struct {
	Value  string
	Secret bool
}

// listValued are old settings written as comma-separated text or JSON
// text that are lists now.
var listValued = map[string]bool{"images.pullSecrets": true, "networkPolicies.egressPorts": true}

// Migration is what migrate-config does to a stack's config: the values to
// set (by path, `--path`) and the old keys to remove afterwards.
type Migration struct {
	Set    map[string]ConfigValue
	Remove []string
}

// Migrate moves every key of earlier versions (flat keys such as
// rhesis:backend.replicas, and keys that moved, such as rhesis:dbPassword)
// to the chart's path or rhesis:deploy, keeping each value and whether it
// is encrypted. Keys already where they belong are left alone.
func Migrate(all map[string]ConfigValue) Migration {
	m := Migration{Set: map[string]ConfigValue{}}
	registry, username := "", ""
	for _, full := range slices.Sorted(maps.Keys(all)) {
		top, ok := strings.CutPrefix(full, Namespace+":")
		if !ok || top == EnvironmentKey || top == DeployKey {
			continue
		}
		base, _, flat := strings.Cut(top, ".")
		v := all[full]
		leaves := oldLeaves(top, v.Value)
		if !flat && MovedKeys[base] == "" && !slices.ContainsFunc(leaves, oldLeaf.wasText) {
			continue
		}
		m.Remove = append(m.Remove, full)
		for _, leaf := range leaves {
			if leaf.path == "images.registry" {
				registry = leaf.value
			}
			if leaf.path == "images.registryUsername" {
				username = leaf.value
			}
			to := NewPath(leaf.path)
			m.Set[Namespace+":"+to] = ConfigValue{Value: leaf.value, Secret: v.Secret}
		}
	}
	if username != "" && registry != "" {
		host, _, _ := strings.Cut(registry, "/")
		m.Set[Namespace+":global.imageCredentials.registry"] = ConfigValue{Value: host}
	}
	// Prebuilt images of a registry of one's own were named under it.
	if registry != "" && all[Namespace+":images.build"].Value != "true" && !strings.Contains(fmt.Sprint(all[Namespace+":images"].Value), `"build":true`) {
		for _, c := range []string{FrontendName, BackendName, WorkerName} {
			key := Namespace + ":" + c + ".image.repository"
			if _, set := m.Set[key]; !set && !hasLeaf(all, c, "image.repository") {
				m.Set[key] = ConfigValue{Value: registry + "/" + c}
			}
		}
	}
	return m
}

// hasLeaf tells whether the object rhesis:top sets path.
func hasLeaf(all map[string]ConfigValue, top, path string) bool {
	var obj map[string]any
	if json.Unmarshal([]byte(all[Namespace+":"+top].Value), &obj) != nil {
		return false
	}
	return lookupPath(obj, path) != nil
}

type oldLeaf struct {
	path, value string
	// fromText: a list the old version kept as text.
	fromText bool
}

func (l oldLeaf) wasText() bool { return l.fromText }

// oldLeaves are the leaf settings under an old key: an object's entries,
// each list element by index, a list written as text split into its items.
func oldLeaves(path, raw string) []oldLeaf {
	var v any
	if json.Unmarshal([]byte(raw), &v) != nil {
		v = raw
	}
	return leavesOf(path, v, false)
}

// textList is a list the old version kept as text at path: comma-separated
// names and ports, or Role rules as JSON.
func textList(path, s string) ([]any, bool) {
	switch {
	case listValued[path]:
		var items []any
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		return items, true
	case strings.HasSuffix(path, "serviceAccount.rules"):
		var rules []any
		return rules, json.Unmarshal([]byte(s), &rules) == nil
	}
	return nil, false
}

func leavesOf(path string, v any, fromText bool) []oldLeaf {
	switch t := v.(type) {
	case map[string]any:
		var out []oldLeaf
		for _, k := range slices.Sorted(maps.Keys(t)) {
			out = append(out, leavesOf(path+"."+k, t[k], fromText)...)
		}
		return out
	case []any:
		var out []oldLeaf
		for i, e := range t {
			out = append(out, leavesOf(fmt.Sprintf("%s[%d]", path, i), e, fromText)...)
		}
		return out
	case string:
		if list, ok := textList(path, t); ok {
			return leavesOf(path, list, true)
		}
		return []oldLeaf{{path, t, fromText}}
	default:
		return []oldLeaf{{path, fmt.Sprint(t), fromText}}
	}
}
