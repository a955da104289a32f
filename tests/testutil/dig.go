// Package testutil holds what the mock tests and the end-to-end tests share.
package testutil

// Dig walks a JSON-like value (maps and slices as encoding/json decodes
// them) by keys and indexes; a missing step gives nil.
func Dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}
