package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// Probe is an HTTP GET on Path, a command (Exec), or a TCP check when both
// are empty, on the workload's port. Every timeout is at least 5 s: the
// seed's 1 s timeouts killed healthy pods under load.
type Probe struct {
	Path             string
	Exec             []string
	PeriodSeconds    int
	FailureThreshold int
}

// ProbeTimeoutSeconds is the timeout of every probe.
const ProbeTimeoutSeconds = 5

// Volume is mounted at MountPath: the claim ClaimName, or an emptyDir when
// ClaimName is empty (so a disabled claim is never referenced).
type Volume struct {
	Name      string
	MountPath string
	ClaimName string
	ReadOnly  bool
}

// RunAs is the identity a pod runs with; it must be the user the image really
// uses, or the image cannot write its own directories.
type RunAs struct {
	User, Group, FSGroup int
}

// WorkloadArgs describe one Deployment and its Service.
type WorkloadArgs struct {
	Name      string // object name and app label
	Role      string // app.kubernetes.io/component
	Namespace pulumi.StringInput
	Settings  config.Component // image, replicas, resources, extra env
	PortName  string
	Port      int
	Command   []string
	Args      []string
	EnvFrom   bool // read the whole shared ConfigMap
	Env       []Env
	RunAs     RunAs
	Startup   *Probe
	Readiness Probe
	Liveness  Probe
	Volumes   []Volume
	// ReadOnlyRoot mounts the root filesystem read-only, with an emptyDir
	// at /tmp (and the Volumes) the only writable places.
	ReadOnlyRoot bool
	// Sidecars run next to the main container (metrics exporters).
	Sidecars []Sidecar
	// Spread asks the scheduler to put replicas on different nodes.
	Spread bool
	// Recreate stops the old pod before starting the new one: required for a
	// single-writer volume.
	Recreate       bool
	PodAnnotations pulumi.StringMap
	// ImagePullSecrets are the Secrets the kubelet pulls the image with.
	ImagePullSecrets []string
	// DependsOn are children (volume claims) the Deployment must wait for.
	DependsOn []pulumi.Resource
	// PrepareDatabase starts the pod with an init container, of the same
	// image and wiring plus PrepareEnv, that sets up the app's database role
	// (when PrepareEnv names the owner) and waits until the database is at
	// the image's migrations.
	PrepareDatabase bool
	PrepareEnv      []Env
}

// PrepareDatabaseName is the init container of backend and worker.
const PrepareDatabaseName = "prepare-database"

// Sidecar is an extra container exposing PortName (a metrics port) on the
// workload's Service.
type Sidecar struct {
	Name, Image string
	PortName    string
	Port        int
	Env         []Env
	Resources   config.Resources
}

// ServiceSkipAwait stops Pulumi from awaiting a Service: its awaiter always
// waits 10 s for endpoints to "settle", per Service, although the Deployment
// awaiter has already proven the pods ready (and the tests prove selectors
// match). The chart carries the same annotation, which Helm ignores.
const ServiceSkipAwait = "pulumi.com/skipAwait"

// Workload is the Deployment and Service of one component.
type Workload struct {
	Deployment *appsv1.Deployment
	Service    *corev1.Service
}

// NewWorkload registers the Deployment and Service described by args as
// children of parent.
func NewWorkload(ctx *pulumi.Context, parent pulumi.Resource, args WorkloadArgs) (*Workload, error) {
	labels := pulumi.ToStringMap(Labels(args.Name, args.Role))
	selector := pulumi.ToStringMap(SelectorLabels(args.Name))
	meta := metav1.ObjectMetaArgs{Name: pulumi.String(args.Name), Namespace: args.Namespace, Labels: labels}

	sa, err := NewServiceAccount(ctx, parent, args.Name, args.Namespace, labels, args.Settings.ServiceAccountAnnotations)
	if err != nil {
		return nil, err
	}
	if err := newRole(ctx, parent, args.Name, meta, args.Settings.Rules); err != nil {
		return nil, fmt.Errorf("role %s: %w", args.Name, err)
	}
	depMeta := meta
	depMeta.Annotations = pulumi.ToStringMap(KubeScoreAnnotations(KubeScoreIgnores(args.RunAs, args.ReadOnlyRoot, args.Settings.Image)))
	spec := appsv1.DeploymentSpecArgs{
		RevisionHistoryLimit: pulumi.Int(5),
		Selector:             metav1.LabelSelectorArgs{MatchLabels: selector},
		Strategy:             strategy(args.Recreate),
		Template: corev1.PodTemplateSpecArgs{
			Metadata: metav1.ObjectMetaArgs{Labels: labels, Annotations: args.PodAnnotations},
			Spec:     podSpec(args),
		},
	}
	// An autoscaled Deployment has no replicas of the program's: the field
	// stays the autoscaler's, and a later `pulumi up` does not reset it.
	if !args.Settings.Autoscaling.Enabled {
		spec.Replicas = pulumi.Int(args.Settings.Replicas)
	}
	dep, err := appsv1.NewDeployment(ctx, args.Name, &appsv1.DeploymentArgs{Metadata: depMeta, Spec: spec},
		pulumi.Parent(parent), pulumi.DependsOn(append(args.DependsOn, sa)))
	if err != nil {
		return nil, fmt.Errorf("deployment %s: %w", args.Name, err)
	}
	if err := newScaling(ctx, parent, args, meta, selector); err != nil {
		return nil, err
	}

	svc, err := corev1.NewService(ctx, args.Name, &corev1.ServiceArgs{
		Metadata: metav1.ObjectMetaArgs{
			Name: pulumi.String(args.Name), Namespace: args.Namespace, Labels: labels,
			Annotations: pulumi.StringMap{ServiceSkipAwait: pulumi.String("true")},
		},
		Spec: corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: selector,
			Ports:    servicePorts(args),
		},
	}, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", args.Name, err)
	}
	return &Workload{Deployment: dep, Service: svc}, nil
}

