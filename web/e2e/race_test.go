//go:build race

package e2e

// raceEnabled: the servers under test are built with the race detector too.
const raceEnabled = true
