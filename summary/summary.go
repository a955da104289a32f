// Package summary turns the engine's events of a preview into a compact
// Markdown summary for pull requests, and gates previews that would destroy
// data.
package summary

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// Change is one resource step that is not "same".
type Change struct {
	Op   string
	Type string
	Name string
	URN  string
	// Diffs are the changed top-level properties; Replaces those forcing a replacement.
	Diffs    []string
	Replaces []string
	// DataBearing marks the resources whose loss loses data: every volume
	// claim, the database workload, the namespace holding them, a Helm release.
	DataBearing bool
}

// Summary is what a preview would do.
type Summary struct {
	Counts  map[string]int
	Changes []Change
}

// destructive are the step kinds that remove a live object.
var destructive = map[string]bool{"delete": true, "replace": true, "discard": true}

// ReadEvents reads engine events as JSON lines (Pulumi's --event-log format).
func ReadEvents(r io.Reader) ([]apitype.EngineEvent, error) {
	var out []apitype.EngineEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e apitype.EngineEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("event line %d: %w", n, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// rank orders step kinds by how much they remove; one resource's steps
// collapse to the strongest (a replacement shows as create-replacement,
// replace and delete-replaced steps, and is one "replace").
var rank = map[string]int{"same": 0, "read": 1, "refresh": 1, "create": 2, "update": 3, "import": 2,
	"replace": 5, "create-replacement": 5, "delete-replaced": 5, "discard": 6, "delete": 6}

func collapse(op string) string {
	if op == "create-replacement" || op == "delete-replaced" {
		return "replace"
	}
	return op
}

// FromEvents summarizes a preview's events: one entry per resource.
func FromEvents(events []apitype.EngineEvent) Summary {
	byURN := map[string]Change{}
	for _, e := range events {
		if e.ResourcePreEvent == nil {
			continue
		}
		m := e.ResourcePreEvent.Metadata
		op := collapse(string(m.Op))
		if prev, ok := byURN[m.URN]; ok && rank[prev.Op] >= rank[op] {
			// The steps of one replacement carry the reasons on different events.
			if rank[prev.Op] == rank[op] && len(prev.Replaces) == 0 {
				prev.Replaces, prev.Diffs = m.Keys, m.Diffs
				byURN[m.URN] = prev
			}
			continue
		}
		name := m.URN[strings.LastIndex(m.URN, "::")+2:]
		byURN[m.URN] = Change{
			Op: op, Type: m.Type, Name: name, URN: m.URN,
			Diffs: m.Diffs, Replaces: m.Keys, DataBearing: dataBearing(m.Type, name),
		}
	}
	s := Summary{Counts: map[string]int{}}
	for _, c := range byURN {
		s.Counts[c.Op]++
		if c.Op != "same" && c.Op != "read" && c.Op != "refresh" {
			s.Changes = append(s.Changes, c)
		}
	}
	sort.Slice(s.Changes, func(i, j int) bool {
		if s.Changes[i].Op != s.Changes[j].Op {
			return s.Changes[i].Op < s.Changes[j].Op
		}
		return s.Changes[i].URN < s.Changes[j].URN
	})
	return s
}

func dataBearing(typ, name string) bool {
	switch typ {
	case "kubernetes:core/v1:PersistentVolumeClaim":
		return true
	case "kubernetes:apps/v1:Deployment":
		return name == "postgres" || strings.HasSuffix(name, "-postgres") // a namePrefix's
	case "kubernetes:core/v1:Namespace", "kubernetes:helm.sh/v3:Release":
		return true
	case "kubernetes:postgresql.cnpg.io/v1:Cluster":
		// The operator deletes the instances' claims with their Cluster.
		return true
	}
	return false
}

// DataLoss are the destructive steps on data-bearing resources.
func (s Summary) DataLoss() []Change {
	var out []Change
	for _, c := range s.Changes {
		if c.DataBearing && destructive[c.Op] {
			out = append(out, c)
		}
	}
	return out
}

// Markdown renders the summary for a pull-request comment.
func (s Summary) Markdown(stack string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### `pulumi preview` of `%s`\n\n", stack)
	ops := make([]string, 0, len(s.Counts))
	for op := range s.Counts {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	b.WriteString("| operation | resources |\n|---|---|\n")
	for _, op := range ops {
		fmt.Fprintf(&b, "| %s | %d |\n", op, s.Counts[op])
	}
	if loss := s.DataLoss(); len(loss) > 0 {
		b.WriteString("\n> [!CAUTION]\n> This change would destroy data-bearing resources:\n")
		for _, c := range loss {
			fmt.Fprintf(&b, "> - **%s** `%s` (%s)\n", c.Op, c.Name, c.Type)
		}
	}
	var removed, other []Change
	for _, c := range s.Changes {
		if destructive[c.Op] {
			removed = append(removed, c)
		} else {
			other = append(other, c)
		}
	}
	if len(removed) > 0 {
		b.WriteString("\n**Replaced or deleted**\n\n")
		for _, c := range removed {
			writeChange(&b, c)
		}
	}
	if len(other) > 0 {
		b.WriteString("\n**Created or updated**\n\n")
		for _, c := range other {
			writeChange(&b, c)
		}
	}
	if len(s.Changes) == 0 {
		b.WriteString("\nNo changes.\n")
	}
	return b.String()
}

func writeChange(b *strings.Builder, c Change) {
	flag := ""
	if c.DataBearing {
		flag = " — data-bearing"
	}
	fmt.Fprintf(b, "- %s `%s` (%s)%s", c.Op, c.Name, c.Type, flag)
	if len(c.Replaces) > 0 {
		fmt.Fprintf(b, "; replaced because of: %s", strings.Join(c.Replaces, ", "))
	} else if len(c.Diffs) > 0 {
		fmt.Fprintf(b, "; changes: %s", strings.Join(c.Diffs, ", "))
	}
	b.WriteString("\n")
}

// DataLossError is a refused update: what it would have replaced or deleted.
type DataLossError struct {
	Stack string
	Loss  []Change
}

func (e *DataLossError) Error() string {
	names := make([]string, len(e.Loss))
	for i, c := range e.Loss {
		names[i] = c.Op + " " + c.Name
	}
	return fmt.Sprintf("the preview of %s would %s, losing data; if that is intended, run again with --allow-data-loss "+
		"(and take a backup first)", e.Stack, strings.Join(names, ", "))
}

// Gate refuses a summary that would destroy data, unless allowed, with a
// *DataLossError.
func Gate(s Summary, stack string, allow bool) error {
	loss := s.DataLoss()
	if len(loss) == 0 || allow {
		return nil
	}
	return &DataLossError{Stack: stack, Loss: loss}
}
