package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// scaledObjects are KEDA's autoscalers (worker.keda.enabled). Unlike an
// HPA, KEDA scales a Deployment up from zero, so a restore pauses it there.
var scaledObjects = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}

// pausedReplicas is KEDA's annotation that holds a target at a count.
const pausedReplicas = "autoscaling.keda.sh/paused-replicas"

// pauseAutoscalers holds each app's ScaledObject (named as the app) at zero
// replicas; it returns those it paused. A cluster without KEDA has none.
func pauseAutoscalers(ctx context.Context, dyn dynamic.Interface, ns string, apps []string, opts Options) ([]string, error) {
	if dyn == nil {
		return nil, nil
	}
	var paused []string
	for _, app := range apps {
		err := annotate(ctx, dyn, ns, app, "0")
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return paused, fmt.Errorf("pausing the autoscaler %s at 0: %w", app, err)
		}
		paused = append(paused, app)
		say(opts, "autoscaler %s paused at 0 replicas", app)
	}
	return paused, nil
}

// resumeAutoscalers lets the paused ScaledObjects scale again.
func resumeAutoscalers(ctx context.Context, dyn dynamic.Interface, ns string, paused []string, opts Options) error {
	var errs []error
	for _, app := range paused {
		if err := annotate(ctx, dyn, ns, app, nil); err != nil {
			errs = append(errs, fmt.Errorf("resuming the autoscaler %s (remove its annotation %s): %w", app, pausedReplicas, err))
			continue
		}
		say(opts, "autoscaler %s resumed", app)
	}
	return errors.Join(errs...)
}

// annotate sets the pause annotation (nil removes it) with a merge patch.
func annotate(ctx context.Context, dyn dynamic.Interface, ns, name string, value any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{pausedReplicas: value}}})
	if err != nil {
		return err
	}
	_, err = dyn.Resource(scaledObjects).Namespace(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}
