// compose-check loads a Compose file the way `docker compose config` does (compose-go: schema
// validation, interpolation, merge of YAML anchors, consistency checks such as depends_on
// targets) and prints the resolved project as JSON, so that a Docker CLI without the compose
// plugin, or no Docker at all, can still check the file.
//
// Usage: compose-check FILE   (exit 0 and JSON on stdout, or exit 1 and the error on stderr)
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE")
		os.Exit(2)
	}
	// Interpolation sees no variables from the caller's environment: the defaults written in
	// the file are what is checked, whatever the machine running the check has set.
	opts, err := cli.NewProjectOptions([]string{os.Args[1]}, cli.WithName("gridgate"),
		cli.WithEnv(nil))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p, err := cli.ProjectFromOptions(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := p.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(append(out, '\n'))
}
