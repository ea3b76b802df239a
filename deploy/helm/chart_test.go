// Package helm holds no code: its test checks the Helm chart in corkboard/
// with Helm's own Go library (lint, and rendering as `helm template` does),
// decodes every rendered manifest strictly into the Kubernetes API types,
// and checks what the chart passes to the server against the settings the
// server reads. Helm and the Kubernetes API packages are dependencies of
// this test only: nothing of the server imports them.
package helm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const chartDir = "corkboard"

// kubeVersion is the Kubernetes the chart is rendered for: the release
// k8s.io/api v0.37 describes.
func kubeVersion(t *testing.T) *common.KubeVersion {
	t.Helper()
	v, err := common.ParseKubeVersion("v1.37.0")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) that the chart uses; decoding refuses any
// other field, as for the Kubernetes types.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// kinds maps each apiVersion/kind the chart may render to a new value of
// its Go type. Anything else is an error.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"v1/Service":                              func() any { return new(corev1.Service) },
	"v1/Secret":                               func() any { return new(corev1.Secret) },
	"batch/v1/Job":                            func() any { return new(batchv1.Job) },
	"policy/v1/PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"networking.k8s.io/v1/Ingress":            func() any { return new(networkingv1.Ingress) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(serviceMonitor) },
}

// rendered is one rendering of the chart: its objects by kind and name, and
// the hooks.
type rendered struct {
	objects map[string]any // "Kind/name" → *typed object
	hooks   map[string]*release.Hook
}

func get[T any](t *testing.T, r rendered, kind, name string) *T {
	t.Helper()
	o, ok := r.objects[kind+"/"+name]
	if !ok {
		t.Fatalf("no %s %q rendered; have %v", kind, name, slices.Sorted(maps.Keys(r.objects)))
	}
	return o.(*T)
}

func (r rendered) has(kind, name string) bool { _, ok := r.objects[kind+"/"+name]; return ok }

// render renders the chart as `helm template` does (helm.sh/helm/v4's
// install action, client-only dry run: the values schema is applied, hooks
// are split out) and decodes every manifest strictly.
func render(t *testing.T, vals map[string]any) (rendered, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.NewTextHandler(io.Discard, nil))
	inst := action.NewInstall(cfg)
	inst.DryRunStrategy = action.DryRunClient
	inst.ReleaseName = "board"
	inst.Namespace = "corkboard"
	inst.Replace = true
	inst.APIVersions = []string{"monitoring.coreos.com/v1"}
	inst.KubeVersion = kubeVersion(t)
	rel, err := inst.Run(ch, vals)
	if err != nil {
		return rendered{}, err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		t.Fatalf("install returned a %T", rel)
	}
	out := rendered{objects: map[string]any{}, hooks: map[string]*release.Hook{}}
	docs := []string{r.Manifest}
	for _, h := range r.Hooks {
		docs = append(docs, h.Manifest)
		out.hooks[h.Kind+"/"+h.Name] = h
	}
	for _, d := range docs {
		for key, obj := range decodeAll(t, d) {
			if _, dup := out.objects[key]; dup {
				t.Errorf("%s rendered twice", key)
			}
			out.objects[key] = obj
		}
	}
	return out, nil
}

// decodeAll decodes a stream of YAML documents strictly: duplicate keys and
// fields the Go type does not have are errors.
func decodeAll(t *testing.T, stream string) map[string]any {
	t.Helper()
	objs := map[string]any{}
	rd := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("split the manifests: %v", err)
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatalf("manifest is not strict YAML: %v\n%s", err, doc)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue // an empty document (a comment only)
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &meta); err != nil {
			t.Fatalf("manifest: %v\n%s", err, doc)
		}
		mk, ok := kinds[meta.APIVersion+"/"+meta.Kind]
		if !ok {
			t.Fatalf("the chart renders a %s %s, which this test does not know", meta.APIVersion, meta.Kind)
		}
		obj := mk()
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			t.Fatalf("%s %q does not decode strictly into %T: %v\n%s", meta.Kind, meta.Metadata.Name, obj, err, doc)
		}
		objs[meta.Kind+"/"+meta.Metadata.Name] = obj
	}
}

