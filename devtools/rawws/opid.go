//go:build linux

package rawws

import (
	"bytes"
	"strconv"
)

// OpIndex is the index n of one of a load run's operations from the op_id
// it sent, prefix + n in decimal, or -1 if op is not one of them. The load
// tools give every write such an op_id and find it again in the events
// their subscribers read.
func OpIndex(op []byte, prefix string) int32 {
	if !bytes.HasPrefix(op, []byte(prefix)) {
		return -1
	}
	n, err := strconv.ParseInt(string(op[len(prefix):]), 10, 32)
	if err != nil || n < 0 {
		return -1
	}
	return int32(n)
}
