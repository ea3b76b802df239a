//go:build linux

package main

import (
	"math"
	"math/bits"
)

// hist is a log-linear histogram of signed nanosecond values (a latency
// measured against a reference taken after the delivery is negative): 64
// buckets per power of two, so a quantile is within 1/64 (1.6%) of the true
// value; the minimum and maximum are exact.
type hist struct {
	pos, neg []uint64 // counts by bucket of v and of -v
	n        uint64
	min, max int64
	sum      float64
}

const subBits = 6

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	l := bits.Len64(v) - 1 // v in [2^l, 2^(l+1))
	shift := l - subBits
	return (shift+1)<<subBits + int(v>>shift) - 1<<subBits
}

// bucketMid is the middle of a bucket's range.
func bucketMid(b int) float64 {
	if b < 1<<subBits {
		return float64(b)
	}
	shift := b>>subBits - 1
	low := uint64(b&(1<<subBits-1)+1<<subBits) << shift
	return float64(low) + float64(uint64(1)<<shift)/2
}

func (h *hist) add(v int64) {
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
	counts := &h.pos
	u := uint64(v)
	if v < 0 {
		counts, u = &h.neg, uint64(-v)
	}
	b := bucketOf(u)
	if b >= len(*counts) {
		*counts = append(*counts, make([]uint64, b+1-len(*counts))...)
	}
	(*counts)[b]++
}

// quantile returns the q-quantile (0 < q <= 1) in nanoseconds.
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var seen uint64
	v := math.NaN()
	for b := len(h.neg) - 1; b >= 0 && seen < rank; b-- {
		if seen += h.neg[b]; seen >= rank {
			v = -bucketMid(b)
		}
	}
	for b := 0; b < len(h.pos) && seen < rank; b++ {
		if seen += h.pos[b]; seen >= rank {
			v = bucketMid(b)
		}
	}
	return math.Max(float64(h.min), math.Min(float64(h.max), v))
}

// latency is a histogram's summary in milliseconds.
type latency struct {
	N    uint64  `json:"n"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
}

func (h *hist) summary() *latency {
	if h.n == 0 {
		return nil
	}
	ms := func(ns float64) float64 { return math.Round(ns/1e3) / 1e3 }
	return &latency{N: h.n, P50: ms(h.quantile(0.5)), P90: ms(h.quantile(0.9)), P99: ms(h.quantile(0.99)),
		P999: ms(h.quantile(0.999)), Max: ms(float64(h.max)), Min: ms(float64(h.min)), Mean: ms(h.sum / float64(h.n))}
}
