package components

import (
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// RegistryLogin are the credentials pushes log in with.
type RegistryLogin struct {
	Server, Username, Password string
}

// ImagesArgs are the builds of one stack.
type ImagesArgs struct {
	Builds []config.ImageBuild
	// Login is used to push; nil leaves it to Docker's own login.
	Login *RegistryLogin
}

// Images builds (and pushes) the application images with Docker.
type Images struct {
	pulumi.ResourceState

	// Digests are the content digests by image name: the manifest digest of
	// a pushed image, the local image ID otherwise.
	Digests map[string]pulumi.StringOutput
}

// NewImages registers one docker.Image per build. The pods name the images by
// their configured reference, known at preview; the digests follow the build.
func NewImages(ctx *pulumi.Context, name string, args ImagesArgs, opts ...pulumi.ResourceOption) (*Images, error) {
	c := &Images{Digests: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource(TypePrefix+"Images", name, c, opts...); err != nil {
		return nil, err
	}
	outputs := pulumi.Map{}
	for _, b := range args.Builds {
		build := docker.DockerBuildArgs{
			Context:    pulumi.String(b.Context),
			Dockerfile: pulumi.String(b.Dockerfile),
			Platform:   pulumi.String(b.Platform),
			Args:       pulumi.ToStringMap(b.Args),
		}
		if b.Target != "" {
			build.Target = pulumi.String(b.Target)
		}
		imageArgs := &docker.ImageArgs{
			ImageName: pulumi.String(b.Ref),
			Build:     build,
			SkipPush:  pulumi.Bool(!b.Push),
		}
		if b.Push && args.Login != nil {
			imageArgs.Registry = docker.RegistryArgs{
				Server:   pulumi.String(args.Login.Server),
				Username: pulumi.String(args.Login.Username),
				Password: pulumi.ToSecret(pulumi.String(args.Login.Password)).(pulumi.StringOutput),
			}
		}
		img, err := docker.NewImage(ctx, b.Name+"-image", imageArgs, pulumi.Parent(c))
		if err != nil {
			return nil, err
		}
		c.Digests[b.Name] = img.RepoDigest
		outputs[b.Name] = img.RepoDigest
	}
	if err := ctx.RegisterResourceOutputs(c, outputs); err != nil {
		return nil, err
	}
	return c, nil
}
