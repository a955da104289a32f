package config

import (
	"fmt"
	"strings"
)

// ReferenceTable is the README's configuration reference, generated from the
// declarations so the docs cannot drift from the code.
func ReferenceTable() string {
	var b strings.Builder
	b.WriteString("| key | type | local | staging | prod | meaning |\n|---|---|---|---|---|---|\n")
	for _, k := range Keys() {
		vals := make([]string, len(Environments))
		for i, e := range Environments {
			vals[i] = k.defaultFor(e)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", k.Name, k.Kind, vals[0], vals[1], vals[2],
			strings.ReplaceAll(k.Description, "|", "\\|"))
	}
	return b.String()
}

// defaultFor renders a key's default in environment e for the docs.
func (k Key) defaultFor(e Environment) string {
	v := fmt.Sprint(k.Default)
	if k.ByEnv != nil {
		v = k.ByEnv[e]
	}
	switch {
	case v == "" && k.ByEnv != nil:
		return "**required**"
	case v == "" || v == "map[]":
		return "–"
	case k.Secret:
		return "dev value"
	}
	return "`" + v + "`"
}
