// Package preflight checks a stack's render against the live cluster it
// will be deployed to, before anything is created: what the objects need
// that the chart does not make (APIs, classes, issuers, Gateways, Secrets
// and ConfigMaps it only refers to) and whether the namespace's quotas and
// limit ranges admit them. Each finding names what is missing and the fix.
package preflight

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// Severity says whether a finding stops a deployment.
type Severity string

const (
	// Blocker: a deployment would fail or leave pods Pending.
	Blocker Severity = "blocker"
	// Warning: it may work; the fix says what to check.
	Warning Severity = "warning"
	// OK: the check passed.
	OK Severity = "ok"
)

// Finding is the outcome of one check.
type Finding struct {
	Severity Severity
	// Check is what was checked: "API monitoring.coreos.com/v1 ServiceMonitor".
	Check string
	// Detail says what was found; Fix how to resolve a blocker or warning.
	Detail string
	Fix    string
}

// Cluster is the live cluster, through the clients the checks use.
type Cluster struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// Plan is what a stack would deploy.
type Plan struct {
	Namespace string
	// CreateNamespace false: the namespace must exist and enforce Pod
	// Security restricted (the program's rule for a namespace it does not own).
	CreateNamespace bool
	// Objects are the chart's rendered objects.
	Objects []charts.Object
}

// check is one preflight check.
type check func(ctx context.Context, c Cluster, p Plan) ([]Finding, error)

// checks run in this order; the cheap API check first, since the others
// read objects of the APIs it confirms.
var checks = []check{servedAPIs, namespace, storage, routing, issuers, references, quotas, limitRanges}

// Run runs every check. An error is a failure to ask the cluster, not a finding.
func Run(ctx context.Context, c Cluster, p Plan) ([]Finding, error) {
	var all []Finding
	for _, chk := range checks {
		found, err := chk(ctx, c, p)
		if err != nil {
			return all, err
		}
		all = append(all, found...)
	}
	return all, nil
}

// Blockers are the findings that stop a deployment.
func Blockers(fs []Finding) []Finding {
	return slices.DeleteFunc(slices.Clone(fs), func(f Finding) bool { return f.Severity != Blocker })
}

// Print writes the findings, one per line, each problem with its fix.
func Print(w io.Writer, fs []Finding) {
	for _, f := range fs {
		line := fmt.Sprintf("%-7s %s: %s", f.Severity, f.Check, f.Detail)
		if f.Fix != "" && f.Severity != OK {
			line += "\n        fix: " + f.Fix
		}
		_, _ = fmt.Fprintln(w, line)
	}
	if b := len(Blockers(fs)); b > 0 {
		_, _ = fmt.Fprintf(w, "%d %s\n", b, plural(b, "blocker", "blockers"))
	} else {
		_, _ = fmt.Fprintln(w, "no blockers")
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ok, blocker and warning make findings.
func ok(check, detail string) Finding { return Finding{Severity: OK, Check: check, Detail: detail} }
func blocker(check, detail, fix string) Finding {
	return Finding{Severity: Blocker, Check: check, Detail: detail, Fix: fix}
}
func warning(check, detail, fix string) Finding {
	return Finding{Severity: Warning, Check: check, Detail: detail, Fix: fix}
}

// ofKind are the objects of one kind.
func ofKind(p Plan, kind string) []charts.Object {
	var out []charts.Object
	for _, o := range p.Objects {
		if o.Kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// rendered tells whether the render makes an object of kind and name.
func rendered(p Plan, kind, name string) bool {
	return slices.ContainsFunc(p.Objects, func(o charts.Object) bool { return o.Kind() == kind && o.Name() == name })
}

// str is a string field of an object, "" when absent.
func str(o charts.Object, path ...any) string {
	s, _ := o.Field(path...).(string)
	return s
}

func joinSorted(names []string) string {
	names = slices.Clone(names)
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ", ")
}
