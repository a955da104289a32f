// Command rhesis is the Pulumi program that deploys the Rhesis stack to
// Kubernetes; see README.md.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/stack"
)

func main() {
	pulumi.Run(stack.Program)
}
