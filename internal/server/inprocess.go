package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// inProcessTransport is the http.RoundTripper of the in-process
// components' clients (scheduler, controller manager, agent): it serves each
// request with the server's own handler, in this process, instead of
// encrypting it, framing it as HTTP/2 and sending it over a loopback socket
// to the same process. The request carries the component's client
// certificate as if it had arrived over TLS, so authentication,
// authorization, admission, audit and metrics see what they see for any
// remote client; client-go sees an ordinary HTTP response.
//
// A request that streams (watch, follow) runs the handler in a goroutine of
// its own and returns once the response headers are written; the body then
// flows through a bounded buffer. Every other request runs the handler on
// the caller's goroutine and returns the whole buffered response.
type inProcessTransport struct {
	handler http.Handler
	// tls is the connection state each request carries: the component's
	// certificate, verified against the client CA. Never mutated.
	tls *tls.ConnectionState
	// serving ends when the server stops answering; requests then fail
	// and running ones are cancelled, as a closed connection would be.
	serving context.Context
}

// errServerStopped is returned for requests after the server stopped serving.
var errServerStopped = errors.New("in-process transport: server stopped serving")

// maxStreamBuffer bounds what a streaming response buffers ahead of its
// reader; the handler then waits, as it would on a full socket.
const maxStreamBuffer = 1 << 20

// RoundTrip implements http.RoundTripper.
func (t *inProcessTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		req.Body = http.NoBody
	}
	if err := t.serving.Err(); err != nil {
		req.Body.Close()
		return nil, errServerStopped
	}
	if strings.EqualFold(req.Header.Get("Connection"), "upgrade") {
		req.Body.Close()
		return nil, fmt.Errorf("in-process transport: %s %s: connection upgrades are not supported", req.Method, req.URL.Path)
	}
	ctx, cancel := context.WithCancel(req.Context())
	stopOnShutdown := context.AfterFunc(t.serving, cancel)
	sreq := t.serverRequest(ctx, req)
	if streams(req) {
		return t.stream(req, sreq, func() { stopOnShutdown(); cancel() })
	}
	defer cancel()
	defer stopOnShutdown()
	defer req.Body.Close()
	w := &bufferedResponse{responseHead: responseHead{header: http.Header{}}}
	if err := serve(t.handler, w, sreq); err != nil {
		return nil, err
	}
	w.commit()
	return response(req, w.code, w.sent, io.NopCloser(bytes.NewReader(w.body.Bytes())), int64(w.body.Len())), nil
}

// serverRequest is req as the handler would receive it from a client
// connected over TLS to the loopback address.
func (t *inProcessTransport) serverRequest(ctx context.Context, req *http.Request) *http.Request {
	sreq := req.Clone(ctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "127.0.0.1:0"
	sreq.TLS = t.tls
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	return sreq
}

// stream serves a streaming request in a goroutine and returns when the
// handler has written its headers.
func (t *inProcessTransport) stream(req, sreq *http.Request, cancel func()) (*http.Response, error) {
	w := &streamResponse{responseHead: responseHead{header: http.Header{}}, ready: make(chan struct{}), body: newBodyPipe(cancel)}
	stopped := context.AfterFunc(sreq.Context(), w.body.abort)
	failed := make(chan error, 1)
	go func() {
		defer req.Body.Close()
		defer stopped()
		err := serve(t.handler, w, sreq)
		if err != nil && w.sent == nil { // nothing written: the round trip fails
			w.body.closeWrite(err)
			failed <- err
			return
		}
		w.commit()
		w.body.closeWrite(err)
	}()
	select {
	case <-w.ready:
		return response(req, w.code, w.sent, w.body, -1), nil
	case err := <-failed:
		cancel()
		return nil, err
	}
}

// serve runs the handler, turning a panic into an error as net/http turns
// one into a closed connection.
func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				slog.Error("in-process request: handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p)
			}
			err = fmt.Errorf("in-process transport: %s %s: handler aborted", r.Method, r.URL.Path)
		}
	}()
	h.ServeHTTP(w, r)
	return nil
}

// streams reports whether the response to r is a stream: a watch or a
// followed log.
func streams(r *http.Request) bool {
	p := r.URL.Path
	if strings.Contains(p, "/watch/") || strings.HasSuffix(p, "/watch") {
		return true
	}
	raw := r.URL.RawQuery
	if !strings.Contains(raw, "watch=") && !strings.Contains(raw, "follow=") {
		return false
	}
	q := r.URL.Query()
	watch, _ := strconv.ParseBool(q.Get("watch"))
	follow, _ := strconv.ParseBool(q.Get("follow"))
	return watch || follow
}

