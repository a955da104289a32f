package stack

import (
	"encoding/base64"
	"encoding/json"

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

// podAnnotations are a component's pod template annotations: the checksums
// of the shared configuration plus, for a built image, its digest.
func (d imageDigests) podAnnotations(component string, checksums map[string]string) pulumi.StringMap {
	m := pulumi.ToStringMap(checksums)
	if digest, ok := d[component]; ok {
		m[components.ImageDigestAnnotation] = digest
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// PullSecretData is the .dockerconfigjson of the image pull Secret made from
// the registry credentials, or nil without credentials. The chart renders the
// same JSON (sorted keys, as encoding/json and Helm's toJson both write it).
func PullSecretData(cfg *config.Stack) map[string]string {
	im := cfg.Images
	if !im.HasCredentials() {
		return nil
	}
	auth := map[string]any{"auths": map[string]any{im.RegistryServer(): map[string]any{
		"username": im.Username,
		"password": im.Password,
		"auth":     base64.StdEncoding.EncodeToString([]byte(im.Username + ":" + im.Password)),
	}}}
	b, err := json.Marshal(auth)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return map[string]string{".dockerconfigjson": string(b)}
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
