package cri

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Restart back-off of the supervisor.
const (
	minRestartDelay = time.Second
	maxRestartDelay = 30 * time.Second
	// healthyRun is how long containerd must have run for its next restart
	// to start again from minRestartDelay.
	healthyRun = time.Minute
	// probeTimeout bounds one readiness probe.
	probeTimeout = 2 * time.Second
	// oomScoreAdj is the score the kubelet gives the container runtime:
	// killed nearly last. Setting it needs CAP_SYS_RESOURCE.
	oomScoreAdj = -999
	// maxLogSize is the size past which containerd.log is rotated (to
	// containerd.log.1) when containerd starts.
	maxLogSize = 64 << 20
)

// exitError reports containerd exiting on its own.
type exitError struct {
	err  error
	tail string
}

func (e *exitError) Error() string {
	msg := "containerd exited unexpectedly"
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	if e.tail != "" {
		msg += "; last log lines:\n" + e.tail
	}
	return msg
}

func (e *exitError) Unwrap() error { return e.err }

// Start runs containerd until ctx ends, then stops it (SIGTERM, SIGKILL after
// the stop timeout) and returns nil. When containerd dies it is logged as an
// error and started again after a back-off (1 s doubling to 30 s). Start
// returns an error only when it cannot supervise at all: a second Start, or
// another process already running containerd in the same directory.
func (c *Containerd) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	unlock, err := lockDir(c.lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	if c.probe, err = newClient(c.Endpoint()); err != nil {
		return err
	}
	defer c.probe.Close()

	delay := minRestartDelay
	for attempt := 1; ctx.Err() == nil; attempt++ {
		began := time.Now()
		err := c.run(ctx, attempt)
		if ctx.Err() != nil {
			if err != nil {
				c.log.Warn("containerd stopped uncleanly", "err", err)
			}
			return nil
		}
		if time.Since(began) >= healthyRun {
			delay = minRestartDelay
		}
		c.log.Error("containerd is down; restarting it", "err", err, "delay", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRestartDelay)
	}
	return nil
}

// run starts containerd once and returns when it exits (an *exitError), when
// it fails to become ready in time, or after stopping it when ctx ends.
func (c *Containerd) run(ctx context.Context, attempt int) error {
	// The parent-death signal fires when the thread that forked the child
	// exits, not the process. Pin this goroutine, which lives exactly as long
	// as the child, to one thread so Go never retires that thread under it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	for _, stale := range []string{c.cfg.Socket, c.cfg.Socket + ".ttrpc"} {
		if err := os.Remove(stale); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale containerd socket: %w", err)
		}
	}
	logFile, err := c.openLog(attempt)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.binary, "--config", c.configPath)
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true, // a terminal's ^C reaches skiff, which stops containerd in order
		Pdeathsig: syscall.SIGKILL,
	}
	err = cmd.Start()
	logFile.Close()
	if err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	pid := cmd.Process.Pid
	c.log.Info("containerd started", "pid", pid, "config", c.configPath, "log", c.logPath)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	if err := c.awaitReady(ctx, exited); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		stopErr := c.stop(pid, exited)
		if ctx.Err() != nil {
			return stopErr
		}
		if stopErr != nil {
			c.log.Warn("containerd did not stop cleanly", "err", stopErr)
		}
		return err
	}
	c.lowerOOMScore(pid)
	c.readyOnce.Do(func() { close(c.ready) })

	select {
	case err := <-exited:
		return &exitError{err: err, tail: c.logTail(10)}
	case <-ctx.Done():
		return c.stop(pid, exited)
	}
}

// awaitReady polls CRI Version until it answers, containerd exits, the ready
// timeout passes or ctx ends.
func (c *Containerd) awaitReady(ctx context.Context, exited <-chan error) error {
	deadline := time.NewTimer(c.readyWait)
	defer deadline.Stop()
	interval := 50 * time.Millisecond
	var lastErr error
	for {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		v, err := c.probe.probe(pctx)
		cancel()
		if err == nil {
			c.log.Info("containerd ready", "runtime", v.GetRuntimeName(), "version", v.GetRuntimeVersion(), "cri", v.GetRuntimeApiVersion(), "endpoint", c.Endpoint())
			return nil
		}
		lastErr = err
		select {
		case err := <-exited:
			return &exitError{err: err, tail: c.logTail(10)}
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("containerd did not answer CRI within %s: %w", c.readyWait, lastErr)
		case <-time.After(interval):
		}
		interval = min(2*interval, 500*time.Millisecond)
	}
}

// stop sends SIGTERM to containerd and waits for it to exit, sending SIGKILL
// to its process group after the stop timeout.
func (c *Containerd) stop(pid int, exited <-chan error) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		c.log.Warn("signal containerd", "pid", pid, "err", err)
	}
	timer := time.NewTimer(c.stopWait)
	defer timer.Stop()
	select {
	case <-exited:
		c.log.Info("containerd stopped", "pid", pid)
		return nil
	case <-timer.C:
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		c.log.Warn("kill containerd", "pid", pid, "err", err)
	}
	<-exited
	return fmt.Errorf("containerd did not exit within %s of SIGTERM; killed it", c.stopWait)
}

// lowerOOMScore asks the kernel to kill containerd nearly last, as the
// kubelet does. Without CAP_SYS_RESOURCE that fails; it is logged once and
// containerd runs with its inherited score.
func (c *Containerd) lowerOOMScore(pid int) {
	err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(fmt.Sprint(oomScoreAdj)), 0)
	if err != nil {
		c.oomOnce.Do(func() {
			c.log.Info("cannot lower containerd's OOM score (needs CAP_SYS_RESOURCE); carrying on", "err", err)
		})
	}
}

// openLog opens containerd.log for appending, rotating it first when it has
// grown past maxLogSize, and marks the start of this run in it.
func (c *Containerd) openLog(attempt int) (*os.File, error) {
	if info, err := os.Stat(c.logPath); err == nil && info.Size() > maxLogSize {
		if err := os.Rename(c.logPath, c.logPath+".1"); err != nil {
			return nil, fmt.Errorf("rotate containerd log: %w", err)
		}
	}
	f, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open containerd log: %w", err)
	}
	fmt.Fprintf(f, "=== skiff: starting containerd (start %d of this agent) at %s ===\n", attempt, time.Now().UTC().Format(time.RFC3339))
	return f, nil
}

// lockDir takes an exclusive lock on path so two supervisors never run
// containerd on the same directory; the returned func releases it.
func lockDir(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock containerd dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock containerd dir: another process runs containerd in %s", path)
		}
		return nil, fmt.Errorf("lock containerd dir: %w", err)
	}
	return func() { f.Close() }, nil
}
