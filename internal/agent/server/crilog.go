package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// logLine is one line of a container's output, joined from CRI partial
// lines.
type logLine struct {
	Time   time.Time
	Stream string
	// Msg ends in a newline.
	Msg []byte
}

// criLogReader reads the CRI log format the runtime writes,
//
//	2016-10-06T00:17:09.669794202Z stdout F message
//
// ("P" instead of "F" marks a partial line continued by the next). It
// keeps an incomplete last line until the rest arrives, so a file that is
// still written can be read again after io.EOF.
type criLogReader struct {
	r *bufio.Reader
	// pending holds a line read without its newline yet.
	pending []byte
	// partial holds the parts of a line split into "P" records.
	partial *logLine
}

func newCRILogReader(r io.Reader) *criLogReader {
	return &criLogReader{r: bufio.NewReaderSize(r, 64*1024)}
}

// reset switches to another file (after rotation), keeping nothing of the
// old one but a partial line.
func (c *criLogReader) reset(r io.Reader) {
	c.r.Reset(r)
	c.pending = nil
}

// next returns the next complete line, io.EOF when none is complete yet.
// Malformed records are skipped.
func (c *criLogReader) next() (*logLine, error) {
	for {
		chunk, err := c.r.ReadSlice('\n')
		c.pending = append(c.pending, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, err
		}
		record := c.pending
		c.pending = nil
		line, full, perr := parseCRIRecord(record)
		if perr != nil {
			continue
		}
		if c.partial != nil {
			c.partial.Msg = append(c.partial.Msg, line.Msg...)
			line.Time, line.Stream, line.Msg = c.partial.Time, c.partial.Stream, c.partial.Msg
			c.partial = nil
		}
		if !full {
			c.partial = line
			continue
		}
		line.Msg = append(line.Msg, '\n')
		return line, nil
	}
}

// parseCRIRecord parses one record (with its newline); full is false for a
// partial ("P") record.
func parseCRIRecord(rec []byte) (*logLine, bool, error) {
	rec = bytes.TrimSuffix(rec, []byte("\n"))
	ts, rest, ok1 := bytes.Cut(rec, []byte(" "))
	stream, rest, ok2 := bytes.Cut(rest, []byte(" "))
	tag, msg, ok3 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 {
		return nil, false, fmt.Errorf("malformed cri log record %q", rec)
	}
	if !ok3 { // an empty message: "ts stream F"
		tag, msg = rest, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return nil, false, fmt.Errorf("malformed cri log time %q: %w", ts, err)
	}
	first, _, _ := bytes.Cut(tag, []byte(":"))
	full := !bytes.Equal(first, []byte("P"))
	return &logLine{Time: t, Stream: string(stream), Msg: append([]byte(nil), msg...)}, full, nil
}
