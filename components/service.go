package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// TypePrefix is the type token prefix of every component resource.
const TypePrefix = "rhesis:components:"

// ServiceArgs are what the program hands every service component: settings
// from the typed config and the wiring it computed.
type ServiceArgs struct {
	Namespace pulumi.StringInput
	Settings  config.Component
	// Env is the component's wiring: Secret and ConfigMap references and literals.
	Env []Env
	// PodAnnotations roll the pods when the shared ConfigMap or Secret, or
	// the image content, changes.
	PodAnnotations pulumi.StringMap
	// ImagePullSecrets are the Secrets the kubelet pulls images with.
	ImagePullSecrets []string
	// Volumes are mounted besides the component's own (the shared storage).
	Volumes []Volume
	// Spread asks for replicas on different nodes.
	Spread bool
	// StartAfter are what the Deployment itself waits for (stores, the
	// migration Job): recorded on it, not only on its component.
	StartAfter []pulumi.Resource
	// PrepareDatabase and PrepareEnv: see WorkloadArgs.
	PrepareDatabase bool
	PrepareEnv      []Env
}

// StoreArgs add a volume and metrics to ServiceArgs.
type StoreArgs struct {
	ServiceArgs
	Persistence config.Persistence
	// Keep protects the claim: deleting or replacing it is refused.
	Keep bool
	// Exporter adds the Prometheus exporter sidecar.
	Exporter bool
	// Backups is the backup claim postgres mounts read-only, or nil.
	Backups pulumi.Resource
}

// Service is the part every service component shares: its workload and where
// to reach it inside the cluster.
type Service struct {
	pulumi.ResourceState

	Deployment *appsv1.Deployment
	// ServiceName is the Kubernetes Service name.
	ServiceName pulumi.StringOutput
	// Address is host:port inside the cluster.
	Address pulumi.StringOutput
}

// registerService registers c as a component of kind typ, lets build describe
// (and create any extra children of) the workload, then creates it.
func registerService(ctx *pulumi.Context, typ, name string, c *Service, args ServiceArgs,
	opts []pulumi.ResourceOption, build func() (WorkloadArgs, error)) error {
	if err := ctx.RegisterComponentResource(TypePrefix+typ, name, c, opts...); err != nil {
		return err
	}
	wa, err := build()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	wa.Name, wa.Namespace, wa.Settings = name, args.Namespace, args.Settings
	wa.PodAnnotations, wa.ImagePullSecrets, wa.Spread = args.PodAnnotations, args.ImagePullSecrets, args.Spread
	wa.Volumes = append(wa.Volumes, args.Volumes...)
	wa.DependsOn = append(wa.DependsOn, args.StartAfter...)
	wa.Env = append(wa.Env, args.Env...)
	wa.PrepareDatabase, wa.PrepareEnv = args.PrepareDatabase, args.PrepareEnv
	w, err := NewWorkload(ctx, c, wa)
	if err != nil {
		return err
	}
	c.Deployment = w.Deployment
	c.ServiceName = w.Service.Metadata.Name().Elem()
	c.Address = InClusterAddress(c.ServiceName, w.Service.Metadata.Namespace().Elem(), wa.Port)
	return ctx.RegisterResourceOutputs(c, pulumi.Map{
		"serviceName": c.ServiceName,
		"address":     c.Address,
	})
}

// InClusterAddress is host:port of a Service inside the cluster. Helm mode,
// whose Services the chart creates, computes its outputs with it too.
func InClusterAddress(service, namespace pulumi.StringInput, port int) pulumi.StringOutput {
	return pulumi.Sprintf("%s.%s.svc.cluster.local:%d", service, namespace, port)
}

// HTTPURL is the http URL of an in-cluster address plus path.
func HTTPURL(address pulumi.StringOutput, path string) pulumi.StringOutput {
	return pulumi.Sprintf("http://%s%s", address, path)
}
