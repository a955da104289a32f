package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// fileLocks reads the lock files of stack in a file backend; nil for any
// other backend, whose locks only the backend itself can judge.
func fileLocks(backend, stack string) ([]Lock, error) {
	u, err := url.Parse(backend)
	if err != nil || u.Scheme != "file" {
		return nil, nil
	}
	root := filepath.Join(u.Host, u.Path)
	// .pulumi/locks/<org>/<project>/<stack>/<id>.json, or <stack>/<id>.json
	// in a backend of the older layout.
	var files []string
	for _, pattern := range []string{"*/*/" + stack + "/*.json", stack + "/*.json"} {
		found, err := filepath.Glob(filepath.Join(root, ".pulumi", "locks", pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	var locks []Lock
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var content struct {
			Pid       int    `json:"pid"`
			Username  string `json:"username"`
			Hostname  string `json:"hostname"`
			Timestamp string `json:"timestamp"`
		}
		if err := json.Unmarshal(raw, &content); err != nil {
			return nil, fmt.Errorf("reading the lock %s: %w", f, err)
		}
		locks = append(locks, Lock{User: content.Username, Host: content.Hostname, PID: content.Pid, Since: content.Timestamp})
	}
	return locks, nil
}

// Recover clears what a run killed hard left behind, once it is sure that
// run is gone: the stack's lock, the operations the state still records
// as pending and, in helm mode, a release left pending-install or
// pending-upgrade. A lock held by a live process, or by another host, is
// left alone unless force. It writes what it does to out.
func Recover(ctx context.Context, o Options, s auto.Stack, projectDir string, force bool, out io.Writer) error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	locks, err := fileLocks(env["PULUMI_BACKEND_URL"], s.Name())
	if err != nil {
		return err
	}
	for _, l := range locks {
		if !l.Stale() && !force {
			return fmt.Errorf("stack %s is locked by %s, which is still running or ran on another host; "+
				"wait for it to end, or stop it; use --force only when you know it is gone", s.Name(), l)
		}
	}
	if err := s.Cancel(ctx); err != nil {
		return fmt.Errorf("clearing the lock: %w", err)
	}
	for _, l := range locks {
		_, _ = fmt.Fprintf(out, "cleared the lock left by %s\n", l)
	}

	pending, err := pendingOperations(ctx, s)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		// An object whose create was interrupted may exist: the next up
		// applies it again (server-side apply creates or updates).
		_, _ = fmt.Fprintf(out, "clearing %d pending operations (%s) with a refresh\n", len(pending), strings.Join(pending, ", "))
		if _, err := s.Refresh(ctx, optrefresh.ClearPendingCreates(), optrefresh.ProgressStreams(out)); err != nil {
			return fmt.Errorf("refreshing to clear the pending operations: %w", err)
		}
	}

	r, err := LoadConfig(ctx, s, projectDir)
	if err != nil {
		return err
	}
	if d := r.Config.Deploy; d.Mode == config.ModeHelm {
		inState, err := hasResource(ctx, s, "kubernetes:helm.sh/v3:Release")
		if err != nil {
			return err
		}
		did, err := RecoverRelease(d.Namespace, d.KubeContext, r.ReleaseName(), inState)
		if err != nil {
			return err
		}
		if did != "" {
			_, _ = fmt.Fprintln(out, did)
		}
	}
	_, _ = fmt.Fprintf(out, "stack %s is ready for the next up\n", s.Name())
	return nil
}

// deployment is the part of a stack's state recovery reads.
type deployment struct {
	Resources []struct {
		Type string `json:"type"`
	} `json:"resources"`
	PendingOperations []struct {
		Resource struct {
			URN string `json:"urn"`
		} `json:"resource"`
		Type string `json:"type"`
	} `json:"pending_operations"`
}

func exportState(ctx context.Context, s auto.Stack) (deployment, error) {
	var d deployment
	state, err := s.Export(ctx)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(state.Deployment, &d); err != nil {
		return d, fmt.Errorf("reading the stack's state: %w", err)
	}
	return d, nil
}

// hasResource tells whether the state records a resource of the type.
func hasResource(ctx context.Context, s auto.Stack, typ string) (bool, error) {
	d, err := exportState(ctx, s)
	if err != nil {
		return false, err
	}
	for _, r := range d.Resources {
		if r.Type == typ {
			return true, nil
		}
	}
	return false, nil
}

// pendingOperations lists the resources the state records as interrupted.
func pendingOperations(ctx context.Context, s auto.Stack) ([]string, error) {
	deployment, err := exportState(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, op := range deployment.PendingOperations {
		urn := op.Resource.URN
		out = append(out, op.Type+" "+urn[strings.LastIndex(urn, "::")+2:])
	}
	return out, nil
}
