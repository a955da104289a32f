package stack

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// imageDigests are the content digests of the images built for this stack,
// by image name; empty when the images are prebuilt.
type imageDigests map[string]pulumi.StringOutput

// buildImages builds the stack's images, once, for whichever mode deploys them.
func buildImages(ctx *pulumi.Context, cfg *config.Stack) (imageDigests, error) {
	builds := cfg.ImageBuilds()
	if len(builds) == 0 {
		return imageDigests{}, nil
	}
	args := components.ImagesArgs{Builds: builds}
	if cfg.Images.HasCredentials() {
		args.Login = &components.RegistryLogin{
			Server: cfg.Images.RegistryServer(), Username: cfg.Images.Username, Password: cfg.Images.Password,
		}
	}
	images, err := components.NewImages(ctx, "images", args)
	if err != nil {
		return nil, err
	}
	return images.Digests, nil
}

// imageOutputs describe every application image: its reference, whether
// the program builds and pushes it, and the built content's digest.
func imageOutputs(cfg *config.Stack, digests imageDigests) pulumi.Map {
	out := pulumi.Map{}
	for _, name := range cfg.AppImages() {
		img := cfg.AppImage(name)
		m := pulumi.Map{
			"ref":    pulumi.String(img.Ref()),
			"built":  pulumi.Bool(img.Built),
			"pushed": pulumi.Bool(img.Built && cfg.Images.Push),
		}
		if d, ok := digests[name]; ok {
			m["digest"] = d
		}
		out[name] = m
	}
	return out
}
