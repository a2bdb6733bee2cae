package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time with
// -ldflags "-X main.version=v1.2.3 -X main.commit=abc123"; otherwise they
// come from the module's build information.
var (
	version = ""
	commit  = ""
)

func versionString() string {
	v, c := buildVersion()
	return fmt.Sprintf("%s (commit %s, %s)", v, c, runtime.Version())
}

// buildVersion returns the binary's version and commit.
func buildVersion() (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

func runVersion(stdout io.Writer) error {
	_, err := fmt.Fprintf(stdout, "widgetapi %s\n", versionString())
	return err
}
