//go:build race

package httpapi

// raceDetector: the tests are built with -race, whose sync.Pool drops a
// quarter of what is put back and whose instrumentation allocates, so
// that allocation figures measure the detector, not the code.
const raceDetector = true
