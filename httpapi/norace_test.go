//go:build !race

package httpapi

// raceDetector: see race_test.go.
const raceDetector = false
