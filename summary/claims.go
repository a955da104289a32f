package summary

import (
	"fmt"
	"maps"
	"reflect"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// ReleaseClaims are what an upgrade of a Helm release does to the volume
// claims inside it, which Pulumi sees only as one Release: a claim the new
// render drops is deleted (unless the chart keeps it), and one whose
// storage class, access modes or size shrink changes cannot be updated in
// place, so the upgrade fails half-way or the claim must be replaced.
func ReleaseClaims(release string, deployed, next []charts.Object) []Change {
	claims := func(objs []charts.Object) map[string]charts.Object {
		out := map[string]charts.Object{}
		for _, o := range objs {
			if o.Kind() == "PersistentVolumeClaim" {
				out[o.Name()] = o
			}
		}
		return out
	}
	was, will := claims(deployed), claims(next)
	var out []Change
	for _, name := range slices.Sorted(maps.Keys(was)) {
		old := was[name]
		c := Change{Type: "kubernetes:core/v1:PersistentVolumeClaim", Name: name, DataBearing: true,
			URN: fmt.Sprintf("helm release %s: PersistentVolumeClaim %s", release, name)}
		nu, kept := will[name]
		switch {
		case !kept && old.Annotation("helm.sh/resource-policy") == "keep":
			// helm leaves a kept claim, and its data, in the namespace.
		case !kept:
			c.Op = "delete"
			out = append(out, c)
		default:
			if c.Replaces = immutableChanges(old, nu); len(c.Replaces) > 0 {
				c.Op = "replace"
				out = append(out, c)
			}
		}
	}
	return out
}

// immutableChanges lists the fields of a bound claim that the API server
// refuses to change.
func immutableChanges(old, nu charts.Object) []string {
	var out []string
	for _, f := range []string{"storageClassName", "accessModes", "volumeMode"} {
		if !reflect.DeepEqual(old.Field("spec", f), nu.Field("spec", f)) {
			out = append(out, "spec."+f)
		}
	}
	was, errOld := resource.ParseQuantity(fmt.Sprint(old.Field("spec", "resources", "requests", "storage")))
	will, errNew := resource.ParseQuantity(fmt.Sprint(nu.Field("spec", "resources", "requests", "storage")))
	if errOld == nil && errNew == nil && will.Cmp(was) < 0 {
		out = append(out, "spec.resources.requests.storage (shrunk)")
	}
	return out
}
