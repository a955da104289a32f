package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// Probe is an HTTP GET on Path, or a TCP check when Path is empty, on the
// workload's port. Every timeout is at least 5 s: the seed's 1 s timeouts
// killed healthy pods under load.
type Probe struct {
	Path             string
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
	// Recreate stops the old pod before starting the new one: required for a
	// single-writer volume.
	Recreate       bool
	PodAnnotations pulumi.StringMap
	// ImagePullSecrets are the Secrets the kubelet pulls the image with.
	ImagePullSecrets []string
	// DependsOn are children (volume claims) the Deployment must wait for.
	DependsOn []pulumi.Resource
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

	dep, err := appsv1.NewDeployment(ctx, args.Name, &appsv1.DeploymentArgs{
		Metadata: meta,
		Spec: appsv1.DeploymentSpecArgs{
			Replicas:             pulumi.Int(args.Settings.Replicas),
			RevisionHistoryLimit: pulumi.Int(5),
			Selector:             metav1.LabelSelectorArgs{MatchLabels: selector},
			Strategy:             strategy(args.Recreate),
			Template: corev1.PodTemplateSpecArgs{
				Metadata: metav1.ObjectMetaArgs{Labels: labels, Annotations: args.PodAnnotations},
				Spec:     podSpec(args),
			},
		},
	}, pulumi.Parent(parent), pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, fmt.Errorf("deployment %s: %w", args.Name, err)
	}

	svc, err := corev1.NewService(ctx, args.Name, &corev1.ServiceArgs{
		Metadata: metav1.ObjectMetaArgs{
			Name: pulumi.String(args.Name), Namespace: args.Namespace, Labels: labels,
			Annotations: pulumi.StringMap{ServiceSkipAwait: pulumi.String("true")},
		},
		Spec: corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: selector,
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name:       pulumi.String(args.PortName),
				Port:       pulumi.Int(args.Port),
				TargetPort: pulumi.String(args.PortName),
				Protocol:   pulumi.String("TCP"),
			}},
		},
	}, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", args.Name, err)
	}
	return &Workload{Deployment: dep, Service: svc}, nil
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
	env := corev1.EnvVarArray{}
	for _, e := range append(append([]Env{}, args.Env...), LiteralsSorted(args.Settings.ExtraEnv)...) {
		env = append(env, e.args())
	}
	var envFrom corev1.EnvFromSourceArray
	if args.EnvFrom {
		envFrom = corev1.EnvFromSourceArray{corev1.EnvFromSourceArgs{
			ConfigMapRef: corev1.ConfigMapEnvSourceArgs{Name: pulumi.String(ConfigMapName)},
		}}
	}
	var volumes corev1.VolumeArray
	var mounts corev1.VolumeMountArray
	for _, v := range args.Volumes {
		vol := corev1.VolumeArgs{Name: pulumi.String(v.Name)}
		if v.ClaimName != "" {
			vol.PersistentVolumeClaim = corev1.PersistentVolumeClaimVolumeSourceArgs{ClaimName: pulumi.String(v.ClaimName)}
		} else {
			vol.EmptyDir = corev1.EmptyDirVolumeSourceArgs{}
		}
		volumes = append(volumes, vol)
		mounts = append(mounts, corev1.VolumeMountArgs{Name: pulumi.String(v.Name), MountPath: pulumi.String(v.MountPath)})
	}
	res := args.Settings.Resources
	container := corev1.ContainerArgs{
		Name:            pulumi.String(args.Name),
		Image:           pulumi.String(args.Settings.Image.Ref()),
		ImagePullPolicy: pulumi.String(args.Settings.Image.PullPolicy),
		Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{
			Name: pulumi.String(args.PortName), ContainerPort: pulumi.Int(args.Port), Protocol: pulumi.String("TCP"),
		}},
		Env:     env,
		EnvFrom: envFrom,
		Resources: corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String(res.Requests.CPU.String()), "memory": pulumi.String(res.Requests.Memory.String())},
			Limits:   pulumi.StringMap{"cpu": pulumi.String(res.Limits.CPU.String()), "memory": pulumi.String(res.Limits.Memory.String())},
		},
		ReadinessProbe: probe(args.Readiness, args.PortName),
		LivenessProbe:  probe(args.Liveness, args.PortName),
		VolumeMounts:   mounts,
		SecurityContext: corev1.SecurityContextArgs{
			RunAsNonRoot:             pulumi.Bool(true),
			RunAsUser:                pulumi.Int(args.RunAs.User),
			RunAsGroup:               pulumi.Int(args.RunAs.Group),
			AllowPrivilegeEscalation: pulumi.Bool(false),
			Capabilities:             corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
			SeccompProfile:           corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
	}
	if len(args.Command) > 0 {
		container.Command = pulumi.ToStringArray(args.Command)
	}
	if len(args.Args) > 0 {
		container.Args = pulumi.ToStringArray(args.Args)
	}
	if args.Startup != nil {
		container.StartupProbe = probe(*args.Startup, args.PortName)
	}
	return corev1.PodSpecArgs{
		// The applications never call the Kubernetes API.
		AutomountServiceAccountToken: pulumi.Bool(false),
		SecurityContext: corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(args.RunAs.User),
			RunAsGroup:     pulumi.Int(args.RunAs.Group),
			FsGroup:        pulumi.Int(args.RunAs.FSGroup),
			SeccompProfile: corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		ImagePullSecrets: pullSecrets(args.ImagePullSecrets),
		Containers:       corev1.ContainerArray{container},
		Volumes:          volumes,
	}
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
	if p.Path != "" {
		a.HttpGet = corev1.HTTPGetActionArgs{Path: pulumi.String(p.Path), Port: pulumi.String(port)}
	} else {
		a.TcpSocket = corev1.TCPSocketActionArgs{Port: pulumi.String(port)}
	}
	return a
}