// response builds the client's view of a response.
func response(req *http.Request, code int, header http.Header, body io.ReadCloser, length int64) *http.Response {
	return &http.Response{
		Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), StatusCode: code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, Body: body, ContentLength: length, Request: req,
	}
}

// responseHead is what both response writers share: the header the handler
// edits, and the status and header as sent (fixed at the first write, as
// net/http does).
type responseHead struct {
	header http.Header
	sent   http.Header
	code   int
}

// Header implements http.ResponseWriter.
func (h *responseHead) Header() http.Header { return h.header }

// writeHeader fixes the status and header; it reports whether this call did.
func (h *responseHead) writeHeader(code int, sniff []byte) bool {
	if h.sent != nil || code < 200 { // informational responses are not passed on
		return false
	}
	h.code, h.sent = code, h.header.Clone()
	if h.sent.Get("Content-Type") == "" && len(sniff) > 0 {
		h.sent.Set("Content-Type", http.DetectContentType(sniff))
	}
	return true
}

// bufferedResponse collects a whole response.
type bufferedResponse struct {
	responseHead
	body bytes.Buffer
}

// WriteHeader implements http.ResponseWriter.
func (w *bufferedResponse) WriteHeader(code int) { w.writeHeader(code, nil) }

// Write implements http.ResponseWriter.
func (w *bufferedResponse) Write(b []byte) (int, error) {
	w.writeHeader(http.StatusOK, b)
	return w.body.Write(b)
}

// Flush implements http.Flusher; the response is sent when the handler returns.
func (w *bufferedResponse) Flush() {}

// commit fixes the header of a handler that wrote nothing.
func (w *bufferedResponse) commit() { w.writeHeader(http.StatusOK, nil) }

// streamResponse passes a response to the client as it is written.
type streamResponse struct {
	responseHead
	ready chan struct{} // closed once the status and header are fixed
	body  *bodyPipe
}

// WriteHeader implements http.ResponseWriter.
func (w *streamResponse) WriteHeader(code int) {
	if w.writeHeader(code, nil) {
		close(w.ready)
	}
}

// Write implements http.ResponseWriter.
func (w *streamResponse) Write(b []byte) (int, error) {
	if w.writeHeader(http.StatusOK, b) {
		close(w.ready)
	}
	return w.body.write(b)
}

// Flush implements http.Flusher: written data is readable at once.
func (w *streamResponse) Flush() {
	if w.writeHeader(http.StatusOK, nil) {
		close(w.ready)
	}
}

// commit fixes the header of a handler that wrote nothing.
func (w *streamResponse) commit() { w.Flush() }

// bodyPipe carries a streamed body from the handler to the client: writes
// append to a bounded buffer, reads drain it.
type bodyPipe struct {
	onClose func() // cancels the handler's request

	mu   sync.Mutex // guards the fields below; cond waits on it
	cond sync.Cond
	buf  bytes.Buffer
	werr error // set when the handler is done: io.EOF or why it failed
	rerr error // set when the reader closed, or the request was cancelled
}

func newBodyPipe(onClose func()) *bodyPipe {
	p := &bodyPipe{onClose: onClose}
	p.cond.L = &p.mu
	return p
}

// write appends b, waiting while the buffer is full.
func (p *bodyPipe) write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.buf.Len() >= maxStreamBuffer && p.rerr == nil {
		p.cond.Wait()
	}
	if p.rerr != nil {
		return 0, p.rerr
	}
	p.buf.Write(b)
	p.cond.Broadcast()
	return len(b), nil
}

// Read implements io.Reader for the client.
func (p *bodyPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.buf.Len() == 0 && p.werr == nil && p.rerr == nil {
		p.cond.Wait()
	}
	if p.rerr != nil {
		return 0, p.rerr
	}
	if p.buf.Len() > 0 {
		n, _ := p.buf.Read(b)
		p.cond.Broadcast()
		return n, nil
	}
	return 0, p.werr
}

// Close implements io.Closer: the client is done, so the handler's request
// ends, as it would when a client closes its stream.
func (p *bodyPipe) Close() error {
	p.stopReading(errors.New("in-process transport: read on closed body"))
	p.onClose()
	return nil
}

// abort ends the stream when the request's context ends.
func (p *bodyPipe) abort() { p.stopReading(context.Canceled) }

func (p *bodyPipe) stopReading(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rerr == nil {
		p.rerr = err
	}
	p.buf.Reset()
	p.cond.Broadcast()
}

// closeWrite records the end of the handler: EOF, or an error when it
// failed half way.
func (p *bodyPipe) closeWrite(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		err = io.EOF
	}
	p.werr = err
	p.cond.Broadcast()
}
