package cri

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skiffhq/skiff/internal/agent/images"
)

// Defaults of ContainerdOptions.
const (
	// DefaultCNIBinDir is where Debian's containernetworking-plugins installs
	// the CNI plugins.
	DefaultCNIBinDir    = "/usr/lib/cni"
	defaultReadyTimeout = 2 * time.Minute
	defaultStopTimeout  = 10 * time.Second
	// maxSocketPath is the longest unix socket path Linux accepts
	// (sizeof(sun_path) - 1).
	maxSocketPath = 107
)

// ErrAlreadyStarted is returned by a second call to Containerd.Start.
var ErrAlreadyStarted = errors.New("cri: containerd already started")

// ContainerdOptions tune the managed containerd. The zero value is the
// default for every field.
type ContainerdOptions struct {
	// Binary is the containerd executable; empty means "containerd" on PATH.
	Binary string
	// SandboxImage is the pod sandbox (pause) image; empty means
	// images.PauseImageRef. It must be imported before the first pod runs:
	// the runtime cannot pull skiff's own image.
	SandboxImage string
	// Snapshotter is containerd's snapshotter for CRI images. Empty means
	// "overlayfs" when the kernel can mount overlayfs under the data dir
	// (not on an overlay root, for instance) and "native" otherwise.
	Snapshotter string
	// CNIBinDir holds the CNI plugin binaries; empty means DefaultCNIBinDir.
	CNIBinDir string
	// CNIConfDir holds the CNI network configuration the runtime loads;
	// empty means DIR/cni/net.d.
	CNIConfDir string
	// LogLevel is containerd's log level; empty means "info".
	LogLevel string
	// Env holds extra NAME=value variables for containerd, on top of PATH
	// and the proxy variables taken from skiff's environment.
	Env []string
	// ReadyTimeout bounds how long one start may take to answer CRI before
	// it counts as failed; zero means two minutes.
	ReadyTimeout time.Duration
	// StopTimeout is how long containerd gets to exit after SIGTERM before
	// SIGKILL; zero means ten seconds.
	StopTimeout time.Duration
	// Log receives the supervisor's messages; nil means slog.Default().
	Log *slog.Logger
}

// Containerd is containerd run by skiff as a supervised child process, with
// every file under one directory:
//
//	DIR/config.toml        the rendered configuration
//	DIR/containerd.sock    gRPC socket (CRI and containerd's own API)
//	DIR/containerd.log     containerd's output, appended across restarts
//	DIR/root/              persistent data: content store, snapshots, metadata
//	DIR/state/             runtime state: tasks, runc state, network namespaces
//	DIR/cni/net.d/         CNI configuration (the network code writes it)
//
// Start runs it until the context ends, restarting it when it dies.
// Containers keep running across a containerd restart or stop: their shims
// are not containerd's children.
type Containerd struct {
	dir        string
	binary     string
	configPath string
	logPath    string
	lockPath   string
	cfg        containerdConfig
	env        []string
	readyWait  time.Duration
	stopWait   time.Duration
	log        *slog.Logger

	// probe checks readiness; Start creates it. It reconnects by itself
	// across restarts.
	probe *Client

	started   atomic.Bool
	ready     chan struct{}
	readyOnce sync.Once
	// oomOnce makes the failure to lower containerd's OOM score (expected
	// without CAP_SYS_RESOURCE) logged once, not at every restart.
	oomOnce sync.Once
}

// NewContainerd prepares a managed containerd in dir: it creates the
// directories, picks the snapshotter and runtime handlers (runc, plus crun
// when installed) and writes DIR/config.toml. Nothing runs until Start.
func NewContainerd(dir string, opts ContainerdOptions) (*Containerd, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("containerd dir: %w", err)
	}
	c := &Containerd{
		dir:        dir,
		configPath: filepath.Join(dir, "config.toml"),
		logPath:    filepath.Join(dir, "containerd.log"),
		lockPath:   filepath.Join(dir, "containerd.lock"),
		readyWait:  orDefault(opts.ReadyTimeout, defaultReadyTimeout),
		stopWait:   orDefault(opts.StopTimeout, defaultStopTimeout),
		log:        opts.Log,
		ready:      make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "containerd")
	c.cfg = containerdConfig{
		Root:         filepath.Join(dir, "root"),
		State:        filepath.Join(dir, "state"),
		Socket:       filepath.Join(dir, "containerd.sock"),
		OptDir:       filepath.Join(dir, "opt"),
		LogLevel:     orDefault(opts.LogLevel, "info"),
		SandboxImage: orDefault(opts.SandboxImage, images.PauseImageRef),
		CNIBinDir:    orDefault(opts.CNIBinDir, DefaultCNIBinDir),
		CNIConfDir:   orDefault(opts.CNIConfDir, filepath.Join(dir, "cni", "net.d")),
	}
	// containerd also listens on SOCKET.ttrpc.
	if n := len(c.cfg.Socket + ".ttrpc"); n > maxSocketPath {
		return nil, fmt.Errorf("containerd socket path %s is %d bytes, over the %d Linux allows: use a shorter data dir", c.cfg.Socket+".ttrpc", n, maxSocketPath)
	}
	if c.binary, err = exec.LookPath(orDefault(opts.Binary, "containerd")); err != nil {
		return nil, fmt.Errorf("find containerd (install Debian's containerd package): %w", err)
	}
	if c.cfg.Handlers, err = runtimeHandlers(c.cfg.State, c.log); err != nil {
		return nil, err
	}
	for _, d := range []string{dir, c.cfg.Root, c.cfg.State, c.cfg.OptDir, c.cfg.CNIConfDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create containerd dir: %w", err)
		}
	}
	c.cfg.Snapshotter = opts.Snapshotter
	if c.cfg.Snapshotter == "" {
		c.cfg.Snapshotter = "overlayfs"
		if err := checkOverlay(c.cfg.Root); err != nil {
			c.log.Warn("overlayfs cannot be mounted under the data dir; containerd will use the slower native snapshotter", "err", err)
			c.cfg.Snapshotter = "native"
		}
	}
	c.cfg.DisabledPlugins = disabledSnapshotters(c.cfg.Snapshotter)
	c.env = childEnv(opts.Env)

	config, err := c.cfg.render()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(c.configPath, config, 0o600); err != nil {
		return nil, fmt.Errorf("write containerd config: %w", err)
	}
	return c, nil
}

