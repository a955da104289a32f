package driver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/constant"

	"github.com/rhesis-ai/rhesis-deploy/driver/inline"
)

// UpResult is what an update left.
type UpResult struct {
	// Outputs are the stack's outputs; a secret one's Value is "[secret]".
	Outputs auto.OutputMap
	// Changes counts the resources per operation (create, same, ...), as
	// auto.UpdateSummary.ResourceChanges does.
	Changes map[string]int
}

// PreviewOptions say how Preview runs.
type PreviewOptions struct {
	// Refresh reads the live objects first.
	Refresh bool
	// Diff shows each change property by property.
	Diff bool
	// ExpectNoChanges fails the preview on any change.
	ExpectNoChanges bool
	// Progress and Errors get the engine's output.
	Progress, Errors io.Writer
}

// Update runs `pulumi up --yes --skip-preview` of the stack's program, with
// no data-loss check (Up is the update with it).
func Update(ctx context.Context, s auto.Stack, o UpOptions) (UpResult, error) {
	args := []string{"up", "--yes", "--skip-preview"}
	if !o.SkipRefresh {
		args = append(args, "--refresh")
	}
	evts, err := runProgram(ctx, s, o.Progress, o.Errors, args...)
	if err != nil {
		return UpResult{}, err
	}
	return upResult(evts)
}

// Preview runs `pulumi preview` of the stack's program and returns its
// engine events.
func Preview(ctx context.Context, s auto.Stack, o PreviewOptions) ([]apitype.EngineEvent, error) {
	args := []string{"preview"}
	if o.Refresh {
		args = append(args, "--refresh")
	}
	if o.Diff {
		args = append(args, "--diff")
	}
	if o.ExpectNoChanges {
		args = append(args, "--expect-no-changes")
	}
	return runProgram(ctx, s, o.Progress, o.Errors, args...)
}

// runProgram runs one CLI command on the stack's inline program as a single
// process: the program served by inline.Server, the engine's events written
// to a log that is read once the command ends. (The Automation API's
// Stack.Up reads the outputs and the last update with three more CLI
// processes; the log has both.)
func runProgram(ctx context.Context, s auto.Stack, progress, errs io.Writer, args ...string) ([]apitype.EngineEvent, error) {
	ws := s.Workspace()
	if ws.Program() == nil {
		return nil, errors.New("the stack has no inline program (driver.Open gives it one)")
	}
	srv, err := inline.Serve(ws.Program())
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Close() }()
	dir, err := os.MkdirTemp("", "rhesis-events-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	eventLog := filepath.Join(dir, "events.jsonl")

	extra, err := ws.SerializeArgsForOp(ctx, s.Name())
	if err != nil {
		return nil, err
	}
	args = append(args, "--client="+srv.Address, "--exec-kind="+constant.ExecKindAutoInline, "--event-log="+eventLog)
	args = append(append(args, extra...), "--stack", s.Name())
	// --event-log is one of the CLI's debug flags.
	env := []string{"PULUMI_DEBUG_COMMANDS=true"}
	if home := ws.PulumiHome(); home != "" {
		env = append(env, "PULUMI_HOME="+home)
	}
	for k, v := range ws.GetEnvVars() {
		env = append(env, k+"="+v)
	}
	stdout, stderr, code, runErr := ws.PulumiCommand().Run(ctx, ws.WorkDir(), nil, writers(progress), writers(errs), env, args...)
	evts, readErr := readEvents(eventLog)
	if runErr != nil {
		// The text keeps the CLI's own words: IsLocked and LocksIn read them.
		return evts, fmt.Errorf("pulumi %s of %s failed: %w\ncode: %d\nstdout: %s\nstderr: %s", args[0], s.Name(), runErr, code, stdout, stderr)
	}
	return evts, readErr
}

func writers(w io.Writer) []io.Writer {
	if w == nil {
		return nil
	}
	return []io.Writer{w}
}

// readEvents reads an event log: one engine event per line. A command that
// failed before the engine started leaves none.
func readEvents(path string) ([]apitype.EngineEvent, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var evts []apitype.EngineEvent
	lines := bufio.NewScanner(bytes.NewReader(raw))
	lines.Buffer(nil, 64<<20)
	for lines.Scan() {
		if len(bytes.TrimSpace(lines.Bytes())) == 0 {
			continue
		}
		var e apitype.EngineEvent
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			return evts, fmt.Errorf("reading the engine's event log: %w", err)
		}
		evts = append(evts, e)
	}
	return evts, lines.Err()
}

// stackType is the type of the stack's own resource, whose outputs are the
// stack's outputs.
const stackType = "pulumi:pulumi:Stack"

// upResult reads an update's outputs and counts from its events.
func upResult(evts []apitype.EngineEvent) (UpResult, error) {
	var res UpResult
	for _, e := range evts {
		if e.SummaryEvent != nil {
			res.Changes = map[string]int{}
			for op, n := range e.SummaryEvent.ResourceChanges {
				res.Changes[string(op)] = n
			}
		}
		if o := e.ResOutputsEvent; o != nil && o.Metadata.Type == stackType && o.Metadata.New != nil {
			res.Outputs = auto.OutputMap{}
			for k, v := range o.Metadata.New.Outputs {
				res.Outputs[k] = auto.OutputValue{Value: v, Secret: v == secretValue}
			}
		}
	}
	if res.Changes == nil {
		return res, errors.New("the engine's event log has no summary of the update")
	}
	return res, nil
}

// secretValue is what the event log shows for a secret.
const secretValue = "[secret]"
