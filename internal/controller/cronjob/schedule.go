package cronjob

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed cron schedule: five fields (minute hour
// day-of-month month day-of-week) with lists, ranges, steps and names, a
// descriptor (@hourly, @daily, ...) or "@every <duration>".
type Schedule struct {
	minute, hour, dom, month, dow uint64 // bit i set: value i matches
	// domStar and dowStar record a "*" (or "?") day field: when both day
	// fields are restricted, a day matches if either does, as in cron.
	domStar, dowStar bool
	// every, when positive, is an "@every" interval.
	every time.Duration
}

// fieldSpec is the range and names of one cron field.
type fieldSpec struct {
	name     string
	min, max uint
	names    map[string]uint
}

var fieldSpecs = [5]fieldSpec{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: map[string]uint{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{name: "day of week", min: 0, max: 6, names: map[string]uint{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

var descriptors = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// ErrSchedule prefixes schedule parse errors.
var ErrSchedule = errors.New("cronjob: invalid schedule")

// ParseSchedule parses a standard cron schedule.
func ParseSchedule(spec string) (*Schedule, error) {
	spec = strings.TrimSpace(spec)
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		every, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || every < time.Second {
			return nil, fmt.Errorf("%w: %q: bad @every duration", ErrSchedule, spec)
		}
		return &Schedule{every: every}, nil
	}
	if expanded, ok := descriptors[spec]; ok {
		spec = expanded
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return nil, fmt.Errorf("%w: %q: want 5 fields, got %d", ErrSchedule, spec, len(fields))
	}
	s := &Schedule{}
	dst := [5]*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	for i, f := range fields {
		bits, err := parseField(f, fieldSpecs[i])
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrSchedule, spec, err)
		}
		*dst[i] = bits
	}
	s.domStar = fields[2] == "*" || fields[2] == "?"
	s.dowStar = fields[4] == "*" || fields[4] == "?"
	return s, nil
}

func parseField(f string, spec fieldSpec) (uint64, error) {
	var bits uint64
	for part := range strings.SplitSeq(f, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := uint(1)
		if hasStep {
			n, err := strconv.ParseUint(stepStr, 10, 8)
			if err != nil || n == 0 {
				return 0, fmt.Errorf("%s: bad step %q", spec.name, part)
			}
			step = uint(n)
		}
		lo, hi := spec.min, spec.max
		if rng != "*" && rng != "?" {
			first, last, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = fieldValue(first, spec); err != nil {
				return 0, err
			}
			hi = lo
			if isRange {
				if hi, err = fieldValue(last, spec); err != nil {
					return 0, err
				}
			} else if hasStep {
				hi = spec.max // "5/15" means from 5 on
			}
			if hi < lo {
				return 0, fmt.Errorf("%s: range %q is backwards", spec.name, part)
			}
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

func fieldValue(s string, spec fieldSpec) (uint, error) {
	if v, ok := spec.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || uint(n) < spec.min || uint(n) > spec.max {
		return 0, fmt.Errorf("%s: %q is not in %d-%d", spec.name, s, spec.min, spec.max)
	}
	return uint(n), nil
}

// Next returns the first scheduled time strictly after t, in t's location,
// or the zero time if there is none within five years.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Truncate(time.Second).Add(s.every)
	}
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case s.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case s.hour&(1<<uint(t.Hour())) == 0:
			next := time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
			if !next.After(t) { // a DST fold repeats the wall hour
				next = t.Truncate(time.Hour).Add(time.Hour)
			}
			t = next
		case s.minute&(1<<uint(t.Minute())) == 0:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}

func (s *Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<uint(t.Day())) != 0
	dow := s.dow&(1<<uint(t.Weekday())) != 0
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}
