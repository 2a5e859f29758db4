package server

import (
	"io"
	"strings"
	"testing"
)

func TestCRILogReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "full lines", in: "2016-10-06T00:17:09.669794202Z stdout F hello\n2016-10-06T00:17:10Z stderr F oops\n",
			want: []string{"stdout hello\n", "stderr oops\n"}},
		{name: "partial lines joined", in: "2016-10-06T00:17:09Z stdout P hel\n2016-10-06T00:17:09Z stdout P l\n2016-10-06T00:17:10Z stdout F o\n",
			want: []string{"stdout hello\n"}},
		{name: "empty message", in: "2016-10-06T00:17:09Z stdout F\n", want: []string{"stdout \n"}},
		{name: "tag with flags", in: "2016-10-06T00:17:09Z stdout F:x spaced  message\n", want: []string{"stdout spaced  message\n"}},
		{name: "malformed records skipped", in: "garbage\nnot-a-time stdout F x\n2016-10-06T00:17:09Z stdout F ok\n", want: []string{"stdout ok\n"}},
		{name: "incomplete last record waits", in: "2016-10-06T00:17:09Z stdout F done\n2016-10-06T00:17:10Z stdout F unfinish", want: []string{"stdout done\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := newCRILogReader(strings.NewReader(tc.in))
			var got []string
			for {
				line, err := rd.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, line.Stream+" "+string(line.Msg))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("lines = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCRILogReaderResumes reads a record written in two pieces.
func TestCRILogReaderResumes(t *testing.T) {
	pr, pw := io.Pipe()
	rd := newCRILogReader(pr)
	go func() {
		_, _ = pw.Write([]byte("2016-10-06T00:17:09Z stdout F hal"))
		_ = pw.CloseWithError(io.EOF)
	}()
	if _, err := rd.next(); err != io.EOF {
		t.Fatalf("next on half a record = %v, want io.EOF", err)
	}
	rd.r.Reset(strings.NewReader("f done\n"))
	line, err := rd.next()
	if err != nil || string(line.Msg) != "half done\n" {
		t.Fatalf("next after the rest arrived = %q, %v", line.Msg, err)
	}
}
