package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
)

// Config is structured: a dotted key such as backend.replicas lives in the
// object rhesis:backend, the form `pulumi config set --path backend.replicas 3`
// writes and a stack file spells as
//
//	rhesis:backend:
//	  replicas: 3
//
// A key without a dot (namespace, dbPassword) is a top-level value of its own.

// splitKey returns the top-level key holding name and the path inside it
// ("" for a top-level value).
func splitKey(name string) (top, path string) {
	top, path, _ = strings.Cut(name, ".")
	return top, path
}

// secretLookingKey is the Pulumi CLI's own test of a key name that may hold
// a secret (pkg/cmd/pulumi/config: keyPattern): for such a key it refuses a
// plain value that looks random, unless --plaintext says it is meant.
var secretLookingKey = regexp.MustCompile("(?i)passwd|pass|password|pwd|secret|token")

// SetCommand is the `pulumi config set` command that sets key to value in
// stack, with --path for a key inside an object and --plaintext for a plain
// value under a name the CLI takes for a secret's (ingress.tlsSecret).
func SetCommand(stack, key, value string, secret bool) string {
	var b strings.Builder
	b.WriteString("pulumi config set")
	switch {
	case secret:
		b.WriteString(" --secret")
	case secretLookingKey.MatchString(key):
		b.WriteString(" --plaintext")
	}
	if stack != "" {
		b.WriteString(" -s " + stack)
	}
	if _, path := splitKey(key); path != "" {
		b.WriteString(" --path")
	}
	b.WriteString(" " + key + " " + value)
	return b.String()
}

// tree is the object under one top-level key, parsed once.
type tree struct {
	value map[string]any
	err   error
}

// object returns the parsed object under top-level key top (nil when unset).
func (b *binder) object(top string) map[string]any {
	if t, ok := b.trees[top]; ok {
		return t.value
	}
	t := tree{}
	if raw, ok := b.src.Get(Namespace + ":" + top); ok && raw != "" {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&t.value); err != nil {
			t.err = err
			b.problems = append(b.problems, Problem{Key: Namespace + ":" + top, Reason: fmt.Sprintf(
				"must be an object of settings (set them with `%s`)", SetCommand("", top+".<key>", "<value>", false))})
		}
	}
	b.trees[top] = t
	return t.value
}

// lookup returns the configured value of a declared key as text: strings as
// they are, numbers and booleans as written, objects and lists as JSON.
func (b *binder) lookup(name string) (string, bool) {
	b.asked[name] = true
	top, path := splitKey(name)
	if path == "" {
		return b.src.Get(Namespace + ":" + name)
	}
	var v any = b.object(top)
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = m[part]; !ok {
			return "", false
		}
	}
	return text(v)
}

func text(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return "", false
		}
		return strings.TrimSpace(buf.String()), true
	}
}

// encrypted tells whether the value holding name is stored encrypted: for a
// key inside an object, whether the object holds encrypted values.
func (b *binder) encrypted(name string) bool {
	top, _ := splitKey(name)
	return b.src.IsSecret(Namespace + ":" + top)
}

// schema is what the declared keys allow: each key, and each object on the
// way to one.
type schema struct {
	leaves  map[string]bool
	objects map[string]bool
	// names are the declared keys; candidates, those and the objects.
	names, candidates []string
}

func newSchema(keys []Key) schema {
	s := schema{leaves: map[string]bool{}, objects: map[string]bool{}}
	for _, k := range keys {
		s.leaves[k.Name] = true
		s.names = append(s.names, k.Name)
		parts := strings.Split(k.Name, ".")
		for i := 1; i < len(parts); i++ {
			s.objects[strings.Join(parts[:i], ".")] = true
		}
	}
	sort.Strings(s.names)
	s.candidates = append(sortedKeys(s.objects), s.names...)
	return s
}

// checkKeys refuses every key under rhesis: that the program does not read:
// a typo, or the flat form (rhesis:backend.replicas) of a structured key.
func (b *binder) checkKeys() {
	s := newSchema(Keys())
	for _, full := range b.src.Keys() {
		ns, name, ok := strings.Cut(full, ":")
		if !ok || ns != Namespace {
			continue
		}
		switch {
		case s.objects[name]:
			b.checkObject(s, name, b.object(name))
		case s.leaves[name] && !strings.Contains(name, "."):
		case s.leaves[name]:
			top, _ := splitKey(name)
			b.problems = append(b.problems, Problem{Key: full, Reason: fmt.Sprintf(
				"is the flat form of a key that now lives in the object %s:%s and is not read; move it: "+
					"`pulumi config rm %s` then `%s`, or move every flat key of the stack with `rhesis migrate-config --stack %s`",
				Namespace, top, name, SetCommand("", name, "<value>", b.src.IsSecret(full)), b.stack)})
		default:
			b.unknown(s, name)
		}
	}
}

func (b *binder) checkObject(s schema, prefix string, obj map[string]any) {
	for _, k := range sortedKeys(obj) {
		name := prefix + "." + k
		switch {
		case s.leaves[name]:
		case s.objects[name]:
			if m, ok := obj[k].(map[string]any); ok {
				b.checkObject(s, name, m)
			} else {
				b.problems = append(b.problems, Problem{Key: Namespace + ":" + name,
					Reason: "must be an object with the keys " + strings.Join(s.children(name), ", ")})
			}
		default:
			b.unknown(s, name)
		}
	}
}

// children lists the keys directly inside the object name.
func (s schema) children(name string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range s.names {
		rest, ok := strings.CutPrefix(n, name+".")
		if !ok {
			continue
		}
		child, _, _ := strings.Cut(rest, ".")
		if !seen[child] {
			seen[child] = true
			out = append(out, child)
		}
	}
	return out
}

func (b *binder) unknown(s schema, name string) {
	reason := "is not a setting of this program"
	if near := s.nearest(name); near != "" {
		reason += fmt.Sprintf("; did you mean %s:%s?", Namespace, near)
	} else {
		reason += "; the README's configuration reference lists every key"
	}
	b.problems = append(b.problems, Problem{Key: Namespace + ":" + name, Reason: reason})
}

// nearest is the declared key closest to name, when it is close enough to
// be a typo of it.
func (s schema) nearest(name string) string {
	best, bestDist := "", -1
	for _, n := range s.candidates {
		if d := levenshtein.Distance(strings.ToLower(name), strings.ToLower(n), nil); bestDist < 0 || d < bestDist {
			best, bestDist = n, d
		}
	}
	if bestDist > max(2, len(name)/3) {
		return ""
	}
	return best
}
