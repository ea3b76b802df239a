package ops

import (
	"encoding/json"
	"net/http/httptest"
	"runtime/debug"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		bi   debug.BuildInfo
		want Version
		str  string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, Version{Version: "v1.4.0"}, "v1.4.0"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"},
			{Key: "vcs.time", Value: "2026-12-01T09:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}, Version{Version: "(devel)", Revision: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d", Time: "2026-12-01T09:00:00Z", Modified: true},
			"(devel) 1a2b3c4d5e6f 2026-12-01T09:00:00Z modified"},
		{debug.BuildInfo{Main: debug.Module{Version: "v1.4.1-0.20261201090000-1a2b3c4d5e6f"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"},
			{Key: "vcs.modified", Value: "false"},
		}}, Version{Version: "v1.4.1-0.20261201090000-1a2b3c4d5e6f", Revision: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"},
			"v1.4.1-0.20261201090000-1a2b3c4d5e6f"},
		{debug.BuildInfo{}, Version{Version: "(devel)"}, "(devel)"},
	} {
		got := versionOf(&tc.bi)
		if got != tc.want {
			t.Errorf("versionOf(%+v) = %+v, want %+v", tc.bi, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("%+v.String() = %q, want %q", got, s, tc.str)
		}
	}
}

// TestLiveReportsVersion: /healthz answers JSON with status ok and the
// running binary's build, also while draining.
func TestLiveReportsVersion(t *testing.T) {
	h := NewHealth(0)
	if h.Version() != BuildVersion() || h.Version().Version == "" {
		t.Fatalf("health reports %+v, the binary is %+v", h.Version(), BuildVersion())
	}
	h.version = Version{Version: "v9.8.7", Revision: "abc", Modified: true}
	for _, draining := range []bool{false, true} {
		if draining {
			h.Drain()
		}
		rec := httptest.NewRecorder()
		h.Live(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("draining %v: %d %q", draining, rec.Code, rec.Header().Get("Content-Type"))
		}
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
		want := map[string]any{"status": "ok", "version": "v9.8.7", "revision": "abc", "modified": true}
		if len(got) != len(want) {
			t.Fatalf("body %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("body %v, want %v", got, want)
			}
		}
	}
}
