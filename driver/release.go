package driver

import (
	"errors"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// IsReleasePending tells whether err is helm refusing to touch a release
// that an interrupted run left pending-install or pending-upgrade.
func IsReleasePending(err error) bool {
	return err != nil && strings.Contains(err.Error(), "another operation (install/upgrade/rollback) is in progress")
}

// RecoverRelease un-sticks the Helm release of a stack whose last run was
// killed while helm was installing or upgrading it. A first install the
// stack's state does not record (inState false) and that never reached
// deployed, left pending-install or failed when its run vanished, is
// forgotten: its objects stay, and the retried install adopts them (they
// carry the release's annotations). A pending upgrade is marked failed, so
// the next upgrade starts from the last deployed revision. It returns what
// it did, "" when there was nothing to do. The caller makes sure no run is
// still holding the stack.
func RecoverRelease(namespace, kubeContext, name string, inState bool) (string, error) {
	cfg, err := helmStorage(namespace, kubeContext)
	if err != nil {
		return "", err
	}
	history, err := cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) || len(history) == 0 {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("reading the Helm release %s in %s: %w", name, namespace, err)
	}
	deployed := false
	last := history[0]
	for _, r := range history {
		deployed = deployed || r.Info.Status == release.StatusDeployed || r.Info.Status == release.StatusSuperseded
		if r.Version > last.Version {
			last = r
		}
	}
	what := fmt.Sprintf("release %s revision %d was %s", name, last.Version, last.Info.Status)
	switch {
	case !inState && !deployed:
		for _, r := range history {
			if _, err := cfg.Releases.Delete(r.Name, r.Version); err != nil {
				return "", err
			}
		}
		return what + " and never deployed; forgot it, so the next up installs it again (adopting the objects it had created)", nil
	case last.Info.Status.IsPending():
		last.SetStatus(release.StatusFailed, "interrupted: the run that started it was killed; marked failed by rhesis cancel")
		if err := cfg.Releases.Update(last); err != nil {
			return "", err
		}
		return what + "; marked it failed, so the next up upgrades from the last deployed revision", nil
	}
	return "", nil
}

// helmStorage reaches the releases Helm keeps in namespace (as Secrets).
func helmStorage(namespace, kubeContext string) (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(true)
	flags.Namespace = &namespace
	if kubeContext != "" {
		flags.Context = &kubeContext
	}
	var cfg action.Configuration
	if err := cfg.Init(flags, namespace, "secret", func(string, ...any) {}); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// DeployedRelease returns the objects of the stack's last deployed Helm
// release, nil when there is none yet.
func DeployedRelease(namespace, kubeContext, name string) ([]charts.Object, error) {
	cfg, err := helmStorage(namespace, kubeContext)
	if err != nil {
		return nil, err
	}
	rel, err := cfg.Releases.Deployed(name)
	if errors.Is(err, driver.ErrNoDeployedReleases) || errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading the Helm release %s in %s: %w", name, namespace, err)
	}
	return charts.ParseManifest("release "+name, rel.Manifest)
}
