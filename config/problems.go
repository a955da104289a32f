package config

import (
	"fmt"
	"strings"
)

// Problem is one invalid setting: which key, what value, what is allowed.
type Problem struct {
	Key    string
	Value  string
	Reason string
}

func (p Problem) String() string {
	if p.Value == "" {
		return fmt.Sprintf("%s: %s", p.Key, p.Reason)
	}
	return fmt.Sprintf("%s = %q: %s", p.Key, p.Value, p.Reason)
}

// Problems is every problem found in one configuration.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problem", len(ps))
	if len(ps) != 1 {
		b.WriteString("s")
	}
	b.WriteString("); nothing was created:")
	for _, p := range ps {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Keys lists the full key names with a problem, in order.
func (ps Problems) Keys() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Key
	}
	return out
}
