package stack

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// imageDigests are the content digests of the images built for this stack,
// by image name; empty when the images are prebuilt.
type imageDigests map[string]pulumi.StringOutput

func buildImages(ctx *pulumi.Context, r *Resolved) (imageDigests, error) {
	builds := r.Config.ImageBuilds(r.Rendered.Objects)
	if len(builds) == 0 {
		return imageDigests{}, nil
	}
	args := components.ImagesArgs{Builds: builds}
	if user := config.String(r.Merged, "global.imageCredentials.username"); user != "" {
		args.Login = &components.RegistryLogin{
			Server:   config.String(r.Merged, "global.imageCredentials.registry"),
			Username: user, Password: config.String(r.Merged, "secrets.registryPassword"),
		}
	}
	images, err := components.NewImages(ctx, "images", args)
	if err != nil {
		return nil, err
	}
	return images.Digests, nil
}

// imageOutputs describe each application image the stack runs: its
// reference as the workloads name it, whether it is built and pushed, and
// the digest of a built one.
func imageOutputs(r *Resolved, digests imageDigests) pulumi.Map {
	out := pulumi.Map{}
	build := r.Config.Deploy.Images
	for _, img := range config.Buildable {
		ref := config.WorkloadImage(r.Rendered.Objects, img.Workload)
		if ref == "" {
			continue
		}
		m := pulumi.Map{
			"ref":    pulumi.String(ref),
			"built":  pulumi.Bool(build.Build),
			"pushed": pulumi.Bool(build.Build && build.Push),
		}
		if d, ok := digests[img.Image]; ok {
			m["digest"] = d
		}
		out[img.Image] = m
	}
	return out
}
