package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// logPollInterval is how often a followed log file is checked for new
// lines, rotation and the container's exit.
const logPollInterval = 200 * time.Millisecond

// errLimitReached ends a log stream at limitBytes.
var errLimitReached = errors.New("server: log limit reached")

// logOptions are the query parameters of /containerLogs (PodLogOptions).
type logOptions struct {
	follow, previous, timestamps bool
	// tailLines and limitBytes are -1 when not set.
	tailLines, limitBytes int64
	since                 time.Time
}

func parseLogOptions(q url.Values) (logOptions, error) {
	o := logOptions{tailLines: -1, limitBytes: -1}
	var err error
	for name, dst := range map[string]*bool{"follow": &o.follow, "previous": &o.previous, "timestamps": &o.timestamps} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseBool(v); err != nil {
				return o, badRequest("invalid %s %q: %v", name, v, err)
			}
		}
	}
	for name, dst := range map[string]*int64{"tailLines": &o.tailLines, "limitBytes": &o.limitBytes} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseInt(v, 10, 64); err != nil || *dst < 0 {
				return o, badRequest("invalid %s %q", name, v)
			}
		}
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return o, badRequest("invalid sinceSeconds %q", v)
		}
		o.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if !o.since.IsZero() {
			return o, badRequest("at most one of sinceTime or sinceSeconds may be specified")
		}
		if o.since, err = time.Parse(time.RFC3339, v); err != nil {
			return o, badRequest("invalid sinceTime %q: %v", v, err)
		}
	}
	return o, nil
}

// serveContainerLogs streams a container's log (kubectl logs).
func (s *Server) serveContainerLogs(w http.ResponseWriter, r *http.Request) {
	ref := containerRef{Namespace: r.PathValue("ns"), Pod: r.PathValue("pod"), Container: r.PathValue("container")}
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	st, err := s.logContainer(r.Context(), ref, opts.previous)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	ls := &logStreamer{s: s, w: w, flush: http.NewResponseController(w).Flush, opts: opts, id: st.GetId(), path: st.GetLogPath()}
	if opts.limitBytes >= 0 {
		ls.remaining = opts.limitBytes
	}
	if err := ls.run(r.Context(), opts.follow && st.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING); err != nil &&
		!errors.Is(err, errLimitReached) && r.Context().Err() == nil {
		s.o.Log.Warn("stream container log", "container", ref.Namespace+"/"+ref.Pod+"/"+ref.Container, "err", err)
	}
}

// logStreamer writes one container log file to a response.
type logStreamer struct {
	s     *Server
	w     io.Writer
	flush func() error
	opts  logOptions
	id    string
	path  string
	// remaining counts down limitBytes.
	remaining int64
}

// run writes the log (its tail when asked) and, with follow, keeps writing
// new lines until the container exits or ctx ends.
func (l *logStreamer) run(ctx context.Context, follow bool) error {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) && !follow {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer func() { f.Close() }()
	rd := newCRILogReader(f)
	if err := l.writeExisting(rd); err != nil {
		return err
	}
	if !follow {
		return nil
	}
	ticker := time.NewTicker(logPollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := l.copyLines(rd); err != nil {
			return err
		}
		if rotated(f, l.path) {
			// Drain what the runtime wrote before it reopened, then switch.
			if nf, err := os.Open(l.path); err == nil {
				f.Close()
				f = nf
				rd.reset(f)
			}
			continue
		}
		st, err := l.s.o.Runtime.ContainerStatus(ctx, l.id)
		if err != nil || st.GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
			return l.copyLines(rd)
		}
	}
}

// writeExisting writes what the file holds now: all of it, or its last
// tailLines lines.
func (l *logStreamer) writeExisting(rd *criLogReader) error {
	if l.opts.tailLines < 0 {
		return l.copyLines(rd)
	}
	var ring []*logLine
	err := l.eachLine(rd, func(line *logLine) error {
		if l.opts.tailLines == 0 {
			return nil
		}
		if int64(len(ring)) == l.opts.tailLines {
			ring = ring[1:]
		}
		ring = append(ring, line)
		return nil
	})
	if err != nil {
		return err
	}
	for _, line := range ring {
		if err := l.write(line); err != nil {
			return err
		}
	}
	return l.flush()
}

// copyLines writes the complete lines available now.
func (l *logStreamer) copyLines(rd *criLogReader) error {
	wrote := false
	err := l.eachLine(rd, func(line *logLine) error {
		wrote = true
		return l.write(line)
	})
	if err != nil {
		return err
	}
	if wrote {
		return l.flush()
	}
	return nil
}

// eachLine calls fn for every complete line available now that is not
// older than sinceTime.
func (l *logStreamer) eachLine(rd *criLogReader, fn func(*logLine) error) error {
	for {
		line, err := rd.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if line.Time.Before(l.opts.since) {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

// write writes one line, with its timestamp when asked, cut at limitBytes.
func (l *logStreamer) write(line *logLine) error {
	out := line.Msg
	if l.opts.timestamps {
		out = append([]byte(line.Time.UTC().Format(time.RFC3339Nano)+" "), out...)
	}
	if l.opts.limitBytes >= 0 {
		if l.remaining <= 0 {
			return errLimitReached
		}
		if int64(len(out)) > l.remaining {
			out = out[:l.remaining]
		}
		l.remaining -= int64(len(out))
	}
	if _, err := l.w.Write(out); err != nil {
		return err
	}
	if l.opts.limitBytes >= 0 && l.remaining == 0 {
		_ = l.flush()
		return errLimitReached
	}
	return nil
}

// rotated reports whether path now names another file than f, or f was
// truncated: the runtime reopened the log after a rotation.
func rotated(f *os.File, path string) bool {
	cur, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(path)
	if err != nil {
		return false
	}
	a, ok1 := cur.Sys().(*syscall.Stat_t)
	b, ok2 := now.Sys().(*syscall.Stat_t)
	if ok1 && ok2 && (a.Ino != b.Ino || a.Dev != b.Dev) {
		return true
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	return err == nil && now.Size() < pos
}
