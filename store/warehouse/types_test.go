package warehouse

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestFormatTimestampMatchesLayout(t *testing.T) {
	times := []time.Time{
		{}, // year 1
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 23, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 2, 29, 12, 30, 5, 1000, time.FixedZone("UTC+5:30", 5*3600+1800)),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // past four digits
		time.Date(-1, 6, 15, 8, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		times = append(times, time.Unix(r.Int64N(300e9)-100e9, r.Int64N(1e9)))
	}
	for _, tm := range times {
		if got, want := formatTimestamp(tm), tm.UTC().Format(timestampLayout); got != want {
			t.Errorf("formatTimestamp(%v) = %q, want %q", tm, got, want)
		}
	}
}
