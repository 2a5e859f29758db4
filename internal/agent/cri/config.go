package cri

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// runtimeHandler is one CRI runtime handler (RuntimeClass.handler) backed by
// an OCI runtime binary through containerd's runc v2 shim.
type runtimeHandler struct {
	// Name is the handler name pods select, "runc" or "crun".
	Name string
	// Binary is the absolute path of the OCI runtime.
	Binary string
	// Root is the runtime's state directory (runc --root).
	Root string
}

// containerdConfig is everything config.toml is rendered from.
type containerdConfig struct {
	Root, State, Socket, OptDir string
	LogLevel                    string
	SandboxImage                string
	Snapshotter                 string
	CNIBinDir, CNIConfDir       string
	// Handlers lists the runtime handlers; the first is the default.
	Handlers []runtimeHandler
	// DisabledPlugins are plugins that cannot work here and only add noise
	// to the log (snapshotters other than the one in use).
	DisabledPlugins []string
}

// configTemplate renders a containerd 1.6+ configuration (version 2) with
// only the settings skiff decides; everything else keeps containerd's default.
var configTemplate = template.Must(template.New("config.toml").Funcs(template.FuncMap{
	"q":     tomlString,
	"qlist": tomlList,
}).Parse(`# Written by skiff; rewritten at every start. Edits are lost.
version = 2
root = {{q .Root}}
state = {{q .State}}
# Never adjust containerd's own OOM score: lowering it needs CAP_SYS_RESOURCE.
oom_score = 0
disabled_plugins = {{qlist .DisabledPlugins}}

[grpc]
  address = {{q .Socket}}
  # No TCP listener.
  tcp_address = ""

[debug]
  # No debug socket.
  address = ""
  level = {{q .LogLevel}}

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = {{q .OptDir}}

  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = {{q .SandboxImage}}
    # Containers may not get a lower oom_score_adj than containerd has; without
    # it every sandbox fails where CAP_SYS_RESOURCE is missing.
    restrict_oom_score_adj = true
    # Network namespaces live under the state dir, not /var/run/netns.
    netns_mounts_under_state_dir = true
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    # Streaming (exec/attach/port-forward) on a random loopback port.
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"

    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = {{q .Snapshotter}}
      default_runtime_name = {{q (index .Handlers 0).Name}}
{{- range .Handlers}}

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{{.Name}}]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{{.Name}}.options]
          BinaryName = {{q .Binary}}
          Root = {{q .Root}}
          # cgroupfs driver: works on cgroup v1 and v2 without systemd.
          SystemdCgroup = false
{{- end}}

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = {{q .CNIBinDir}}
      conf_dir = {{q .CNIConfDir}}
      max_conf_num = 1

    # No registry mirrors or credentials: pulls go to the registry an image
    # names, with the pod's imagePullSecrets passed through CRI.
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = ""
`))

// render returns config.toml's content.
func (c containerdConfig) render() ([]byte, error) {
	if len(c.Handlers) == 0 {
		return nil, fmt.Errorf("render containerd config: no runtime handler")
	}
	for _, h := range c.Handlers {
		if !isBareKey(h.Name) {
			return nil, fmt.Errorf("render containerd config: invalid runtime handler name %q", h.Name)
		}
	}
	var buf bytes.Buffer
	if err := configTemplate.Execute(&buf, c); err != nil {
		return nil, fmt.Errorf("render containerd config: %w", err)
	}
	return buf.Bytes(), nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlList renders a TOML array of strings.
func tomlList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = tomlString(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// isBareKey reports whether s can be a bare TOML key (runtime handler names
// appear unquoted in table headers).
func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
