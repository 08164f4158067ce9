//go:build race

package newsletter

const raceEnabled = true
