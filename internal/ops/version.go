package ops

import (
	"runtime/debug"
	"strings"
)

// Version says which build of the server is running, from the build
// information the Go toolchain stamps into every binary: the main module's
// version (a tag such as v1.4.0 when built from a module download,
// "(devel)" or a pseudo-version when built from a checkout) and, when built
// inside a git checkout, the commit, its time and whether the tree had
// uncommitted changes.
type Version struct {
	Version  string `json:"version"`            // main module version, "(devel)" when unknown
	Revision string `json:"revision,omitempty"` // vcs.revision: the commit hash
	Time     string `json:"time,omitempty"`     // vcs.time: the commit time, RFC 3339
	Modified bool   `json:"modified,omitempty"` // vcs.modified: built from a tree with uncommitted changes
}

// BuildVersion reads the running binary's build information. A binary
// without it (built with -buildvcs=false and outside a module download)
// reports version "(devel)" and nothing else.
func BuildVersion() Version {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Version{Version: "(devel)"}
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) Version {
	v := Version{Version: bi.Main.Version}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the version on one line, as `server -version` prints it and the
// start-up log shows it: "v1.4.0", or "(devel) 1a2b3c4d5e6f 2026-12-01T09:00:00Z
// modified" for a build from a checkout.
func (v Version) String() string {
	parts := []string{v.Version}
	if v.Revision != "" {
		rev := v.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		// A pseudo-version already names the commit.
		if !strings.HasSuffix(v.Version, rev) {
			parts = append(parts, rev)
		}
	}
	if v.Time != "" {
		parts = append(parts, v.Time)
	}
	if v.Modified {
		parts = append(parts, "modified")
	}
	return strings.Join(parts, " ")
}
