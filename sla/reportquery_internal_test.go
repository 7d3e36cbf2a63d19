package sla

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// quantile must give what sorting and interpolating gives, ties included.
func TestQuantileAgreesWithSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 200; n++ {
		values := make([]float64, n)
		for i := range values {
			values[i] = float64(rng.IntN(n/3+1)) / 4
		}
		sorted := slices.Sorted(slices.Values(values))
		for _, q := range []float64{0, 0.1, 0.5, 0.9, 1} {
			pos := q * float64(n-1)
			lo := int(pos)
			want := sorted[lo]
			if lo+1 < n {
				want += (sorted[lo+1] - sorted[lo]) * (pos - float64(lo))
			}
			if got := quantile(slices.Clone(values), q); got != want {
				t.Fatalf("n %d, q %v: got %v, want %v", n, q, got, want)
			}
		}
	}
}

func TestNearBoundaryFlagsOnlyValuesAtAHalfThousandth(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want bool
	}{{3, false}, {7.156, false}, {7.1565, true}, {7.15650000001, true}, {7.1566, false}, {0.0005, true}} {
		if got := nearBoundary(tc.v); got != tc.want {
			t.Errorf("nearBoundary(%v): got %v, want %v", tc.v, got, tc.want)
		}
	}
}