// setting is one row of the server's settings table.
type setting struct{ env, def string }

// serverSettings reads the settings table from docs/configuration.md, which
// cmd/server's TestConfigurationDocumented keeps equal to the table the
// server parses (config.go's settings).
func serverSettings(t *testing.T) map[string]setting {
	t.Helper()
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `-[a-z0-9-]+` \\| `([A-Z0-9_]+)` \\| (?:`([^`]*)`|—) \\|")
	out := map[string]setting{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		out[m[1]] = setting{env: m[1], def: m[2]}
	}
	if len(out) < 20 || out["DATABASE_URL"].env == "" || out["DRAIN_DELAY"].def == "" {
		t.Fatalf("read %d settings from docs/configuration.md: its table changed shape", len(out))
	}
	return out
}

// baseValues: an external PostgreSQL and NATS, nothing else changed.
func baseValues() map[string]any {
	return map[string]any{
		"database": map[string]any{"url": "postgres://corkboard:pw@pg.db.svc:5432/corkboard?sslmode=require"},
		"nats":     map[string]any{"url": "nats://nats.nats.svc:4222", "user": "corkboard", "password": "natspw"},
		"config":   map[string]any{"trustedProxies": "10.0.0.0/8"},
	}
}

func with(base map[string]any, path string, v any) map[string]any {
	keys := strings.Split(path, ".")
	m := base
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
	return base
}

// TestChartLints: `helm lint --strict` (warnings are errors) passes with
// each combination of values the other tests render.
func TestChartLints(t *testing.T) {
	for name, vals := range valueSets() {
		lint := action.NewLint()
		lint.Strict = true
		lint.Namespace = "corkboard"
		lint.KubeVersion = kubeVersion(t)
		res := lint.Run([]string{chartDir}, vals)
		if len(res.Errors) > 0 || res.TotalChartsLinted != 1 {
			t.Errorf("%s: helm lint: %v", name, res.Errors)
		}
	}
}

func valueSets() map[string]map[string]any {
	return map[string]map[string]any{
		"defaults":       baseValues(),
		"ingress":        with(with(baseValues(), "ingress.enabled", true), "ingress.tls", []any{map[string]any{"secretName": "board-tls", "hosts": []any{"corkboard.example.com"}}}),
		"serviceMonitor": with(baseValues(), "metrics.serviceMonitor.enabled", true),
		"existingSecret": with(with(with(baseValues(), "database", map[string]any{"existingSecret": "pg-creds", "existingSecretKey": "url"}),
			"nats", map[string]any{"url": "nats://nats.nats.svc:4222", "existingSecret": "nats-creds", "userKey": "u", "passwordKey": "p"}), "extraEnv", map[string]any{"EVENT_RETENTION": "168h", "WS_QUEUE_BYTES": "2097152"}),
		"noMigrationJob": with(with(baseValues(), "migration.enabled", false), "autoscaling.enabled", false),
	}
}

// TestChartRenders renders each combination and checks the objects against
// each other and against the server's settings.
func TestChartRenders(t *testing.T) {
	settings := serverSettings(t)
	for name, vals := range valueSets() {
		t.Run(name, func(t *testing.T) {
			r, err := render(t, vals)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			checkRendering(t, name, r, settings)
		})
	}
}

func checkRendering(t *testing.T, name string, r rendered, settings map[string]setting) {
	const full = "board-corkboard"
	dep := get[appsv1.Deployment](t, r, "Deployment", full)
	pod := dep.Spec.Template
	sel, err := metaSelector(dep.Spec.Selector.MatchLabels)
	if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
		t.Fatalf("the Deployment's selector %v does not select its pods %v", dep.Spec.Selector, pod.Labels)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	env, secretRefs := envOf(t, c)

	// Every variable is a server setting, with a value of its kind.
	for k, v := range env {
		s, ok := settings[k]
		if !ok {
			t.Errorf("the chart sets %s, which the server does not read (docs/configuration.md)", k)
			continue
		}
		checkValueKind(t, s, v)
	}
	for _, k := range []string{"ADDR", "ADMIN_ADDR", "DATABASE_URL", "NATS_URL", "MIGRATE", "DRAIN_DELAY", "SHUTDOWN_TIMEOUT", "LOG_FORMAT"} {
		if _, ok := env[k]; !ok {
			t.Errorf("the chart does not set %s", k)
		}
	}

	// Ports: ADDR and ADMIN_ADDR are the container's named ports.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if portOf(t, env["ADDR"]) != ports["http"] || portOf(t, env["ADMIN_ADDR"]) != ports["admin"] || ports["http"] == 0 || ports["admin"] == 0 {
		t.Errorf("ADDR %q / ADMIN_ADDR %q, container ports %v", env["ADDR"], env["ADMIN_ADDR"], ports)
	}

	// Probes: liveness /healthz, readiness /readyz, on the HTTP port.
	probe := func(what string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", what, p, path)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")

	// A graceful stop fits: preStop sleep, then SHUTDOWN_TIMEOUT (which
	// holds DRAIN_DELAY), within the grace period.
	drain, shutdown := dur(t, env["DRAIN_DELAY"]), dur(t, env["SHUTDOWN_TIMEOUT"])
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatalf("no preStop sleep: %+v", c.Lifecycle)
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	grace := time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	if preStop <= 0 || drain <= 0 || drain >= shutdown || grace <= preStop+shutdown {
		t.Errorf("preStop %s, DRAIN_DELAY %s, SHUTDOWN_TIMEOUT %s, terminationGracePeriodSeconds %s: want a drain inside the timeout and a grace period longer than preStop + timeout",
			preStop, drain, shutdown, grace)
	}
	if s := dep.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable == nil || s.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v: want maxUnavailable 0", s)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		pod.Spec.SecurityContext == nil || pod.Spec.SecurityContext.RunAsNonRoot == nil || !*pod.Spec.SecurityContext.RunAsNonRoot {
		t.Errorf("the server must run as non-root on a read-only root filesystem: %+v %+v", pod.Spec.SecurityContext, c.SecurityContext)
	}

	// The Service sends to the pods' http port.
	svc := get[corev1.Service](t, r, "Service", full)
	if !selects(svc.Spec.Selector, pod.Labels) || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service %+v does not send to the pods' http port", svc.Spec)
	}
	if svc.Spec.SessionAffinity != corev1.ServiceAffinityNone {
		t.Errorf("Service session affinity %q: none is needed", svc.Spec.SessionAffinity)
	}

	// Secrets: DATABASE_URL and the NATS credentials come from Secrets
	// that hold what the values gave (or from the existing ones named).
	vals := valueSets()[name]
	db := vals["database"].(map[string]any)
	nats := vals["nats"].(map[string]any)
	checkSecretRef(t, r, secretRefs["DATABASE_URL"], db)
	if nats["user"] != nil || nats["existingSecret"] != nil {
		for _, k := range []string{"NATS_USER", "NATS_PASSWORD"} {
			ref := secretRefs[k]
			if ref == nil {
				t.Fatalf("%s not from a Secret", k)
			}
			if es, _ := nats["existingSecret"].(string); es != "" {
				want := map[string]string{"NATS_USER": nats["userKey"].(string), "NATS_PASSWORD": nats["passwordKey"].(string)}[k]
				if ref.Name != es || ref.Key != want {
					t.Errorf("%s from %s/%s, want the existing %s/%s", k, ref.Name, ref.Key, es, want)
				}
				continue
			}
			s := get[corev1.Secret](t, r, "Secret", ref.Name)
			want := map[string]any{"NATS_USER": nats["user"], "NATS_PASSWORD": nats["password"]}[k]
			if s.StringData[ref.Key] != want {
				t.Errorf("%s: Secret %s has %q under %s, want %q", k, ref.Name, s.StringData[ref.Key], ref.Key, want)
			}
		}
	}
	if _, ok := db["existingSecret"]; ok && r.has("Secret", full) && nats["existingSecret"] != nil {
		t.Errorf("with existing Secrets the chart still makes its own")
	}

	// The migration: a pre-install/pre-upgrade hook Job running
	// `server migrate` with the same image and database, before the pods,
	// which then do not migrate.
	job := "board-corkboard-migrate"
	if m, _ := vals["migration"].(map[string]any); m != nil && m["enabled"] == false {
		if r.has("Job", job) || env["MIGRATE"] != "true" {
			t.Errorf("migration job off: want no Job and MIGRATE=true, got Job %v and MIGRATE=%q", r.has("Job", job), env["MIGRATE"])
		}
	} else {
		checkMigrationJob(t, r, job, c, db)
		if env["MIGRATE"] != "false" {
			t.Errorf("MIGRATE=%q while the Job migrates", env["MIGRATE"])
		}
	}

	// Disruptions and scaling.
	if pdb := get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", full); !selects(pdb.Spec.Selector.MatchLabels, pod.Labels) ||
		pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget %+v", pdb.Spec)
	}
	if a, _ := vals["autoscaling"].(map[string]any); a != nil && a["enabled"] == false {
		if r.has("HorizontalPodAutoscaler", full) || dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
			t.Errorf("autoscaling off: want 3 replicas and no HPA")
		}
	} else {
		hpa := get[autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler", full)
		if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != dep.Name || hpa.Spec.MinReplicas == nil ||
			*hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
			t.Errorf("HPA %+v", hpa.Spec)
		}
		if dep.Spec.Replicas != nil {
			t.Errorf("the Deployment sets replicas (%d) while the HPA owns them", *dep.Spec.Replicas)
		}
	}

	// Optional objects.
	ing := vals["ingress"] != nil
	if r.has("Ingress", full) != ing {
		t.Errorf("Ingress rendered: %v, ingress.enabled: %v", r.has("Ingress", full), ing)
	}
	if ing {
		in := get[networkingv1.Ingress](t, r, "Ingress", full)
		if len(in.Spec.Rules) != 1 || in.Spec.Rules[0].Host != "corkboard.example.com" || len(in.Spec.TLS) != 1 {
			t.Fatalf("Ingress %+v", in.Spec)
		}
		b := in.Spec.Rules[0].HTTP.Paths[0].Backend.Service
		if b == nil || b.Name != svc.Name || b.Port.Name != svc.Spec.Ports[0].Name {
			t.Errorf("Ingress backend %+v, want the Service %s port %s", b, svc.Name, svc.Spec.Ports[0].Name)
		}
	}
	sm := false
	if m, _ := vals["metrics"].(map[string]any); m != nil {
		sm = m["serviceMonitor"].(map[string]any)["enabled"] == true
	}
	if r.has("ServiceMonitor", full) != sm || r.has("Service", full+"-admin") != sm {
		t.Errorf("ServiceMonitor rendered: %v, admin Service: %v, serviceMonitor.enabled: %v", r.has("ServiceMonitor", full), r.has("Service", full+"-admin"), sm)
	}
	if sm {
		mon := get[serviceMonitor](t, r, "ServiceMonitor", full)
		admin := get[corev1.Service](t, r, "Service", full+"-admin")
		if !selects(mon.Spec.Selector.MatchLabels, admin.Labels) || selects(mon.Spec.Selector.MatchLabels, svc.Labels) {
			t.Errorf("the ServiceMonitor's selector %v must pick the admin Service %v (only)", mon.Spec.Selector.MatchLabels, admin.Labels)
		}
		if len(mon.Spec.Endpoints) != 1 || mon.Spec.Endpoints[0].Port != "admin" || mon.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoints %+v", mon.Spec.Endpoints)
		}
		if !selects(admin.Spec.Selector, pod.Labels) || admin.Spec.Ports[0].Name != "admin" || admin.Spec.Ports[0].TargetPort.String() != "admin" {
			t.Errorf("admin Service %+v does not reach the pods' admin port", admin.Spec)
		}
	}
}

func checkMigrationJob(t *testing.T, r rendered, name string, server corev1.Container, db map[string]any) {
	t.Helper()
	job := get[batchv1.Job](t, r, "Job", name)
	h := r.hooks["Job/"+name]
	if h == nil || !slices.Contains(h.Events, release.HookPreInstall) || !slices.Contains(h.Events, release.HookPreUpgrade) {
		t.Fatalf("the migration Job is not a pre-install and pre-upgrade hook: %+v", h)
	}
	for what, sel := range map[string]map[string]string{
		"Deployment":          get[appsv1.Deployment](t, r, "Deployment", "board-corkboard").Spec.Selector.MatchLabels,
		"Service":             get[corev1.Service](t, r, "Service", "board-corkboard").Spec.Selector,
		"PodDisruptionBudget": get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", "board-corkboard").Spec.Selector.MatchLabels,
	} {
		if selects(sel, job.Spec.Template.Labels) {
			t.Errorf("the %s's selector %v picks the migration pod %v", what, sel, job.Spec.Template.Labels)
		}
	}
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 || spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("Job pod %+v", spec)
	}
	c := spec.Containers[0]
	if !slices.Equal(c.Args, []string{"migrate"}) || c.Image != server.Image {
		t.Errorf("Job runs %s %v, want the server's image %s with [migrate]", c.Image, c.Args, server.Image)
	}
	env, refs := envOf(t, c)
	if _, ok := env["DATABASE_URL"]; !ok {
		t.Fatal("the Job has no DATABASE_URL")
	}
	ref := refs["DATABASE_URL"]
	if es, _ := db["existingSecret"].(string); es != "" {
		checkSecretRef(t, r, ref, db)
		return
	}
	// Its own hook Secret, made before it (a pre-install hook runs before
	// the release's Secret exists).
	s := get[corev1.Secret](t, r, "Secret", ref.Name)
	sh := r.hooks["Secret/"+ref.Name]
	if sh == nil || sh.Weight >= h.Weight || !slices.Contains(sh.Events, release.HookPreInstall) || !slices.Contains(sh.Events, release.HookPreUpgrade) {
		t.Errorf("the Job's Secret %s is not a hook made before the Job: %+v", ref.Name, sh)
	}
	if s.StringData[ref.Key] != db["url"] {
		t.Errorf("the Job's DATABASE_URL is %q, want %q", s.StringData[ref.Key], db["url"])
	}
}

func checkSecretRef(t *testing.T, r rendered, ref *corev1.SecretKeySelector, db map[string]any) {
	t.Helper()
	if ref == nil {
		t.Fatal("DATABASE_URL is not from a Secret")
	}
	if es, _ := db["existingSecret"].(string); es != "" {
		if ref.Name != es || ref.Key != db["existingSecretKey"] {
			t.Errorf("DATABASE_URL from %s/%s, want the existing %s/%s", ref.Name, ref.Key, es, db["existingSecretKey"])
		}
		return
	}
	s := get[corev1.Secret](t, r, "Secret", ref.Name)
	if s.StringData[ref.Key] != db["url"] {
		t.Errorf("DATABASE_URL: Secret %s has %q under %s, want %q", ref.Name, s.StringData[ref.Key], ref.Key, db["url"])
	}
}

// envOf is a container's literal variables, and the Secret each of the
// others comes from.
func envOf(t *testing.T, c corev1.Container) (map[string]string, map[string]*corev1.SecretKeySelector) {
	t.Helper()
	env, refs := map[string]string{}, map[string]*corev1.SecretKeySelector{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("%s set twice", e.Name)
		}
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			if e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s comes from something other than a Secret", e.Name)
			}
			refs[e.Name] = e.ValueFrom.SecretKeyRef
		}
	}
	return env, refs
}

// checkValueKind: a value the server accepts for a setting of that kind,
// judged by its default (a duration, an integer, a boolean, an address).
func checkValueKind(t *testing.T, s setting, v string) {
	t.Helper()
	if v == "" {
		return // from a Secret, or empty: the default
	}
	var err error
	switch {
	case s.def == "":
	case strings.HasPrefix(s.def, ":") || strings.Contains(s.def, ":") && !strings.Contains(s.def, "/"):
		_, _, err = net.SplitHostPort(v)
	case s.def == "true" || s.def == "false":
		_, err = strconv.ParseBool(v)
	default:
		if _, ierr := strconv.Atoi(s.def); ierr == nil {
			_, err = strconv.Atoi(v)
		} else if _, derr := time.ParseDuration(s.def); derr == nil {
			_, err = time.ParseDuration(v)
		}
	}
	if err != nil {
		t.Errorf("%s=%q is not of the kind of its default %q: %v", s.env, v, s.def, err)
	}
}

func dur(t *testing.T, v string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("duration %q: %v", v, err)
	}
	return d
}

func portOf(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return int32(n)
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return nil, errors.New("empty selector")
	}
	return labels.SelectorFromSet(m), nil
}

func selects(selector, objLabels map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(objLabels))
}

// TestChartExtraEnvIsTheRestOfTheSettings: the names values.schema.json
// allows in extraEnv and the ones the chart sets itself are, together,
// exactly the server's settings, except those that make no sense in a pod
// (a private PostgreSQL). A setting added to the server shows up here.
func TestChartExtraEnvIsTheRestOfTheSettings(t *testing.T) {
	settings := serverSettings(t)
	raw, err := os.ReadFile(chartDir + "/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			ExtraEnv struct {
				PropertyNames struct {
					Enum []string `json:"enum"`
				} `json:"propertyNames"`
			} `json:"extraEnv"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	r, err := render(t, with(with(baseValues(), "nats.tls", true), "config.trustedOrigins", "https://app.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	env, _ := envOf(t, get[appsv1.Deployment](t, r, "Deployment", "board-corkboard").Spec.Template.Spec.Containers[0])
	covered := map[string]string{"LOCAL_POSTGRES": "not in a pod", "LOCAL_POSTGRES_PORT": "not in a pod", "LOCAL_REPLICA": "not in a pod"}
	for k := range env {
		covered[k] = "set by the chart"
	}
	for _, k := range schema.Properties.ExtraEnv.PropertyNames.Enum {
		if why, dup := covered[k]; dup {
			t.Errorf("extraEnv allows %s, which is %s", k, why)
		}
		covered[k] = "extraEnv"
	}
	for k := range settings {
		if covered[k] == "" {
			t.Errorf("the server reads %s, which the chart neither sets nor allows in extraEnv (values.schema.json)", k)
		}
	}
	for k := range covered {
		if _, ok := settings[k]; !ok {
			t.Errorf("the chart knows %s, which the server does not read", k)
		}
	}
}

// TestChartRefusesBadValues: values the server or the chart cannot work
// with stop `helm install` with a message saying what is wrong.
func TestChartRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"no database", with(baseValues(), "database", map[string]any{}), "database.url or database.existingSecret is required"},
		{"no nats", with(baseValues(), "nats", map[string]any{}), "nats.url is required"},
		{"nats user without password", with(baseValues(), "nats", map[string]any{"url": "nats://n:4222", "user": "u"}), "nats.user and nats.password go together"},
		{"drain longer than shutdown", with(with(baseValues(), "shutdown.drainDelaySeconds", 30), "shutdown.timeoutSeconds", 20), "drainDelaySeconds must be shorter"},
		{"misspelt value", with(baseValues(), "replicas", 3), "replicas"},
		{"not a setting", with(baseValues(), "extraEnv", map[string]any{"DRAIN_DELAY": "1s"}), "DRAIN_DELAY"},
		{"unknown setting", with(baseValues(), "extraEnv", map[string]any{"NO_SUCH_SETTING": "1"}), "NO_SUCH_SETTING"},
		{"not a postgres url", with(baseValues(), "database.url", "mysql://x"), "database"},
		{"bad log level", with(baseValues(), "config.logLevel", "verbose"), "logLevel"},
	} {
		_, err := render(t, tc.vals)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error about %q", tc.name, err, tc.want)
		}
	}
}
