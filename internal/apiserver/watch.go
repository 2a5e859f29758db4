package apiserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiffhq/skiff/internal/apiserver/envelope"
)

// defaultWatchTimeout bounds a watch without timeoutSeconds, randomised like
// upstream so reconnects spread out.
func defaultWatchTimeout() time.Duration {
	return 30*time.Minute + time.Duration(rand.IntN(30*60))*time.Second
}

func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, h *resourceHandler, ri *requestInfo) {
	opts, err := listOptions(r, h)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := negotiate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.MediaType == mediaYAML {
		f.MediaType = mediaJSON
	}
	timeout := defaultWatchTimeout()
	if v := r.URL.Query().Get("timeoutSeconds"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	name := ri.Name
	if name != "" {
		opts.Fields = fieldsAnd(opts.Fields, "metadata.name", name)
	}
	events, err := h.store.Watch(ctx, ri.Namespace, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.writeError(w, r, errNoFlusher)
		return
	}
	s.metrics.watchers.WithLabelValues(h.res.GVR.Group, h.res.GVR.Resource).Inc()
	defer s.metrics.watchers.WithLabelValues(h.res.GVR.Group, h.res.GVR.Resource).Dec()
	ct := f.contentType()
	if f.MediaType == mediaProtobuf {
		ct += ";stream=watch"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	wf := f
	if wf.As == "PartialObjectMetadataList" {
		wf.As = "PartialObjectMetadata"
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			frame, err := s.watchFrame(r, h, wf, ev)
			if err != nil {
				frame, _ = s.encodeWatchEvent(r, h, wf, watch.Event{Type: watch.Error, Object: internalStatus(err)})
			}
			if _, err := w.Write(frame); err != nil {
				return
			}
			if len(events) == 0 {
				flusher.Flush()
			}
		}
	}
}

func internalStatus(err error) *metav1.Status {
	return &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
		Reason: metav1.StatusReasonInternalError, Message: err.Error()}
}

// sharedFrames is how many encoded watch events a resource keeps for its
// other watchers; frames larger than maxSharedFrame are not kept.
const (
	sharedFrames   = 1024
	maxSharedFrame = 32 << 10
)

// frameKey identifies an encoded watch event: the object's version, the
// event type and the format. (A Table depends on query parameters too and
// is never shared.)
type frameKey struct {
	namespace, name, resourceVersion string
	typ                              watch.EventType
	format                           outputFormat
}

// watchFrame is encodeWatchEvent, shared by the watchers of a resource
// that ask for the same format: each pod event goes to the scheduler, the
// controller manager and every other pod watcher, and the first encoding
// serves them all. Frames are only read after they are made.
func (s *Server) watchFrame(r *http.Request, h *resourceHandler, f outputFormat, ev watch.Event) ([]byte, error) {
	m, ok := ev.Object.(metav1.Object)
	shared := ok && h.frames != nil && f.As != "Table" && m.GetResourceVersion() != "" &&
		(ev.Type == watch.Added || ev.Type == watch.Modified || ev.Type == watch.Deleted)
	if !shared {
		return s.encodeWatchEvent(r, h, f, ev)
	}
	k := frameKey{namespace: m.GetNamespace(), name: m.GetName(), resourceVersion: m.GetResourceVersion(), typ: ev.Type, format: f}
	if frame, ok := h.frames.Get(k); ok {
		return frame, nil
	}
	frame, err := s.encodeWatchEvent(r, h, f, ev)
	if err != nil {
		return nil, err
	}
	if len(frame) <= maxSharedFrame {
		h.frames.Add(k, frame)
	}
	return frame, nil
}

// encodeWatchEvent renders one event as a frame of the watch stream.
func (s *Server) encodeWatchEvent(r *http.Request, h *resourceHandler, f outputFormat, ev watch.Event) ([]byte, error) {
	obj := ev.Object
	var err error
	if ev.Type == watch.Bookmark && f.As == "Table" {
		obj = &metav1.Table{ListMeta: metav1.ListMeta{ResourceVersion: rvOf(obj)}}
		obj.GetObjectKind().SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("Table"))
	} else if ev.Type != watch.Error {
		if obj, err = s.transform(r, h, f, obj); err != nil {
			return nil, err
		}
	} else {
		s.ser.setKind(obj, metav1.Unversioned)
	}
	if f.MediaType == mediaProtobuf {
		return s.protobufWatchFrame(ev.Type, obj)
	}
	body, err := s.ser.encode(outputFormat{MediaType: f.MediaType}, obj)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(body) + 32)
	buf.WriteString(`{"type":"`)
	buf.WriteString(string(ev.Type))
	buf.WriteString(`","object":`)
	buf.Write(bytes.TrimRight(body, "\n"))
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// protobufWatchFrame is a frame of a protobuf watch stream: the length of
// a metav1.WatchEvent, then the event. Generated types are written once,
// straight into the frame.
func (s *Server) protobufWatchFrame(typ watch.EventType, obj runtime.Object) ([]byte, error) {
	if o, ok := envelope.Prepare(obj, obj.GetObjectKind().GroupVersionKind()); ok {
		frame, err := o.WatchFrame(string(typ))
		if err != nil {
			return nil, fmt.Errorf("encode watch event: %w", err)
		}
		return frame, nil
	}
	body, err := s.ser.encode(outputFormat{MediaType: mediaProtobuf}, obj)
	if err != nil {
		return nil, err
	}
	we := &metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: body}}
	data, err := we.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode watch event: %w", err)
	}
	frame := make([]byte, 4, 4+len(data))
	binary.BigEndian.PutUint32(frame, uint32(len(data)))
	return append(frame, data...), nil
}

func rvOf(obj runtime.Object) string {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetResourceVersion()
	}
	return ""
}
