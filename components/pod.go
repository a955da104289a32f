package components

import (
	"fmt"
	"sort"
	"strings"

	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	rbac "k8s.io/api/rbac/v1"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// NamedPort is a container port.
type NamedPort struct {
	Name string
	Port int
}

// ContainerSpec is one container as every pod of the stack runs it: the
// restricted security context, resources with ephemeral storage, env.
type ContainerSpec struct {
	Name, Image, PullPolicy string
	Command, Args           []string
	Ports                   []NamedPort
	EnvFrom                 bool // read the whole shared ConfigMap
	Env                     []Env
	Resources               config.Resources
	Mounts                  []Volume
	ReadOnlyRoot            bool
	RunAs                   RunAs
}

func (c ContainerSpec) args() corev1.ContainerArgs {
	env := corev1.EnvVarArray{}
	for _, e := range c.Env {
		env = append(env, e.args())
	}
	var envFrom corev1.EnvFromSourceArray
	if c.EnvFrom {
		envFrom = corev1.EnvFromSourceArray{corev1.EnvFromSourceArgs{
			ConfigMapRef: corev1.ConfigMapEnvSourceArgs{Name: pulumi.String(ConfigMapName)},
		}}
	}
	var mounts corev1.VolumeMountArray
	for _, v := range c.Mounts {
		m := corev1.VolumeMountArgs{Name: pulumi.String(v.Name), MountPath: pulumi.String(v.MountPath)}
		if v.ReadOnly {
			m.ReadOnly = pulumi.Bool(true)
		}
		mounts = append(mounts, m)
	}
	var ports corev1.ContainerPortArray
	for _, p := range c.Ports {
		ports = append(ports, corev1.ContainerPortArgs{Name: pulumi.String(p.Name), ContainerPort: pulumi.Int(p.Port), Protocol: pulumi.String("TCP")})
	}
	out := corev1.ContainerArgs{
		Name:            pulumi.String(c.Name),
		Image:           pulumi.String(c.Image),
		ImagePullPolicy: pulumi.String(c.PullPolicy),
		Ports:           ports,
		Env:             env,
		EnvFrom:         envFrom,
		Resources: corev1.ResourceRequirementsArgs{
			Requests: quantities(c.Resources.Requests),
			Limits:   quantities(c.Resources.Limits),
		},
		VolumeMounts: mounts,
		SecurityContext: corev1.SecurityContextArgs{
			RunAsNonRoot:             pulumi.Bool(true),
			RunAsUser:                pulumi.Int(c.RunAs.User),
			RunAsGroup:               pulumi.Int(c.RunAs.Group),
			AllowPrivilegeEscalation: pulumi.Bool(false),
			ReadOnlyRootFilesystem:   pulumi.Bool(c.ReadOnlyRoot),
			Capabilities:             corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
			SeccompProfile:           corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
	}
	if len(c.Command) > 0 {
		out.Command = pulumi.ToStringArray(c.Command)
	}
	if len(c.Args) > 0 {
		out.Args = pulumi.ToStringArray(c.Args)
	}
	return out
}

func quantities(q config.Quantities) pulumi.StringMap {
	return pulumi.StringMap{
		"cpu":               pulumi.String(q.CPU.String()),
		"memory":            pulumi.String(q.Memory.String()),
		"ephemeral-storage": pulumi.String(q.EphemeralStorage.String()),
	}
}

// PodArgs are the pod-level settings every pod of the stack shares.
type PodArgs struct {
	ServiceAccount string
	RunAs          RunAs
	PullSecrets    []string
	InitContainers corev1.ContainerArray
	Containers     corev1.ContainerArray
	Volumes        []Volume
	// RestartPolicy is empty for Deployments, Never or OnFailure for jobs.
	RestartPolicy string
	// NextTo, when set, schedules the pod on the node of that component's
	// pod (to share a ReadWriteOnce volume with it).
	NextTo string
}

func (p PodArgs) args() corev1.PodSpecArgs {
	var volumes corev1.VolumeArray
	for _, v := range p.Volumes {
		vol := corev1.VolumeArgs{Name: pulumi.String(v.Name)}
		if v.ClaimName != "" {
			vol.PersistentVolumeClaim = corev1.PersistentVolumeClaimVolumeSourceArgs{ClaimName: pulumi.String(v.ClaimName)}
		} else {
			vol.EmptyDir = corev1.EmptyDirVolumeSourceArgs{}
		}
		volumes = append(volumes, vol)
	}
	spec := corev1.PodSpecArgs{
		ServiceAccountName: pulumi.String(p.ServiceAccount),
		// The applications never call the Kubernetes API.
		AutomountServiceAccountToken: pulumi.Bool(false),
		SecurityContext: corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(p.RunAs.User),
			RunAsGroup:     pulumi.Int(p.RunAs.Group),
			FsGroup:        pulumi.Int(p.RunAs.FSGroup),
			SeccompProfile: corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		ImagePullSecrets: pullSecrets(p.PullSecrets),
		InitContainers:   p.InitContainers,
		Containers:       p.Containers,
		Volumes:          volumes,
	}
	if p.RestartPolicy != "" {
		spec.RestartPolicy = pulumi.String(p.RestartPolicy)
	}
	if p.NextTo != "" {
		spec.Affinity = corev1.AffinityArgs{PodAffinity: corev1.PodAffinityArgs{
			RequiredDuringSchedulingIgnoredDuringExecution: corev1.PodAffinityTermArray{corev1.PodAffinityTermArgs{
				LabelSelector: metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(SelectorLabels(p.NextTo))},
				TopologyKey:   pulumi.String("kubernetes.io/hostname"),
			}},
		}}
	}
	return spec
}

// NewServiceAccount creates the identity of one component's pods: no API
// token is mounted and no role is bound; annotations carry a cloud workload
// identity when one is configured.
func NewServiceAccount(ctx *pulumi.Context, parent pulumi.Resource, name string, namespace pulumi.StringInput,
	labels pulumi.StringMap, annotations map[string]string) (*corev1.ServiceAccount, error) {
	meta := metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: namespace, Labels: labels}
	if len(annotations) > 0 {
		meta.Annotations = pulumi.ToStringMap(annotations)
	}
	return corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{
		Metadata:                     meta,
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, pulumi.Parent(parent))
}