func servicePorts(args WorkloadArgs) corev1.ServicePortArray {
	port := func(name string, n int) corev1.ServicePortArgs {
		return corev1.ServicePortArgs{Name: pulumi.String(name), Port: pulumi.Int(n), TargetPort: pulumi.String(name), Protocol: pulumi.String("TCP")}
	}
	ports := corev1.ServicePortArray{port(args.PortName, args.Port)}
	for _, sc := range args.Sidecars {
		ports = append(ports, port(sc.PortName, sc.Port))
	}
	return ports
}

func strategy(recreate bool) appsv1.DeploymentStrategyArgs {
	if recreate {
		return appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")}
	}
	// Start a new pod before stopping an old one: no capacity is lost during a rollout.
	return appsv1.DeploymentStrategyArgs{
		Type: pulumi.String("RollingUpdate"),
		RollingUpdate: appsv1.RollingUpdateDeploymentArgs{
			MaxSurge:       pulumi.Int(1),
			MaxUnavailable: pulumi.Int(0),
		},
	}
}

func podSpec(args WorkloadArgs) corev1.PodSpecArgs {
	volumes := args.Volumes
	if args.ReadOnlyRoot {
		volumes = append(append([]Volume{}, volumes...), Volume{Name: "tmp", MountPath: "/tmp"})
	}
	main := ContainerSpec{
		Name: args.Name, Image: args.Settings.Image.Ref(), PullPolicy: args.Settings.Image.PullPolicy,
		Command: args.Command, Args: args.Args,
		Ports: []NamedPort{{args.PortName, args.Port}}, EnvFrom: args.EnvFrom,
		Env: append(append([]Env{}, args.Env...), LiteralsSorted(args.Settings.ExtraEnv)...), Resources: args.Settings.Resources,
		Mounts: volumes, ReadOnlyRoot: args.ReadOnlyRoot, RunAs: args.RunAs,
	}
	container := main.args()
	container.ReadinessProbe = probe(args.Readiness, args.PortName)
	container.LivenessProbe = probe(args.Liveness, args.PortName)
	if args.Startup != nil {
		container.StartupProbe = probe(*args.Startup, args.PortName)
	}
	containers := corev1.ContainerArray{container}
	for _, sc := range args.Sidecars {
		containers = append(containers, ContainerSpec{
			Name: sc.Name, Image: sc.Image, PullPolicy: config.PullIfNotPresent,
			Ports: []NamedPort{{sc.PortName, sc.Port}}, Env: sc.Env, Resources: sc.Resources,
			ReadOnlyRoot: true, RunAs: args.RunAs,
		}.args())
	}
	var initContainers corev1.ContainerArray
	if args.PrepareDatabase {
		// The app's own image and wiring, plus what only this step may see.
		prepare := main
		prepare.Name, prepare.Ports, prepare.Args, prepare.Mounts = PrepareDatabaseName, nil, nil, nil
		prepare.Command = []string{"sh", "-c", charts.PrepareDatabase}
		prepare.Env = append(append([]Env{}, prepare.Env...), args.PrepareEnv...)
		initContainers = append(initContainers, prepare.args())
	}
	pod := PodArgs{
		ServiceAccount: args.Name, RunAs: args.RunAs, PullSecrets: args.ImagePullSecrets,
		InitContainers: initContainers, Containers: containers, Volumes: volumes,
	}.args()
	if args.Spread {
		pod.TopologySpreadConstraints = corev1.TopologySpreadConstraintArray{corev1.TopologySpreadConstraintArgs{
			MaxSkew:           pulumi.Int(1),
			TopologyKey:       pulumi.String("kubernetes.io/hostname"),
			WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
			LabelSelector:     metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(SelectorLabels(args.Name))},
		}}
	}
	return pod
}

func pullSecrets(names []string) corev1.LocalObjectReferenceArray {
	var refs corev1.LocalObjectReferenceArray
	for _, n := range names {
		refs = append(refs, corev1.LocalObjectReferenceArgs{Name: pulumi.String(n)})
	}
	return refs
}

func probe(p Probe, port string) corev1.ProbeArgs {
	a := corev1.ProbeArgs{
		PeriodSeconds:    pulumi.Int(p.PeriodSeconds),
		TimeoutSeconds:   pulumi.Int(ProbeTimeoutSeconds),
		FailureThreshold: pulumi.Int(p.FailureThreshold),
	}
	switch {
	case p.Path != "":
		a.HttpGet = corev1.HTTPGetActionArgs{Path: pulumi.String(p.Path), Port: pulumi.String(port)}
	case len(p.Exec) > 0:
		a.Exec = corev1.ExecActionArgs{Command: pulumi.ToStringArray(p.Exec)}
	default:
		a.TcpSocket = corev1.TCPSocketActionArgs{Port: pulumi.String(port)}
	}
	return a
}
