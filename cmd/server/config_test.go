package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestConfigurationDocumented: every setting is in docs/configuration.md,
// with its flag, variable and default.
func TestConfigurationDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		row := "| `-" + s.flag + "` | `" + s.env + "` | "
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md has no row for -%s / %s", s.flag, s.env)
			continue
		}
		if s.def != "" && !strings.Contains(string(doc), row+"`"+s.def+"`") {
			t.Errorf("docs/configuration.md gives another default for -%s than %q", s.flag, s.def)
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnvAndFlags(t *testing.T) {
	c, err := parseConfig("server", []string{"-addr", "127.0.0.1:9000"},
		env(map[string]string{"ADDR": ":7000", "DATABASE_URL": "postgres://x/y", "HEAD_CHECK_INTERVAL": "500ms",
			"TRUSTED_ORIGINS": "https://a.example, http://b.example:8080", "TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.DatabaseURL != "postgres://x/y" || c.HeadInterval.String() != "500ms" ||
		len(c.TrustedOrigins) != 2 || c.TrustedOrigins[1] != "http://b.example:8080" ||
		len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.1/32" || !c.Migrate || c.IdempotencyTTL.String() != "24h0m0s" {
		t.Fatalf("got %+v", c)
	}
}

func TestConfigRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{}, nil, "no database"},
		{map[string]string{"DATABASE_URL": "x", "ADDR": "8080"}, nil, "-addr / ADDR"},
		{map[string]string{"DATABASE_URL": "x", "IDEMPOTENCY_TTL": "-1s"}, nil, "IDEMPOTENCY_TTL"},
		{map[string]string{"DATABASE_URL": "x", "LOG_FORMAT": "xml"}, nil, "must be one of text, json"},
		{map[string]string{"DATABASE_URL": "x"}, []string{"-ws-queue-bytes", "10"}, "-ws-queue-bytes"},
		{map[string]string{"DATABASE_URL": "x", "WS_COALESCE_WINDOW": "2s"}, nil, "at most 1s"},
		{map[string]string{"DATABASE_URL": "x", "WS_COALESCE_WINDOW": "-1ms"}, nil, "WS_COALESCE_WINDOW"},
		{map[string]string{"DATABASE_URL": "x", "MIGRATE": "perhaps"}, nil, "MIGRATE"},
		{map[string]string{"DATABASE_URL": "x", "TRUSTED_ORIGINS": "example.com"}, nil, "not an origin"},
		{map[string]string{"DATABASE_URL": "x", "TRUSTED_PROXIES": "10.0.0.0/33"}, nil, "TRUSTED_PROXIES"},
		{map[string]string{"DATABASE_URL": "x"}, []string{"extra"}, "unexpected argument"},
	} {
		_, err := parseConfig("server", tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want an error mentioning %q", tc.env, tc.args, err, tc.want)
		}
	}
}
