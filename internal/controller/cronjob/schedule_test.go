package cronjob

import (
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, spec string
		from       time.Time
		want       time.Time
	}{
		{"every minute", "* * * * *", utc("2026-01-01T10:00:30Z"), utc("2026-01-01T10:01:00Z")},
		{"step", "*/15 * * * *", utc("2026-01-01T10:16:00Z"), utc("2026-01-01T10:30:00Z")},
		{"start/step", "5/20 * * * *", utc("2026-01-01T10:26:00Z"), utc("2026-01-01T10:45:00Z")},
		{"hourly", "@hourly", utc("2026-01-01T10:00:00Z"), utc("2026-01-01T11:00:00Z")},
		{"range and names", "0 9-17/2 * jan-MAR mon-fri", utc("2026-03-06T17:30:00Z"), utc("2026-03-09T09:00:00Z")},
		{"month rollover", "0 0 1 * *", utc("2026-01-31T23:59:00Z"), utc("2026-02-01T00:00:00Z")},
		{"dom or dow", "0 0 13 * fri", utc("2026-02-07T00:00:00Z"), utc("2026-02-13T00:00:00Z")},
		{"leap day", "0 0 29 2 *", utc("2026-03-01T00:00:00Z"), utc("2028-02-29T00:00:00Z")},
		{"every", "@every 90s", utc("2026-01-01T10:00:00Z"), utc("2026-01-01T10:01:30Z")},
		{"time zone", "0 9 * * *", utc("2026-01-01T09:00:00Z").In(berlin), utc("2026-01-02T08:00:00Z")},
		{"DST gap skipped", "30 2 * * *", utc("2026-03-28T12:00:00Z").In(berlin), utc("2026-03-30T00:30:00Z")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSchedule(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(tc.from); !got.Equal(tc.want) {
				t.Errorf("Next(%v) = %v, want %v", tc.from, got.UTC(), tc.want)
			}
		})
	}
}

func TestParseScheduleErrors(t *testing.T) {
	for _, spec := range []string{"", "* * * *", "61 * * * *", "* * * * 7", "5-1 * * * *", "*/0 * * * *", "@sometimes", "@every x"} {
		if _, err := ParseSchedule(spec); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded, want error", spec)
		}
	}
}