// newRole grants the component's ServiceAccount the configured API rights
// in its namespace; nothing when none are configured.
func newRole(ctx *pulumi.Context, parent pulumi.Resource, name string, meta metav1.ObjectMetaArgs, rules []rbac.PolicyRule) error {
	if len(rules) == 0 {
		return nil
	}
	var policy rbacv1.PolicyRuleArray
	for _, r := range rules {
		rule := rbacv1.PolicyRuleArgs{Verbs: pulumi.ToStringArray(r.Verbs)}
		if len(r.APIGroups) > 0 {
			rule.ApiGroups = pulumi.ToStringArray(r.APIGroups)
		}
		if len(r.Resources) > 0 {
			rule.Resources = pulumi.ToStringArray(r.Resources)
		}
		if len(r.ResourceNames) > 0 {
			rule.ResourceNames = pulumi.ToStringArray(r.ResourceNames)
		}
		policy = append(policy, rule)
	}
	if _, err := rbacv1.NewRole(ctx, name, &rbacv1.RoleArgs{Metadata: meta, Rules: policy}, pulumi.Parent(parent)); err != nil {
		return err
	}
	_, err := rbacv1.NewRoleBinding(ctx, name, &rbacv1.RoleBindingArgs{
		Metadata: meta,
		RoleRef:  rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: pulumi.String(name)},
		Subjects: rbacv1.SubjectArray{rbacv1.SubjectArgs{Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(name), Namespace: meta.Namespace}},
	}, pulumi.Parent(parent))
	return err
}

