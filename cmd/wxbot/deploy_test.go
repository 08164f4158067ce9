package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lifang/wxbot/config"
)

// The deployment files must keep up with the program: every WXBOT_*
// variable they set is a configuration key, every command they run exists,
// the ConfigMap's wxbot.yaml loads and validates, and the probes ask the
// paths serve answers on the port it listens on.

func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// walk calls fn for every map in v, depth first.
func walk(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, c := range x {
			walk(c, fn)
		}
	case []any:
		for _, c := range x {
			walk(c, fn)
		}
	}
}

func envNames() map[string]bool {
	names := map[string]bool{}
	for _, k := range config.Keys() {
		names[config.EnvName(k)] = true
	}
	return names
}

func commandNames() map[string]bool {
	names := map[string]bool{}
	for _, c := range newRootCmd().Commands() {
		names[c.Name()] = true
	}
	return names
}

func at(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func strs(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestKubernetesManifests(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "kubernetes")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	byKind := map[string]map[string]any{}
	for _, f := range files {
		for _, d := range yamlDocs(t, f) {
			kind, _ := d["kind"].(string)
			if kind == "" || d["apiVersion"] == nil || at(d, "metadata", "name") == nil {
				t.Errorf("%s: a document without kind, apiVersion or name", f)
			}
			byKind[kind] = d
		}
	}
	for _, k := range []string{"Deployment", "Service", "Secret", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler", "PersistentVolumeClaim"} {
		if byKind[k] == nil {
			t.Errorf("no %s", k)
		}
	}
	dep, secret, cm := byKind["Deployment"], byKind["Secret"], byKind["ConfigMap"]
	if r, _ := at(dep, "spec", "replicas").(int); r != 3 {
		t.Errorf("replicas %v, want 3", at(dep, "spec", "replicas"))
	}
	env := envNames()
	for name := range at(secret, "stringData").(map[string]any) {
		if !env[name] {
			t.Errorf("Secret sets %s, which is no configuration key", name)
		}
	}
	containers, _ := at(dep, "spec", "template", "spec", "containers").([]any)
	if len(containers) != 1 {
		t.Fatalf("%d containers", len(containers))
	}
	c := containers[0].(map[string]any)
	args := strs(c["args"])
	if len(args) == 0 || !commandNames()[args[0]] {
		t.Errorf("container args %v: no such command", args)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if got := at(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path %v, want %s", probe, got, path)
		}
	}
	if ref := at(c, "envFrom"); !strings.Contains(strings.ReplaceAll(toString(ref), " ", ""), "wxbot-credentials") {
		t.Errorf("the container does not take the Secret: %v", ref)
	}
	ports := map[string]int{}
	for _, p := range c["ports"].([]any) {
		pm := p.(map[string]any)
		n, _ := pm["containerPort"].(int)
		ports[strings.TrimSpace(toString(pm["name"]))] = n
	}
	port := ports["http"]
	for probe := range map[string]bool{"livenessProbe": true, "readinessProbe": true, "startupProbe": true} {
		if got := strings.TrimSpace(toString(at(c, probe, "httpGet", "port"))); got != "http" {
			t.Errorf("%s on port %v, want the http port (the ops port is for Prometheus)", probe, got)
		}
	}

	// The ConfigMap's wxbot.yaml loads and validates with the Secret's variables.
	file := filepath.Join(t.TempDir(), "wxbot.yaml")
	if err := os.WriteFile(file, []byte(at(cm, "data", "wxbot.yaml").(string)), 0o600); err != nil {
		t.Fatal(err)
	}
	sec := at(secret, "stringData").(map[string]any)
	cfg, err := config.Load(config.Options{File: file, Env: func(k string) (string, bool) {
		v, ok := sec[k].(string)
		return v, ok
	}})
	if err != nil {
		t.Fatalf("the ConfigMap's wxbot.yaml: %v", err)
	}
	if !strings.HasSuffix(cfg.HTTP.Addr, ":"+itoa(port)) || !cfg.Redis.Cluster || len(cfg.Redis.Addrs) != 3 {
		t.Errorf("config: http.addr %s (container port %d), redis %+v", cfg.HTTP.Addr, port, cfg.Redis)
	}
	// Prometheus scrapes the ops listener, which the Service does not expose.
	if ops := ports["ops"]; ops == 0 || !strings.HasSuffix(cfg.HTTP.OpsAddr, ":"+itoa(ops)) {
		t.Errorf("http.ops_addr %q, ops container port %d", cfg.HTTP.OpsAddr, ops)
	}
	if got := strings.Trim(strings.TrimSpace(toString(at(dep, "spec", "template", "metadata", "annotations", "prometheus.io/port"))), `"'`); got != itoa(ports["ops"]) {
		t.Errorf("prometheus.io/port %q, want the ops port %d", got, ports["ops"])
	}
	for _, p := range at(byKind["Service"], "spec", "ports").([]any) {
		if tp := strings.TrimSpace(toString(p.(map[string]any)["targetPort"])); tp == "ops" || tp == itoa(ports["ops"]) {
			t.Errorf("the Service exposes the ops port")
		}
	}
	if grace, _ := at(dep, "spec", "template", "spec", "terminationGracePeriodSeconds").(int); float64(grace) <= cfg.HTTP.ShutdownTimeout.Seconds()+5 {
		t.Errorf("terminationGracePeriodSeconds %d leaves no room for http.shutdown_timeout %s and the preStop pause", grace, cfg.HTTP.ShutdownTimeout)
	}
}

func TestComposeFile(t *testing.T) {
	docs := yamlDocs(t, filepath.Join("..", "..", "docker-compose.yml"))
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	services, _ := docs[0]["services"].(map[string]any)
	for _, name := range []string{"redis", "wxbot", "sandbox"} {
		if services[name] == nil {
			t.Fatalf("no %s service", name)
		}
	}
	env, cmds := envNames(), commandNames()
	walk(docs[0], func(m map[string]any) {
		for k := range m {
			if strings.HasPrefix(k, "WXBOT_") && !env[k] {
				t.Errorf("compose sets %s, which is no configuration key", k)
			}
		}
	})
	for _, name := range []string{"wxbot", "sandbox"} {
		s := services[name].(map[string]any)
		if cmd := strs(s["command"]); len(cmd) == 0 || !cmds[cmd[0]] {
			t.Errorf("%s: command %v is no wxbot command", name, cmd)
		}
		if hc := strs(at(s, "healthcheck", "test")); !slices.Contains(hc, "healthcheck") {
			t.Errorf("%s: healthcheck %v does not use wxbot healthcheck", name, hc)
		}
	}
	redisCmd := strings.Join(strs(at(services["redis"].(map[string]any), "command")), " ")
	if !strings.Contains(redisCmd, "--appendonly yes") {
		t.Errorf("redis without AOF persistence: %s", redisCmd)
	}
	if at(services["redis"].(map[string]any), "volumes") == nil {
		t.Error("redis data is not on a volume")
	}
}

func toString(v any) string {
	var b bytes.Buffer
	_ = yaml.NewEncoder(&b).Encode(v)
	return b.String()
}

func itoa(n int) string {
	return strings.TrimSpace(toString(n))
}
