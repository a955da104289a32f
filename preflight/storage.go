package preflight

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// defaultClassAnnotation marks the StorageClass a claim without one gets.
const defaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"

// Provisioners known to give each claim its own block device: a
// ReadWriteMany claim of theirs stays Pending.
var singleNodeProvisioners = []string{
	"ebs.csi.aws.com", "kubernetes.io/aws-ebs", "pd.csi.storage.gke.io", "kubernetes.io/gce-pd",
	"disk.csi.azure.com", "kubernetes.io/azure-disk", "rancher.io/local-path", "kubernetes.io/no-provisioner",
	"cinder.csi.openstack.org", "csi.vsphere.vmware.com", "dobs.csi.digitalocean.com", "driver.longhorn.io",
	"k8s.io/minikube-hostpath", "microk8s.io/hostpath", "openebs.io/local",
}

// Provisioners of shared file systems, which serve ReadWriteMany.
var sharedProvisioners = []string{
	"efs.csi.aws.com", "file.csi.azure.com", "kubernetes.io/azure-file", "filestore.csi.storage.gke.io",
	"cephfs.csi.ceph.com", "nfs.csi.k8s.io", "k8s-sigs.io/nfs-subdir-external-provisioner", "cluster.local/nfs-subdir-external-provisioner",
	"nfs.csi.netapp.com", "csi.trident.netapp.io", "gcsfuse.csi.storage.gke.io", "openshift-storage.cephfs.csi.ceph.com",
}

// storage: every claim's StorageClass exists (or a default one, for a
// claim without), and a ReadWriteMany claim's class can share a volume.
func storage(ctx context.Context, c Cluster, p Plan) ([]Finding, error) {
	claims := ofKind(p, "PersistentVolumeClaim")
	if len(claims) == 0 {
		return nil, nil
	}
	list, err := c.Kube.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil && !apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("listing StorageClasses: %w", err)
	}
	if apierrors.IsForbidden(err) {
		return []Finding{warning("StorageClasses", "this user may not list StorageClasses, so the claims' classes were not checked",
			"run the preflight as a user who may list storage.k8s.io storageclasses")}, nil
	}
	classes := map[string]storagev1.StorageClass{}
	var defaults []string
	for _, sc := range list.Items {
		classes[sc.Name] = sc
		if sc.Annotations[defaultClassAnnotation] == "true" {
			defaults = append(defaults, sc.Name)
		}
	}
	var out []Finding
	for _, claim := range claims {
		check := "claim " + claim.Name()
		name := str(claim, "spec", "storageClassName")
		if name == "" {
			if len(defaults) == 0 {
				out = append(out, blocker(check, "names no StorageClass and the cluster has no default one, so it stays Pending",
					"mark a StorageClass as the default (annotation "+defaultClassAnnotation+"=true), or set the storageClass value of "+claim.BaseName()))
				continue
			}
			name = defaults[0]
		}
		sc, found := classes[name]
		if !found {
			out = append(out, blocker(check, "asks for the StorageClass "+name+", which the cluster does not have",
				"set the storageClass value of "+claim.BaseName()+" to one of: "+joinSorted(slices.Collect(maps.Keys(classes)))))
			continue
		}
		if !slices.Contains(stringsOf(claim.Field("spec", "accessModes")), "ReadWriteMany") {
			out = append(out, ok(check, "StorageClass "+name+" ("+sc.Provisioner+")"))
			continue
		}
		switch {
		case slices.Contains(sharedProvisioners, sc.Provisioner):
			out = append(out, ok(check, "ReadWriteMany on StorageClass "+name+" ("+sc.Provisioner+", a shared file system)"))
		case slices.Contains(singleNodeProvisioners, sc.Provisioner):
			out = append(out, blocker(check, "needs ReadWriteMany, and StorageClass "+name+" ("+sc.Provisioner+") gives each claim a disk of one node",
				"set the storageClass value of "+claim.BaseName()+" to a ReadWriteMany class (NFS, EFS, Azure Files, Filestore, CephFS)"))
		default:
			out = append(out, warning(check, "needs ReadWriteMany; whether StorageClass "+name+" ("+sc.Provisioner+") provides it is not known here",
				"check that "+sc.Provisioner+" serves ReadWriteMany, or set the storageClass value of "+claim.BaseName()+" to a class that does"))
		}
	}
	return out, nil
}

// stringsOf is a JSON list of strings.
func stringsOf(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, s := range list {
		if str, ok := s.(string); ok {
			out = append(out, strings.TrimSpace(str))
		}
	}
	return out
}