// newScaling adds the HorizontalPodAutoscaler of an autoscaled component and
// a PodDisruptionBudget wherever more than one pod runs, so a node drain
// never takes the last one.
func newScaling(ctx *pulumi.Context, parent pulumi.Resource, args WorkloadArgs, meta metav1.ObjectMetaArgs, selector pulumi.StringMap) error {
	a := args.Settings.Autoscaling
	if a.Enabled {
		_, err := autoscalingv2.NewHorizontalPodAutoscaler(ctx, args.Name, &autoscalingv2.HorizontalPodAutoscalerArgs{
			Metadata: meta,
			Spec: autoscalingv2.HorizontalPodAutoscalerSpecArgs{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReferenceArgs{
					ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: pulumi.String(args.Name),
				},
				MinReplicas: pulumi.Int(a.MinReplicas),
				MaxReplicas: pulumi.Int(a.MaxReplicas),
				Metrics: autoscalingv2.MetricSpecArray{
					utilization("cpu", a.TargetCPU),
					utilization("memory", a.TargetMemory),
				},
				Behavior: autoscalingv2.HorizontalPodAutoscalerBehaviorArgs{
					ScaleDown: autoscalingv2.HPAScalingRulesArgs{StabilizationWindowSeconds: pulumi.Int(a.ScaleDownStabilizationSeconds)},
				},
			},
		}, pulumi.Parent(parent))
		if err != nil {
			return fmt.Errorf("autoscaler %s: %w", args.Name, err)
		}
	}
	if args.Settings.MinReplicas() > 1 {
		_, err := policyv1.NewPodDisruptionBudget(ctx, args.Name, &policyv1.PodDisruptionBudgetArgs{
			Metadata: meta,
			Spec: policyv1.PodDisruptionBudgetSpecArgs{
				MaxUnavailable: pulumi.Int(1),
				Selector:       metav1.LabelSelectorArgs{MatchLabels: selector},
			},
		}, pulumi.Parent(parent))
		if err != nil {
			return fmt.Errorf("disruption budget %s: %w", args.Name, err)
		}
	}
	return nil
}

func utilization(resource string, percent int) autoscalingv2.MetricSpecArgs {
	return autoscalingv2.MetricSpecArgs{
		Type: pulumi.String("Resource"),
		Resource: autoscalingv2.ResourceMetricSourceArgs{
			Name:   pulumi.String(resource),
			Target: autoscalingv2.MetricTargetArgs{Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(percent)},
		},
	}
}

// Ignore is a kube-score check that does not apply, with the reason why.
type Ignore struct{ Check, Reason string }

// KubeScoreIgnores are the kube-score checks a workload is exempt from, each
// for a reason that holds for this workload only.
func KubeScoreIgnores(runAs RunAs, readOnlyRoot bool, img config.Image) []Ignore {
	ig := []Ignore{{"container-security-context-user-group-id",
		fmt.Sprintf("runs as its image's own user %d:%d, which owns the image's files", runAs.User, runAs.Group)}}
	if !readOnlyRoot {
		ig = append(ig, Ignore{"container-security-context-readonlyrootfilesystem",
			"the Rhesis application images write inside their own filesystem (caches, temporary files)"})
	}
	if img.PullPolicy != config.PullAlways {
		ig = append(ig, Ignore{"container-image-pull-policy",
			"tags name releases (latest is refused outside local) and a rebuilt image rolls the pods through its digest annotation"})
	}
	if img.Tag == "latest" {
		ig = append(ig, Ignore{"container-image-tag", "local development images are tagged latest; staging and prod refuse it"})
	}
	return ig
}

// KubeScoreAnnotations turn ignores into kube-score's annotation and a
// second one that gives each reason.
func KubeScoreAnnotations(ignores []Ignore) map[string]string {
	if len(ignores) == 0 {
		return nil
	}
	sort.Slice(ignores, func(i, j int) bool { return ignores[i].Check < ignores[j].Check })
	checks := make([]string, len(ignores))
	reasons := make([]string, len(ignores))
	for i, ig := range ignores {
		checks[i] = ig.Check
		reasons[i] = ig.Check + ": " + ig.Reason
	}
	return map[string]string{
		"kube-score/ignore":         strings.Join(checks, ","),
		"rhesis.dev/kube-score-why": strings.Join(reasons, "; "),
	}
}
