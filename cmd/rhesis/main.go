// Command rhesis deploys the Rhesis stack by running the project's Pulumi
// program through the Automation API (no Go language plugin needed).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/summary"
)

const usage = `usage: rhesis [flags] <command>

Runs the Rhesis Pulumi program (stack.Program) with the Pulumi CLI, against the
cluster of the current kubeconfig context (KUBECONFIG).

Commands:
  up        deploy the stack and print its outputs
  preview   show what up would change (--diff for property-level detail,
            --summary FILE for a Markdown summary); for a prod stack it fails
            when the database volume or workload would be replaced or deleted,
            unless --allow-data-loss
  destroy   delete every object of the stack
  outputs   print the stack outputs as JSON
  images    print the image plan: what each image is named, and what is
            built from which Dockerfile and target and pushed (no Docker needed)
  migrate-config
            move the keys an earlier version kept flat (rhesis:backend.replicas)
            into their objects (rhesis:backend: {replicas: ...}), values and
            encryption kept

Flags:
`

func main() { os.Exit(run()) }

func run() int {
	fs := flag.NewFlagSet("rhesis", flag.ContinueOnError)
	stackName := fs.String("stack", "local", "stack to operate on: local, staging, prod or your own")
	projectDir := fs.String("project", ".", "folder holding Pulumi.yaml, the stack files and charts/")
	backend := fs.String("backend", "", "state backend URL (default: $PULUMI_BACKEND_URL, else file://<project>/.pulumi-state)")
	diff := fs.Bool("diff", false, "preview: show a property-level diff")
	showSecrets := fs.Bool("show-secrets", false, "outputs: show secret values")
	summaryFile := fs.String("summary", "", "preview: write a Markdown summary of the changes to this file")
	eventsFile := fs.String("events", "", "preview: write the engine's events as JSON lines to this file")
	allowDataLoss := fs.Bool("allow-data-loss", false, "preview: let a prod preview replace or delete data-bearing resources")
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		return helpOr2(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	// Flags may also follow the command: rhesis preview --diff.
	command := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return helpOr2(err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "rhesis: unexpected arguments %v\n\n", fs.Args())
		fs.Usage()
		return 2
	}
	dir, err := filepath.Abs(*projectDir)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	switch command {
	case "up", "preview", "destroy", "outputs", "images", "migrate-config":
	default:
		fmt.Fprintf(os.Stderr, "rhesis: unknown command %q\n\n", command)
		fs.Usage()
		return 2
	}
	s, err := driver.Open(ctx, driver.Options{Stack: *stackName, ProjectDir: dir, Backend: *backend})
	if err != nil {
		return fail(err)
	}
	if command == "up" || command == "preview" {
		if err := driver.EnsureImageBuilder(ctx, s, dir); err != nil {
			return fail(err)
		}
	}
	switch command {
	case "migrate-config":
		moved, err := driver.MigrateConfig(ctx, s)
		if err != nil {
			return fail(err)
		}
		if len(moved) == 0 {
			fmt.Printf("stack %s has no flat keys; nothing to move\n", *stackName)
		}
		for _, k := range moved {
			fmt.Printf("moved %s into its object\n", k)
		}
	case "images":
		cfg, err := driver.LoadConfig(ctx, s, dir)
		if err != nil {
			return fail(err)
		}
		fmt.Print(imagePlan(cfg))
	case "up":
		res, err := s.Up(ctx, optup.ProgressStreams(os.Stdout), optup.ErrorProgressStreams(os.Stderr))
		if err != nil {
			return fail(err)
		}
		printOutputs(res.Outputs, false)
	case "preview":
		opts := []optpreview.Option{optpreview.ProgressStreams(os.Stdout), optpreview.ErrorProgressStreams(os.Stderr)}
		if *diff {
			opts = append(opts, optpreview.Diff())
		}
		// The summary is written even when the preview fails: a replacement
		// the API server refuses (an immutable claim) is what reviewers must see.
		_, evts, previewErr := driver.Preview(ctx, s, opts...)
		sum := summary.FromEvents(evts)
		if *eventsFile != "" {
			if err := writeEvents(*eventsFile, evts); err != nil {
				return fail(err)
			}
		}
		if *summaryFile != "" {
			if err := os.WriteFile(*summaryFile, []byte(sum.Markdown(*stackName)), 0o644); err != nil {
				return fail(err)
			}
		}
		if driver.IsProd(ctx, s) {
			if err := summary.Gate(sum, *stackName, *allowDataLoss); err != nil {
				return fail(err)
			}
		}
		if previewErr != nil {
			return fail(previewErr)
		}
	case "destroy":
		if _, err := s.Destroy(ctx, optdestroy.ProgressStreams(os.Stdout), optdestroy.ErrorProgressStreams(os.Stderr)); err != nil {
			return fail(err)
		}
	case "outputs":
		out, err := s.Outputs(ctx)
		if err != nil {
			return fail(err)
		}
		printOutputs(out, *showSecrets)
	}
	return 0
}

// imagePlan is a table of the stack's application images.
func imagePlan(cfg *config.Stack) string {
	builds := map[string]config.ImageBuild{}
	for _, b := range cfg.ImageBuilds() {
		builds[b.Name] = b
	}
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(w, "IMAGE\tREFERENCE\tPULL\tSOURCE")
	for _, name := range cfg.AppImages() {
		b, built := builds[name]
		img := cfg.AppImage(name)
		source := "prebuilt"
		if built {
			rel, _ := filepath.Rel(b.Context, b.Dockerfile)
			source = "build " + filepath.ToSlash(rel)
			if b.Target != "" {
				source += " target " + b.Target
			}
			for _, k := range sortedKeys(b.Args) {
				source += fmt.Sprintf(" %s=%s", k, b.Args[k])
			}
			source += fmt.Sprintf(" (%s, context %s)", b.Platform, b.Context)
			if b.Push {
				source += ", push"
			} else {
				source += ", no push"
			}
		}
		_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, img.Ref(), img.PullPolicy, source)
	}
	_ = w.Flush()
	if names := cfg.PullSecretNames(); len(names) > 0 {
		fmt.Fprintf(&sb, "pull Secrets: %s\n", strings.Join(names, ", "))
	}
	return sb.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func printOutputs(out auto.OutputMap, showSecrets bool) {
	plain := map[string]any{}
	for k, v := range out {
		if v.Secret && !showSecrets {
			plain[k] = "[secret]"
			continue
		}
		plain[k] = v.Value
	}
	b, _ := json.MarshalIndent(plain, "", "  ")
	fmt.Println(string(b))
}

func writeEvents(path string, evts []apitype.EngineEvent) error {
	var b []byte
	for _, e := range evts {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		b = append(append(b, line...), '\n')
	}
	return os.WriteFile(path, b, 0o644)
}

// helpOr2 is the exit code of a flag error: 0 for -h/--help, else 2.
func helpOr2(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func fail(err error) int {
	// The engine already streamed the details; say what failed in one line.
	fmt.Fprintln(os.Stderr, "rhesis:", err)
	return 1
}
