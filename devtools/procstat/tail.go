//go:build linux

package procstat

import (
	"io"
	"os"
)

// Tail is the last n bytes of the file at path, for quoting the end of a
// server's log when it fails; the whole file if it is shorter, "" if it
// cannot be read.
func Tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart) //nolint:errcheck // best effort
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
