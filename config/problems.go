package config

import (
	"fmt"
	"regexp"
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

// secretLookingKey is the Pulumi CLI's own test of a key name that may hold
// a secret (pkg/cmd/pulumi/config: keyPattern): for such a key it refuses a
// plain value that looks random, unless --plaintext says it is meant.
var secretLookingKey = regexp.MustCompile("(?i)passwd|pass|password|pwd|secret|token")

// SetCommand is the `pulumi config set` command that sets key to value in
// stack, with --path for a key inside an object, --secret for a secret and
// --plaintext for a plain value under a name the CLI takes for a secret's
// (ingress.tlsSecret).
func SetCommand(stack, key, value string, secret bool) string {
	var b strings.Builder
	b.WriteString("pulumi config set")
	switch {
	case value == "null":
		// Helm's --set key=null deletes the key: so does config rm.
		b.Reset()
		b.WriteString("pulumi config rm")
	case secret:
		b.WriteString(" --secret")
	case secretLookingKey.MatchString(key):
		b.WriteString(" --plaintext")
	}
	if stack != "" {
		b.WriteString(" -s " + stack)
	}
	if strings.ContainsAny(key, ".[") {
		b.WriteString(" --path")
		if strings.Contains(key, "[") {
			key = "'" + key + "'"
		}
	}
	b.WriteString(" " + key)
	if value != "null" {
		b.WriteString(" " + value)
	}
	return b.String()
}

// helmSet is a `--set path=value` of a chart message; a quoted one may set
// several paths, comma-separated.
var helmSet = regexp.MustCompile(`--set (?:'([^']*)'|([A-Za-z0-9_.\[\]-]+=(?:"[^"]*"|[^\s),]+)))`)

// chartProblems is the header of the chart's own checks (_validate.tpl).
var chartProblems = regexp.MustCompile(`invalid values \(\d+\):\n((?:  - .*(?:\n|$))+)`)

// FromChart turns the chart's refusal of the stack's values into the
// stack's problems: each names the key as the stack spells it, and each
// `--set` the chart suggests becomes the `pulumi config set` command that
// does the same. Any other error is returned as it is.
func FromChart(err error, stack string, schema *Schema) error {
	m := chartProblems.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	var ps Problems
	for _, line := range strings.Split(strings.TrimRight(m[1], "\n"), "\n") {
		ps = append(ps, chartProblem(strings.TrimPrefix(line, "  - "), stack, schema))
	}
	return ps
}

func chartProblem(msg, stack string, schema *Schema) Problem {
	msg = helmSet.ReplaceAllStringFunc(msg, func(set string) string {
		sub := helmSet.FindStringSubmatch(set)
		assignments := []string{sub[2]}
		if sub[1] != "" {
			assignments = strings.Split(sub[1], ",")
		}
		cmds := make([]string, 0, len(assignments))
		for _, a := range assignments {
			path, value, _ := strings.Cut(a, "=")
			cmds = append(cmds, SetCommand(stack, path, value, schema.IsSecret(path)))
		}
		return "`" + strings.Join(cmds, " && ") + "`"
	})
	first, _, _ := strings.Cut(msg, " ")
	path, _, _ := strings.Cut(first, "=")
	if schema.Known(path) {
		reason := strings.TrimPrefix(msg, path+" ")
		if strings.HasPrefix(reason, "or ") || strings.HasPrefix(reason, "and ") || strings.HasPrefix(reason, "=") {
			reason = msg // the message names more than this key: keep it whole
		}
		return Problem{Key: Namespace + ":" + path, Reason: reason}
	}
	return Problem{Key: Namespace, Reason: msg}
}