// Endpoint is the CRI endpoint, "unix:///DIR/containerd.sock".
func (c *Containerd) Endpoint() string { return "unix://" + c.cfg.Socket }

// Socket is the path of containerd's socket, for ctr's --address.
func (c *Containerd) Socket() string { return c.cfg.Socket }

// Snapshotter is the snapshotter CRI images are unpacked into.
func (c *Containerd) Snapshotter() string { return c.cfg.Snapshotter }

// CNIConfDir is where the runtime reads the pod network configuration.
func (c *Containerd) CNIConfDir() string { return c.cfg.CNIConfDir }

// ConfigPath is the rendered config.toml.
func (c *Containerd) ConfigPath() string { return c.configPath }

// LogPath is the file containerd's output goes to.
func (c *Containerd) LogPath() string { return c.logPath }

// RuntimeHandlers lists the CRI runtime handlers configured, the default
// first.
func (c *Containerd) RuntimeHandlers() []string {
	names := make([]string, len(c.cfg.Handlers))
	for i, h := range c.cfg.Handlers {
		names[i] = h.Name
	}
	return names
}

// Importer imports image tarballs into this containerd's CRI image store.
func (c *Containerd) Importer() images.Importer {
	return images.Importer{Address: c.cfg.Socket, Snapshotter: c.cfg.Snapshotter}
}

// Ready is closed once containerd first answers CRI. After a restart the
// client reconnects by itself; Ready is not reopened.
func (c *Containerd) Ready() <-chan struct{} { return c.ready }

// runtimeHandlers returns runc as the default handler and crun as a second
// one when it is installed and can run containers on this machine.
func runtimeHandlers(stateDir string, log *slog.Logger) ([]runtimeHandler, error) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return nil, fmt.Errorf("find runc (install Debian's runc package): %w", err)
	}
	handlers := []runtimeHandler{{Name: "runc", Binary: runc, Root: filepath.Join(stateDir, "runc")}}
	crun, err := exec.LookPath("crun")
	if err != nil {
		return handlers, nil
	}
	if why := crunUnusable(); why != "" {
		log.Warn("not offering the crun runtime handler", "reason", why)
		return handlers, nil
	}
	return append(handlers, runtimeHandler{Name: "crun", Binary: crun, Root: filepath.Join(stateDir, "crun")}), nil
}

// disabledSnapshotters lists the optional snapshotters other than the one in
// use; they fail to load on most machines and only add noise to the log.
func disabledSnapshotters(inUse string) []string {
	var out []string
	for _, s := range []string{"aufs", "btrfs", "devmapper", "zfs"} {
		if s != inUse {
			out = append(out, "io.containerd.snapshotter.v1."+s)
		}
	}
	return out
}

// checkOverlay mounts and unmounts a scratch overlayfs under dir.
func checkOverlay(dir string) error {
	base, err := os.MkdirTemp(dir, "overlay-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	var sub [4]string
	for i, name := range []string{"lower", "upper", "work", "merged"} {
		sub[i] = filepath.Join(base, name)
		if err := os.Mkdir(sub[i], 0o700); err != nil {
			return err
		}
	}
	data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", sub[0], sub[1], sub[2])
	if err := syscall.Mount("overlay", sub[3], "overlay", 0, data); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	return syscall.Unmount(sub[3], 0)
}

// childEnv is containerd's environment: a PATH (it finds its shims and
// runtimes there), the proxy variables pulls need, and extra. Everything else
// in skiff's environment stays out, CONTAINERD_* above all.
func childEnv(extra []string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	env := []string{"PATH=" + path}
	for _, name := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return append(env, extra...)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// logTail returns the last lines of containerd's log, for error messages.
func (c *Containerd) logTail(lines int) string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 8 << 10
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(info.Size()-window, 0)
	buf := make([]byte, info.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if off > 0 && len(all) > 0 {
		all = all[1:] // first line is cut
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
