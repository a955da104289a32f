package config

import (
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// StackFileSecret tells whether the value at a dotted path is stored
// encrypted (a `secure:` entry) in the stack file at file; known is false
// when the file does not hold the value.
func StackFileSecret(file, path string) (secret, known bool) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return false, false
	}
	var doc struct {
		Config map[string]any `json:"config"`
	}
	if yaml.Unmarshal(raw, &doc) != nil {
		return false, false
	}
	top, rest, _ := strings.Cut(path, ".")
	v, ok := doc.Config[Namespace+":"+top]
	for _, seg := range strings.Split(rest, ".") {
		if !ok || rest == "" {
			break
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			return false, false
		}
		v, ok = m[seg]
	}
	if !ok {
		return false, false
	}
	if m, isMap := v.(map[string]any); isMap {
		_, secure := m["secure"]
		return secure && len(m) == 1, true
	}
	return false, true
}
