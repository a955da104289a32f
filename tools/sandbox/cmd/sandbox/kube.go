package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func client(kubeconfig string) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// poll calls f until it returns true, an error that is not transient, or the timeout.
func poll(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := f()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if last != nil {
		return fmt.Errorf("timed out after %s: %w", timeout, last)
	}
	return fmt.Errorf("timed out after %s", timeout)
}

func (s *sandbox) waitAPI(ctx context.Context, timeout time.Duration) error {
	c, err := client(s.kubeconfig())
	if err != nil {
		return err
	}
	return poll(ctx, timeout, func() (bool, error) {
		body, err := c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", err
	})
}

// bootstrap creates what a kubelet and a cloud would: the default
// StorageClass and the simulated node. After a restart over existing data the
// old node and its pods are replaced: kwok would not heartbeat the old node
// for minutes, and the node lifecycle controller would mark every pod not
// ready; the simulated pods are simply started again by their ReplicaSets.
func (s *sandbox) bootstrap(ctx context.Context, restarted bool) error {
	c, err := client(s.kubeconfig())
	if err != nil {
		return err
	}
	if restarted {
		zero := int64(0)
		if err := c.CoreV1().Nodes().Delete(ctx, fakeNodeName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing the old node: %w", err)
		}
		nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, ns := range nss.Items {
			err := c.CoreV1().Pods(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("removing old pods in %s: %w", ns.Name, err)
			}
		}
	}
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	reclaim := corev1.PersistentVolumeReclaimDelete
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        storageClassName,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       provisionerName,
		VolumeBindingMode: &wffc,
		ReclaimPolicy:     &reclaim,
	}
	if _, err := c.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("storage class: %w", err)
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("32"),
		corev1.ResourceMemory:           resource.MustParse("256Gi"),
		corev1.ResourcePods:             resource.MustParse("250"),
		corev1.ResourceEphemeralStorage: resource.MustParse("500Gi"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        fakeNodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": fakeNodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"type": "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// waitReady waits for what workloads need: the node Ready (kwok) and the
// default ServiceAccount (the controller manager's token controllers).
// kwok 0.7.0 sometimes dies as it starts (a concurrent map write in its CEL
// set-up, "fatal error: concurrent map writes" in its log); it is started
// again, up to three times.
func (s *sandbox) waitReady(ctx context.Context, timeout time.Duration, kwok process) error {
	c, err := client(s.kubeconfig())
	if err != nil {
		return err
	}
	revived := 0
	err = poll(ctx, timeout, func() (bool, error) {
		if pid, bin, ok := s.recorded(kwok.name); ok && !alive(pid, bin) && revived < 3 {
			revived++
			fmt.Printf("kwok exited as it started (see %s); starting it again\n", s.logFile(kwok.name))
			if err := s.launch(kwok); err != nil {
				return false, err
			}
		}
		n, err := c.CoreV1().Nodes().Get(ctx, fakeNodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, fmt.Errorf("node %s not Ready", fakeNodeName)
	})
	if err != nil {
		return fmt.Errorf("%w; see %s", err, filepath.Join(s.dir, "logs", "kwok.log"))
	}
	return poll(ctx, timeout, func() (bool, error) {
		_, err := c.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}

// provision binds every Pending claim of the sandbox class to a new hostPath
// volume made for it, and deletes released ones: the minimum a dynamic
// provisioner does, enough for claims to become Bound.
func provision(ctx context.Context, kubeconfig string) error {
	c, err := client(kubeconfig)
	if err != nil {
		return err
	}
	for {
		if err := provisionOnce(ctx, c); err != nil {
			fmt.Println("provision:", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func provisionOnce(ctx context.Context, c *kubernetes.Clientset) error {
	claims, err := c.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, pvc := range claims.Items {
		class := ""
		if pvc.Spec.StorageClassName != nil {
			class = *pvc.Spec.StorageClassName
		}
		// WaitForFirstConsumer: provision once the scheduler picked a node
		// for a pod using the claim, as a real provisioner does. (Provisioning
		// earlier would race Pulumi's claim awaiter, which expects Pending.)
		_, selected := pvc.Annotations["volume.kubernetes.io/selected-node"]
		if pvc.Status.Phase != corev1.ClaimPending || pvc.Spec.VolumeName != "" || class != storageClassName || !selected {
			continue
		}
		name := "pv-" + string(pvc.UID)
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": provisionerName},
			},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]},
				AccessModes:                   pvc.Spec.AccessModes,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				StorageClassName:              storageClassName,
				ClaimRef: &corev1.ObjectReference{
					Kind: "PersistentVolumeClaim", APIVersion: "v1",
					Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
				},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/sandbox-volumes/" + name},
				},
			},
		}
		if _, err := c.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		fmt.Printf("provisioned %s for %s/%s\n", name, pvc.Namespace, pvc.Name)
	}
	volumes, err := c.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, pv := range volumes.Items {
		if pv.Spec.StorageClassName == storageClassName && pv.Status.Phase == corev1.VolumeReleased &&
			pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
			if err := c.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			fmt.Printf("deleted released %s\n", pv.Name)
		}
	}
	return nil
}
