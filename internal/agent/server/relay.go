package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// Channels of the channel.k8s.io WebSocket protocols.
const (
	chanStdin = iota
	chanStdout
	chanStderr
	chanError
	chanResize
)

// relayWebSocket serves an exec or attach session to a WebSocket client
// (v5.channel.k8s.io, or v4 without closing stdin) and relays it to the
// runtime's streaming URL as a SPDY client. The outcome — success, an exit
// code or an error — goes to the client's error channel as a Status.
func (s *Server) relayWebSocket(w http.ResponseWriter, r *http.Request, target *url.URL, o streamOptions) {
	channels := []wsstream.ChannelType{wsstream.IgnoreChannel, wsstream.WriteChannel, wsstream.WriteChannel,
		wsstream.WriteChannel, wsstream.ReadChannel}
	if o.stdin {
		channels[chanStdin] = wsstream.ReadChannel
	}
	if !o.stdout {
		channels[chanStdout] = wsstream.IgnoreChannel
	}
	if !o.stderr {
		channels[chanStderr] = wsstream.IgnoreChannel
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommandconsts.StreamProtocolV5Name: {Binary: true, Channels: channels},
		remotecommandconsts.StreamProtocolV4Name: {Binary: true, Channels: channels},
	})
	_, streams, err := conn.Open(w, r)
	if err != nil {
		s.o.Log.Debug("websocket stream not opened", "err", err)
		return
	}
	defer conn.Close()

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	// The resize channel is read even without a terminal: it ends when the
	// client goes away, which ends the session.
	sizes := make(chan *remotecommand.TerminalSize, 4)
	go watchResize(streams[chanResize], sizes, cancel)
	opts := remotecommand.StreamOptions{Tty: o.tty}
	if o.stdin {
		opts.Stdin = streams[chanStdin]
	}
	if o.stdout {
		opts.Stdout = streams[chanStdout]
	}
	if o.stderr {
		opts.Stderr = streams[chanStderr]
	}
	if o.tty {
		opts.TerminalSizeQueue = sizeQueue(sizes)
	}
	err = s.streamToRuntime(ctx, target, opts)
	if ctx.Err() != nil {
		return // the client is gone
	}
	if werr := writeStreamStatus(streams[chanError], err); werr != nil {
		s.o.Log.Debug("write exec status", "err", werr)
	}
}

// streamToRuntime runs the session against the runtime's SPDY server.
func (s *Server) streamToRuntime(ctx context.Context, target *url.URL, opts remotecommand.StreamOptions) error {
	cfg := &rest.Config{Proxy: func(*http.Request) (*url.URL, error) { return nil, nil }}
	exec, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, target)
	if err != nil {
		return fmt.Errorf("connect to the runtime's streaming server: %w", err)
	}
	return exec.StreamWithContext(ctx, opts)
}

// watchResize decodes terminal sizes from the resize channel until it
// ends, then closes sizes and calls done.
func watchResize(ch io.Reader, sizes chan<- *remotecommand.TerminalSize, done func()) {
	defer done()
	defer close(sizes)
	dec := json.NewDecoder(ch)
	for {
		size := &remotecommand.TerminalSize{}
		if err := dec.Decode(size); err != nil {
			return
		}
		select {
		case sizes <- size:
		default: // a newer size follows; the runtime only needs the last
		}
	}
}

// sizeQueue is a TerminalSizeQueue over a channel.
type sizeQueue <-chan *remotecommand.TerminalSize

// Next returns the next size, nil when the client is gone.
func (q sizeQueue) Next() *remotecommand.TerminalSize { return <-q }

// writeStreamStatus writes the session's outcome as the v4/v5 protocols'
// Status: Success, NonZeroExitCode with an ExitCode cause, or the error.
func writeStreamStatus(w io.Writer, err error) error {
	st := metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess}
	var exit utilexec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		st.Status = metav1.StatusFailure
		st.Reason = "NonZeroExitCode"
		st.Message = fmt.Sprintf("command terminated with non-zero exit code: exit code %d", exit.ExitStatus())
		st.Details = &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(exit.ExitStatus())}}}
	default:
		st.Status = metav1.StatusFailure
		st.Reason = metav1.StatusReasonInternalError
		st.Message = err.Error()
	}
	data, merr := json.Marshal(st)
	if merr != nil {
		return merr
	}
	_, werr := w.Write(data)
	return werr
}
